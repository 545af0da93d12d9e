import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { defaultGateway, type MappingProtocol, NAT_PMP_PORT, type PortMapping } from './nat-pmp.ts';

/**
 * PCP (RFC 6887), NAT-PMP's successor on the same port (5351): one MAP request carries our own
 * address, a nonce that owns the mapping (renewals and the removal must repeat it), the
 * protocol, our port and a suggested external port; the answer gives the external address
 * and port at once. A NAT-PMP-only router answers version 0 "unsupported version" and the
 * port mapper falls back to NAT-PMP. IPv4 here: addresses travel as IPv4-mapped IPv6.
 */

export const PCP_VERSION = 2;
const OPCODE_MAP = 1;
const HEADER = 24;
const MAP_BODY = 36;

/** Result codes of RFC 6887 section 7.4. */
const RESULTS: Record<number, string> = {
  1: 'unsupported version',
  2: 'not authorized',
  3: 'malformed request',
  4: 'unsupported opcode',
  5: 'unsupported option',
  6: 'malformed option',
  7: 'network failure',
  8: 'no resources',
  9: 'unsupported protocol',
  10: 'user exceeded quota',
  11: 'cannot provide external',
  12: 'address mismatch',
  13: 'excessive remote peers',
};

const IANA_PROTOCOL: Record<MappingProtocol, number> = { tcp: 6, udp: 17 };

/** An IPv4 address as the 16 bytes of ::ffff:a.b.c.d. */
function mapped(ipv4: string): Uint8Array {
  const b = new Uint8Array(16);
  b[10] = 0xff;
  b[11] = 0xff;
  ipv4.split('.').forEach((octet, i) => {
    b[12 + i] = Number(octet);
  });
  return b;
}

export interface PcpMapRequest {
  protocol: MappingProtocol;
  internalPort: number;
  suggestedExternalPort: number;
  lifetimeSeconds: number;
  /** Our address as the router sees it (the source address of the request). */
  clientAddress: string;
  /** 12 bytes; the same for a renewal or removal of one mapping. */
  nonce: Uint8Array;
}

export function encodePcpMapRequest(r: PcpMapRequest): Uint8Array {
  const b = new Uint8Array(HEADER + MAP_BODY);
  const v = new DataView(b.buffer);
  b[0] = PCP_VERSION;
  b[1] = OPCODE_MAP;
  v.setUint32(4, r.lifetimeSeconds);
  b.set(mapped(r.clientAddress), 8);
  b.set(r.nonce.subarray(0, 12), HEADER);
  b[HEADER + 12] = IANA_PROTOCOL[r.protocol];
  v.setUint16(HEADER + 16, r.internalPort);
  v.setUint16(HEADER + 18, r.suggestedExternalPort);
  // Suggested external address: ::ffff:0.0.0.0, "any IPv4 address".
  b.set(mapped('0.0.0.0'), HEADER + 20);
  return b;
}

export type PcpResponse =
  | {
      kind: 'map';
      result: number;
      lifetime: number;
      epoch: number;
      nonce: Uint8Array;
      protocol: number;
      internalPort: number;
      externalPort: number;
      externalAddress: string;
    }
  | { kind: 'error'; version: number; result: number };

/**
 * Reads a router's answer; null for anything that is not one. A PCP error may come without
 * the opcode body, and a NAT-PMP router answers any version-2 request in NAT-PMP's own
 * format (version 0, result 1 "unsupported version"): both are `error`.
 */
export function parsePcpResponse(b: Uint8Array): PcpResponse | null {
  if (b.length < 4) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[0] === 0) {
    // NAT-PMP: version 0, op >= 128, result at 2..3.
    if ((b[1] as number) < 128 || b.length < 8) return null;
    return { kind: 'error', version: 0, result: v.getUint16(2) };
  }
  if (b[0] !== PCP_VERSION || b.length < HEADER || ((b[1] as number) & 0x80) === 0) return null;
  const result = b[3] as number;
  if (((b[1] as number) & 0x7f) !== OPCODE_MAP) return null;
  if (b.length < HEADER + MAP_BODY)
    return result === 0 ? null : { kind: 'error', version: PCP_VERSION, result };
  if (result !== 0) return { kind: 'error', version: PCP_VERSION, result };
  const body = HEADER;
  const a = b.subarray(body + 20, body + 36);
  const isMapped = a.subarray(0, 10).every((x) => x === 0) && a[10] === 0xff && a[11] === 0xff;
  if (!isMapped) return null; // an IPv6 external address: not asked for
  return {
    kind: 'map',
    result,
    lifetime: v.getUint32(4),
    epoch: v.getUint32(8),
    nonce: b.slice(body, body + 12),
    protocol: b[body + 12] as number,
    internalPort: v.getUint16(body + 16),
    externalPort: v.getUint16(body + 18),
    externalAddress: `${a[12]}.${a[13]}.${a[14]}.${a[15]}`,
  };
}

export interface PcpOptions {
  gateway?: string;
  initialTimeoutMs?: number;
  attempts?: number;
}

/** A fresh 12-byte mapping nonce. */
export function pcpNonce(): Uint8Array {
  return new Uint8Array(randomBytes(12));
}

/**
 * Asks the router to forward `internalPort` (lifetime 0 removes the mapping; `nonce` must be
 * the one the mapping was made with). Throws with the router's reason on refusal, and with
 * "unsupported version" when the router speaks NAT-PMP only.
 */
export async function pcpMap(
  protocol: MappingProtocol,
  internalPort: number,
  lifetimeSeconds: number,
  nonce: Uint8Array,
  o: PcpOptions & { externalPort?: number } = {},
): Promise<PortMapping & { nonce: Uint8Array }> {
  const gateway = o.gateway ?? (await defaultGateway());
  if (!gateway || !isIPv4(gateway)) throw new Error('PCP: no IPv4 default gateway');
  const socket = createSocket('udp4');
  try {
    // Connected: the kernel picks the source address toward the router, which the request
    // must carry (a mismatch is refused as "address mismatch").
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(NAT_PMP_PORT, gateway, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const request = encodePcpMapRequest({
      protocol,
      internalPort,
      suggestedExternalPort: o.externalPort ?? internalPort,
      lifetimeSeconds,
      clientAddress: socket.address().address,
      nonce,
    });
    const answer = await new Promise<PcpResponse>((resolve, reject) => {
      let wait = o.initialTimeoutMs ?? 250;
      let left = o.attempts ?? 4;
      let timer: ReturnType<typeof setTimeout> | undefined;
      socket.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.on('message', (msg) => {
        const r = parsePcpResponse(msg);
        if (!r) return;
        if (r.kind === 'map' && (r.internalPort !== internalPort || !sameBytes(r.nonce, nonce))) return;
        clearTimeout(timer);
        resolve(r);
      });
      const send = () => {
        if (left-- <= 0) {
          reject(new Error(`PCP: no answer from ${gateway}:${NAT_PMP_PORT}`));
          return;
        }
        socket.send(request);
        timer = setTimeout(send, wait);
        wait *= 2;
      };
      send();
    });
    if (answer.kind === 'error')
      throw new Error(
        `PCP: ${answer.version === 0 ? 'unsupported version (NAT-PMP only)' : (RESULTS[answer.result] ?? `result ${answer.result}`)}`,
      );
    return {
      protocol,
      internalPort,
      externalPort: answer.externalPort,
      externalAddress: answer.externalAddress,
      lifetime: answer.lifetime,
      gateway,
      method: 'pcp',
      nonce,
    };
  } finally {
    socket.close();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
