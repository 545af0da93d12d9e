/**
 * From inside a home namespace: one UDP socket asks each STUN server in turn for its mapped
 * address (`ip netns exec <home> node --import tsx stun-probe.ts '[["ip",port],...]'`).
 * Prints `{"mapped":[{"address","port"} | null, ...]}`: the same port for every server means
 * an endpoint-independent mapping (cone NAT), different ports a symmetric NAT.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { encodeBindingRequest, mappedAddressOf } from '@swarmcast/platform';

const servers = JSON.parse(process.argv[2] ?? '[]') as [string, number][];
const socket = createSocket('udp4');
await new Promise<void>((r) => socket.bind(0, '0.0.0.0', () => r()));
const mapped: ({ address: string; port: number } | null)[] = [];
for (const [host, port] of servers) {
  mapped.push(
    await new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.off('message', onMessage);
        resolve(null);
      }, 5_000);
      const onMessage = (m: Buffer) => {
        const got = mappedAddressOf(m);
        if (!got) return;
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve(got);
      };
      socket.on('message', onMessage);
      socket.send(encodeBindingRequest(new Uint8Array(randomBytes(12))), port, host);
    }),
  );
}
process.stdout.write(`${JSON.stringify({ mapped, local: socket.address().port })}\n`);
socket.close();
