/**
 * The floor under any UDP tracker written on node:dgram: a server that does nothing but
 * answer each datagram with an announce answer of the usual size (20 bytes + 50 peers of
 * 6 bytes, as opentracker sends once the bench's swarms hold 50 peers), copying the
 * transaction id. No decode, no store, no facts: what is left is Node's per-datagram cost
 * (the 'message' event with its Buffer and rinfo, send's request and the two system calls).
 * The destination lookup is the tracker's literal one (udp-server.ts), the cheapest dgram
 * allows. The same port over TCP is the HTTP floor: node:net answering the first read of
 * each connection with a fixed answer of the usual size (headers and a 50-peer compact body)
 * and closing, as the tracker's fast path does (node-http.ts answerAndClose), with no parse
 * and no store: Node's own cost of a connection per request.
 * usage: udp-floor.ts PORT; prints "ready" once bound.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const port = Number(process.argv[2]);
const answerBytes = 20 + 50 * 6;
const socket = createSocket({
  type: 'udp4',
  // An address literal comes back at once, as in the tracker (no dns.lookup per send).
  lookup: (hostname, _options, callback) => callback(null, hostname, 4),
});
socket.on('message', (packet, rinfo) => {
  if (packet.length < 16) return;
  const out = Buffer.allocUnsafe(answerBytes);
  out.fill(0, 0, 20);
  // Connect (action 0) gets a connection id of zeros; anything else an announce answer.
  out[3] = packet.readUInt32BE(8) === 0 ? 0 : 1;
  packet.copy(out, 4, 12, 16);
  socket.send(out, 0, packet.readUInt32BE(8) === 0 ? 16 : answerBytes, rinfo.port, rinfo.address);
});
const body = Buffer.concat([
  Buffer.from(
    'd8:completei25e10:downloadedi0e10:incompletei25e8:intervali600e12:min intervali60e5:peers300:',
    'latin1',
  ),
  Buffer.alloc(300, 1),
  Buffer.from('e', 'latin1'),
]);
const httpAnswer = Buffer.concat([
  Buffer.from(
    `HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`,
    'latin1',
  ),
  body,
]);
const tcp = createServer((conn) => {
  conn.on('error', () => conn.destroy());
  conn.once('data', () => {
    conn.write(httpAnswer);
    if (conn.writableLength === 0) conn.destroy();
    else conn.end();
  });
});
socket.bind(port, '127.0.0.1', () => {
  socket.setRecvBufferSize(4 * 1024 * 1024);
  tcp.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
});
