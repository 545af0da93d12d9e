/** A tiny BEP 15 client for tests: send a datagram, wait for the reply (bounded). */
import { createSocket, type Socket } from 'node:dgram';

export class UdpTestClient {
  private constructor(
    private readonly socket: Socket,
    private readonly port: number,
  ) {}

  static async open(port: number): Promise<UdpTestClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    return new UdpTestClient(socket, port);
  }

  /** Sends and resolves to the reply, or null after `timeoutMs` of silence. */
  request(packet: Uint8Array, timeoutMs = 500): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.off('message', onMessage);
        resolve(null);
      }, timeoutMs);
      const onMessage = (msg: Buffer) => {
        clearTimeout(timer);
        this.socket.off('message', onMessage);
        resolve(msg);
      };
      this.socket.on('message', onMessage);
      this.socket.send(packet, this.port, '127.0.0.1');
    });
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}
