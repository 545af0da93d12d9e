import { bytesEqual } from '../bytes.ts';
import type { TimerHandle } from '../timers.ts';
import {
  type CodedError,
  codedError,
  type RemoteInfo,
  type Transport,
  type TransportHandler,
} from '../transport.ts';
import { Rc4 } from './rc4.ts';

/**
 * Message Stream Encryption / Protocol Encryption (the Vuze/libtorrent "MSE/PE" that every
 * major client speaks): a 768-bit Diffie-Hellman exchange, then RC4 over the header (and the
 * whole stream when both sides pick RC4). It hides the BitTorrent handshake from throttling
 * ISPs; it is not authentication. The torrent's 20-byte wire hash is the shared key (SKEY).
 *
 *   1 A->B: Ya, PadA
 *   2 B->A: Yb, PadB
 *   3 A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   4 B->A: ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload)
 *
 * A sends no IA (the BitTorrent handshake follows as payload), which every client accepts.
 */

/** The 768-bit MODP prime of MSE (generator 2). */
export const MSE_PRIME =
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563';
export const MSE_KEY_BYTES = 96;
const VC = new Uint8Array(8);
const MAX_PAD = 512;
export const CRYPTO_PLAINTEXT = 0x01;
export const CRYPTO_RC4 = 0x02;

/** What the handshake needs from the platform (Node's crypto; a browser never speaks TCP). */
export interface MseCrypto {
  /** A fresh key pair: our 96-byte public value and how to get the secret from theirs. */
  keyPair(): { readonly publicKey: Uint8Array; secret(theirs: Uint8Array): Uint8Array };
  sha1(...parts: Uint8Array[]): Uint8Array;
  random(n: number): Uint8Array;
}

/** Which streams we accept: `require` = RC4 only; `prefer` = RC4 or plaintext, RC4 first. */
export type EncryptionMode = 'prefer' | 'require' | 'off';

export interface MseResult {
  readonly transport: Transport;
  /** The torrent's wire hash the peer asked for (responder side). */
  readonly skey: Uint8Array;
  readonly rc4: boolean;
}

const text = (s: string) => new TextEncoder().encode(s);
const REQ1 = text('req1');
const REQ2 = text('req2');
const REQ3 = text('req3');
const KEY_A = text('keyA');
const KEY_B = text('keyB');

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function u16(n: number): Uint8Array {
  return Uint8Array.of(n >> 8, n & 0xff);
}

function cipher(key: Uint8Array): Rc4 {
  const c = new Rc4(key);
  c.discard(1024);
  return c;
}

/**
 * Buffers a transport's bytes for the handshake and hands what is left to the encrypted (or
 * plain) transport afterwards. It stays the inner transport's handler for the connection's life.
 */
class HandshakeReader implements TransportHandler {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private waiter: (() => void) | undefined;
  closedWith: { reason: CodedError | undefined } | undefined;
  /** Set once the handshake is done: everything goes there. */
  forward: MseTransport | undefined;

  data(chunk: Uint8Array): void {
    if (this.forward) {
      this.forward.received(chunk);
      return;
    }
    // The inner transport may reuse its read buffer: keep a copy.
    this.chunks.push(chunk.slice());
    this.size += chunk.length;
    this.wake();
  }

  drain(): void {
    this.forward?.drained();
  }

  close(reason?: CodedError): void {
    this.closedWith = { reason };
    if (this.forward) this.forward.closedBy(reason);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  get buffered(): number {
    return this.size;
  }

  /** Resolves once at least `n` bytes are buffered (or rejects when the transport closed). */
  async need(n: number): Promise<void> {
    while (this.size < n) {
      if (this.closedWith)
        throw this.closedWith.reason ?? codedError('BT_MSE_CLOSED', 'peer closed during the MSE handshake');
      await new Promise<void>((r) => {
        this.waiter = r;
      });
    }
  }

  /** Looks at the first `n` buffered bytes without taking them. */
  peek(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of this.chunks) {
      if (at >= n) break;
      const part = c.subarray(0, n - at);
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  take(n: number): Uint8Array {
    const out = this.peek(n);
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        this.chunks.shift();
        left -= c.length;
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.size -= n;
    return out;
  }

  /**
   * Skips bytes until `pattern`, at most `maxSkip` of them, and consumes the pattern. Throws
   * when it is not there in time (a peer that does not speak MSE, or a wrong key).
   */
  async sync(pattern: Uint8Array, maxSkip: number): Promise<void> {
    for (let skip = 0; skip <= maxSkip; skip++) {
      await this.need(skip + pattern.length);
      if (bytesEqual(this.peek(skip + pattern.length).subarray(skip), pattern)) {
        this.take(skip + pattern.length);
        return;
      }
    }
    throw codedError('BT_MSE_NO_SYNC', 'no MSE synchronisation pattern where the protocol puts it');
  }

  /** What was read past the handshake, for the payload stream. */
  rest(): Uint8Array[] {
    const out = this.chunks;
    this.chunks = [];
    this.size = 0;
    return out;
  }
}

/**
 * The payload stream after the handshake: RC4 both ways, or plaintext (`rc4` false). Received
 * chunks are decrypted in place (they are ours); written ones are encrypted into a copy.
 */
class MseTransport implements Transport {
  private handler: TransportHandler | undefined;
  private backlog: Uint8Array[];
  private paused = false;
  private closeReason: { reason: CodedError | undefined } | undefined;

  constructor(
    private readonly inner: Transport,
    private readonly reader: HandshakeReader,
    private readonly decrypt: Rc4 | undefined,
    private readonly encrypt: Rc4 | undefined,
    initial?: Uint8Array,
  ) {
    this.backlog = reader.rest().map((c) => decrypt?.apply(c) ?? c);
    if (initial && initial.length > 0) this.backlog.unshift(initial);
    reader.forward = this;
    if (reader.closedWith) this.closeReason = reader.closedWith;
  }

  get remote(): RemoteInfo {
    return this.inner.remote;
  }
  get closed(): boolean {
    return this.inner.closed;
  }
  get transientChunks(): boolean | undefined {
    return this.inner.transientChunks;
  }
  get bufferedAmount(): number {
    return this.inner.bufferedAmount;
  }

  start(handler: TransportHandler): void {
    this.handler = handler;
    this.flush();
  }

  private flush(): void {
    const h = this.handler;
    if (!h) return;
    while (this.backlog.length > 0 && !this.paused) h.data(this.backlog.shift()!);
    if (this.backlog.length === 0 && this.closeReason) {
      const r = this.closeReason.reason;
      this.closeReason = undefined;
      h.close(r);
    }
  }

  received(chunk: Uint8Array): void {
    this.decrypt?.apply(chunk);
    if (this.handler && !this.paused && this.backlog.length === 0) this.handler.data(chunk);
    else this.backlog.push(this.inner.transientChunks ? chunk.slice() : chunk);
  }

  drained(): void {
    this.handler?.drain();
  }

  closedBy(reason: CodedError | undefined): void {
    this.closeReason = { reason };
    this.flush();
  }

  write(chunk: Uint8Array, onWritten?: () => void): boolean {
    if (!this.encrypt) return this.inner.write(chunk, onWritten);
    // Never in place: a written chunk may be a view of a buffer the writer keeps using (the
    // uploader's piece cache sends the same block to every peer). Once copied out, it is free.
    const ok = this.inner.write(this.encrypt.apply(chunk, new Uint8Array(chunk.length)));
    onWritten?.();
    return ok;
  }

  pause(): void {
    this.paused = true;
    this.inner.pause();
  }

  resume(): void {
    this.paused = false;
    this.inner.resume();
    this.flush();
  }

  close(reason?: CodedError): void {
    this.inner.close(reason);
  }
}

export interface MseOptions {
  readonly crypto: MseCrypto;
  /** Gives up after this long (default 10 s). */
  readonly timeoutMs?: number;
  readonly setTimeout: (fn: () => void, ms: number) => TimerHandle;
}

async function withTimeout<T>(
  transport: Transport,
  options: MseOptions,
  run: (reader: HandshakeReader) => Promise<T>,
  reader: HandshakeReader,
): Promise<T> {
  const timer = options.setTimeout(
    () => transport.close(codedError('BT_MSE_TIMEOUT', 'MSE handshake took too long')),
    options.timeoutMs ?? 10_000,
  );
  try {
    return await run(reader);
  } finally {
    timer.cancel();
  }
}

const pad = (crypto: MseCrypto) =>
  crypto.random(Math.floor(crypto.random(2).reduce((a, b) => a * 256 + b, 0) % (MAX_PAD + 1)));

/**
 * The initiator's side (we dialed). Resolves with the payload transport, or rejects with a
 * CodedError (the peer closed, did not answer MSE, or selected a method we did not offer).
 */
export function initiateMse(
  transport: Transport,
  skey: Uint8Array,
  mode: Exclude<EncryptionMode, 'off'>,
  options: MseOptions,
): Promise<MseResult> {
  const { crypto } = options;
  const reader = new HandshakeReader();
  transport.start(reader);
  return withTimeout(
    transport,
    options,
    async () => {
      const me = crypto.keyPair();
      transport.write(concat(me.publicKey, pad(crypto)));
      await reader.need(MSE_KEY_BYTES);
      const s = me.secret(reader.take(MSE_KEY_BYTES));
      const out = cipher(crypto.sha1(KEY_A, s, skey));
      const inn = cipher(crypto.sha1(KEY_B, s, skey));
      const provide = mode === 'require' ? CRYPTO_RC4 : CRYPTO_RC4 | CRYPTO_PLAINTEXT;
      const padC = pad(crypto);
      const header = concat(VC, Uint8Array.of(0, 0, 0, provide), u16(padC.length), padC, u16(0));
      transport.write(
        concat(crypto.sha1(REQ1, s), xor(crypto.sha1(REQ2, skey), crypto.sha1(REQ3, s)), out.apply(header)),
      );
      // Their VC, encrypted with their key, marks where step 4 starts after PadB.
      await reader.sync(inn.peek(8), MAX_PAD);
      inn.discard(8);
      await reader.need(6);
      const head = inn.apply(reader.take(6));
      const select = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
      const padD = (head[4]! << 8) | head[5]!;
      if (padD > MAX_PAD) throw codedError('BT_MSE_BAD_HEADER', `PadD of ${padD} bytes`);
      if ((select & provide) === 0 || (select !== CRYPTO_RC4 && select !== CRYPTO_PLAINTEXT))
        throw codedError('BT_MSE_NO_METHOD', `peer selected crypto ${select}, we offered ${provide}`);
      await reader.need(padD);
      inn.apply(reader.take(padD));
      const rc4 = select === CRYPTO_RC4;
      return {
        transport: new MseTransport(transport, reader, rc4 ? inn : undefined, rc4 ? out : undefined),
        skey,
        rc4,
      };
    },
    reader,
  );
}

/**
 * The responder's side (the peer dialed us and its first bytes are not a BitTorrent
 * handshake). `prefix` holds the bytes already read; `skeys` lists the wire hashes we serve.
 */
export function acceptMse(
  transport: Transport,
  prefix: Uint8Array,
  skeys: () => readonly Uint8Array[],
  mode: Exclude<EncryptionMode, 'off'>,
  options: MseOptions,
  started = false,
): Promise<MseResult> {
  const { crypto } = options;
  const reader = new HandshakeReader();
  if (prefix.length > 0) reader.data(prefix);
  if (!started) transport.start(reader);
  return withTimeout(
    transport,
    options,
    async () => {
      await reader.need(MSE_KEY_BYTES);
      const me = crypto.keyPair();
      const s = me.secret(reader.take(MSE_KEY_BYTES));
      transport.write(concat(me.publicKey, pad(crypto)));
      await reader.sync(crypto.sha1(REQ1, s), MAX_PAD);
      await reader.need(20);
      const asked = xor(reader.take(20), crypto.sha1(REQ3, s));
      const skey = skeys().find((k) => bytesEqual(crypto.sha1(REQ2, k), asked));
      if (!skey) throw codedError('BT_PEER_WRONG_TORRENT', 'MSE handshake for a torrent we do not have');
      const inn = cipher(crypto.sha1(KEY_A, s, skey));
      const out = cipher(crypto.sha1(KEY_B, s, skey));
      await reader.need(14);
      const head = inn.apply(reader.take(14));
      if (!bytesEqual(head.subarray(0, 8), VC))
        throw codedError('BT_MSE_BAD_HEADER', 'wrong verification constant');
      const provide = ((head[8]! << 24) | (head[9]! << 16) | (head[10]! << 8) | head[11]!) >>> 0;
      const padC = (head[12]! << 8) | head[13]!;
      if (padC > MAX_PAD) throw codedError('BT_MSE_BAD_HEADER', `PadC of ${padC} bytes`);
      await reader.need(padC + 2);
      const tail = inn.apply(reader.take(padC + 2));
      const ia = (tail[padC]! << 8) | tail[padC + 1]!;
      // As libtorrent by default: in `prefer` mode a peer offering both gets plaintext after the
      // obfuscated header (RC4 over every byte costs CPU for little); `require` means RC4.
      const select =
        mode === 'prefer' && provide & CRYPTO_PLAINTEXT
          ? CRYPTO_PLAINTEXT
          : provide & CRYPTO_RC4
            ? CRYPTO_RC4
            : 0;
      if (select === 0) throw codedError('BT_MSE_NO_METHOD', `peer offered crypto ${provide} only`);
      const padD = crypto.random(0);
      transport.write(out.apply(concat(VC, Uint8Array.of(0, 0, 0, select), u16(padD.length), padD)));
      // The initial payload (IA) is RC4 whatever was selected; hand it on decrypted.
      await reader.need(ia);
      const initial = inn.apply(reader.take(ia));
      const rc4 = select === CRYPTO_RC4;
      const t = new MseTransport(transport, reader, rc4 ? inn : undefined, rc4 ? out : undefined, initial);
      return { transport: t, skey, rc4 };
    },
    reader,
  );
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
