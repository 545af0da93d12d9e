import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';

/**
 * NAT-PMP (RFC 6886) client: asks the home router (the default gateway, UDP port 5351) for its
 * public address and to forward a public port to ours, for a lifetime it renews. miniupnpd,
 * most consumer routers with "UPnP" switched on, and Apple's base stations answer it.
 */

export const NAT_PMP_PORT = 5351;

export type MappingProtocol = 'udp' | 'tcp';

/** Result codes of RFC 6886 section 3.5. */
const RESULTS: Record<number, string> = {
  1: 'unsupported version',
  2: 'not authorized / refused',
  3: 'network failure',
  4: 'out of resources',
  5: 'unsupported opcode',
};

export function encodeExternalAddressRequest(): Uint8Array {
  return new Uint8Array([0, 0]);
}

export function encodeMapRequest(
  protocol: MappingProtocol,
  internalPort: number,
  suggestedExternalPort: number,
  lifetimeSeconds: number,
): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  b[0] = 0;
  b[1] = protocol === 'udp' ? 1 : 2;
  v.setUint16(4, internalPort);
  v.setUint16(6, suggestedExternalPort);
  v.setUint32(8, lifetimeSeconds);
  return b;
}

export type NatPmpResponse =
  | { op: 'address'; result: number; epoch: number; address: string }
  | {
      op: MappingProtocol;
      result: number;
      epoch: number;
      internalPort: number;
      externalPort: number;
      lifetime: number;
    };

/** Reads a gateway response; null for anything that is not one (wrong length, version, op). */
export function parseNatPmpResponse(b: Uint8Array): NatPmpResponse | null {
  if (b.length < 8 || b[0] !== 0) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const op = b[1];
  const result = v.getUint16(2);
  const epoch = v.getUint32(4);
  if (op === 128) {
    if (b.length < 12) return null;
    return { op: 'address', result, epoch, address: `${b[8]}.${b[9]}.${b[10]}.${b[11]}` };
  }
  if (op === 129 || op === 130) {
    if (b.length < 16) return null;
    return {
      op: op === 129 ? 'udp' : 'tcp',
      result,
      epoch,
      internalPort: v.getUint16(8),
      externalPort: v.getUint16(10),
      lifetime: v.getUint32(12),
    };
  }
  return null;
}

/** The IPv4 default gateway from /proc/net/route (Linux); undefined when there is none. */
export async function defaultGateway(): Promise<string | undefined> {
  const text = await readFile('/proc/net/route', 'utf8').catch(() => '');
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || f[1] !== '00000000') continue;
    const g = Number.parseInt(f[2] as string, 16);
    if (!g) continue;
    // little-endian hex of the address
    return `${g & 255}.${(g >>> 8) & 255}.${(g >>> 16) & 255}.${(g >>> 24) & 255}`;
  }
  return undefined;
}

export interface NatPmpOptions {
  /** The router (default: the default gateway). */
  gateway?: string;
  /** First retransmission after this (RFC: 250 ms, doubling). */
  initialTimeoutMs?: number;
  /** Attempts before giving up (RFC allows 9, ~64 s; default 4, ~4 s). */
  attempts?: number;
}

/** One request/response exchange, retransmitted with doubling waits. */
async function exchange(
  request: Uint8Array,
  accept: (r: NatPmpResponse) => boolean,
  o: NatPmpOptions,
): Promise<NatPmpResponse> {
  const gateway = o.gateway ?? (await defaultGateway());
  if (!gateway || !isIPv4(gateway)) throw new Error('NAT-PMP: no IPv4 default gateway');
  const socket = createSocket('udp4');
  try {
    return await new Promise<NatPmpResponse>((resolve, reject) => {
      let wait = o.initialTimeoutMs ?? 250;
      let left = o.attempts ?? 4;
      let timer: ReturnType<typeof setTimeout> | undefined;
      socket.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.on('message', (msg, rinfo) => {
        if (rinfo.address !== gateway || rinfo.port !== NAT_PMP_PORT) return;
        const r = parseNatPmpResponse(msg);
        if (!r || !accept(r)) return;
        clearTimeout(timer);
        resolve(r);
      });
      const send = () => {
        if (left-- <= 0) {
          reject(new Error(`NAT-PMP: no answer from ${gateway}:${NAT_PMP_PORT}`));
          return;
        }
        socket.send(request, NAT_PMP_PORT, gateway);
        timer = setTimeout(send, wait);
        wait *= 2;
      };
      send();
    });
  } finally {
    socket.close();
  }
}

export interface PortMapping {
  readonly protocol: MappingProtocol;
  readonly internalPort: number;
  readonly externalPort: number;
  /** The router's public address. */
  readonly externalAddress: string;
  /** Seconds the router keeps it unless renewed. */
  readonly lifetime: number;
  readonly gateway: string;
  /** How it was made. */
  readonly method: 'pcp' | 'natpmp' | 'upnp';
}

/** The router's public address. */
export async function natPmpExternalAddress(o: NatPmpOptions = {}): Promise<string> {
  const r = await exchange(encodeExternalAddressRequest(), (x) => x.op === 'address', o);
  if (r.op !== 'address') throw new Error('NAT-PMP: unexpected answer');
  if (r.result !== 0) throw new Error(`NAT-PMP: ${RESULTS[r.result] ?? `result ${r.result}`}`);
  return r.address;
}

/**
 * Asks for `internalPort` to be forwarded (the same external port if free); lifetime 0
 * removes the mapping.
 */
export async function natPmpMap(
  protocol: MappingProtocol,
  internalPort: number,
  lifetimeSeconds: number,
  o: NatPmpOptions & { externalPort?: number } = {},
): Promise<PortMapping> {
  const gateway = o.gateway ?? (await defaultGateway());
  if (!gateway) throw new Error('NAT-PMP: no IPv4 default gateway');
  const opts = { ...o, gateway };
  const externalAddress = lifetimeSeconds > 0 ? await natPmpExternalAddress(opts) : '';
  const r = await exchange(
    encodeMapRequest(protocol, internalPort, o.externalPort ?? internalPort, lifetimeSeconds),
    (x) => x.op === protocol && x.internalPort === internalPort,
    opts,
  );
  if (r.op === 'address') throw new Error('NAT-PMP: unexpected answer');
  if (r.result !== 0) throw new Error(`NAT-PMP: ${RESULTS[r.result] ?? `result ${r.result}`}`);
  return {
    protocol,
    internalPort,
    externalPort: r.externalPort,
    externalAddress,
    lifetime: r.lifetime,
    gateway,
    method: 'natpmp',
  };
}
