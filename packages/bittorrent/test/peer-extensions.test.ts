import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeBencode } from '../src/bencode.ts';
import {
  MetadataAssembler,
  type PeerExtensionEvents,
  PeerExtensions,
  type PexMessage,
} from '../src/extensions/index.ts';
import { memoryTransportPair } from '../src/memory-transport.ts';
import { PeerConnection, type PeerEvents, peerEvents } from '../src/peer/index.ts';
import { VirtualTime } from '../src/sim/virtual-time.ts';

const sha1 = async (d: Uint8Array) => new Uint8Array(createHash('sha1').update(d).digest());
const info = encodeBencode({
  name: 'x',
  'piece length': 16384,
  length: 1,
  pieces: new Uint8Array(50_000).fill(3),
});

/** Two connections, each with PeerExtensions; A has the info dictionary, B only its hash. */
async function setup(pexA = true, pexB = true) {
  const vt = new VirtualTime();
  const infoHash = await sha1(info);
  const [ta, tb] = memoryTransportPair({ schedule: vt.defer });
  const mk = (t: typeof ta, id: number) =>
    new PeerConnection(t, {
      infoHash,
      peerId: new Uint8Array(20).fill(id),
      clock: vt,
      timers: vt,
      defer: vt.defer,
    });
  const a = mk(ta, 1);
  const b = mk(tb, 2);
  const log: string[] = [];
  const pex: PexMessage[] = [];
  const metaPieces: Array<[number, number, Uint8Array]> = [];
  const extEvents = (name: string): PeerExtensionEvents => ({
    handshake: (_c, h) =>
      log.push(
        `${name} ext ${Object.keys(h.m).sort().join(',')} size=${h.metadataSize ?? '-'} reqq=${h.reqq}`,
      ),
    metadata: (_c, piece, total, data) => metaPieces.push([piece, total, data]),
    metadataRejected: (_c, piece) => log.push(`${name} rejected ${piece}`),
    pex: (_c, msg) => pex.push(msg),
  });
  const xa = new PeerExtensions(
    a,
    { info: () => info, pex: pexA, now: () => vt.now(), reqq: 300, client: 'A' },
    extEvents('a'),
  );
  const xb = new PeerExtensions(
    b,
    { info: () => undefined, pex: pexB, now: () => vt.now(), reqq: 400 },
    extEvents('b'),
  );
  const eventsFor = (x: PeerExtensions): PeerEvents =>
    peerEvents({
      handshake: () => x.sendHandshake(),
      extended: (_c, id, payload) => x.onExtended(id, payload),
      closed: (_c, r) => log.push(`closed ${r?.code ?? ''}`),
    });
  a.start(eventsFor(xa));
  b.start(eventsFor(xb));
  vt.runFor(10);
  return { vt, a, b, xa, xb, log, pex, metaPieces, infoHash };
}

describe('PeerExtensions over two PeerConnections', () => {
  it('exchanges extension handshakes and applies reqq', async () => {
    const s = await setup();
    expect(s.log.sort()).toEqual([
      `a ext ut_metadata,ut_pex size=- reqq=400`,
      `b ext ut_metadata,ut_pex size=${info.length} reqq=300`,
    ]);
    expect(s.xb.remoteMetadataSize).toBe(info.length);
    expect(s.xb.remote?.v).toBe('A');
  });

  it('fetches the metadata piece by piece and verifies it against the info-hash (BEP 9)', async () => {
    const s = await setup();
    const asm = new MetadataAssembler(s.xb.remoteMetadataSize as number, s.infoHash, sha1);
    for (let p = asm.nextRequest(); p !== undefined; p = asm.nextRequest())
      expect(s.xb.requestMetadata(p)).toBe(true);
    s.vt.runFor(50);
    expect(s.metaPieces.length).toBe(asm.pieceCount);
    for (const [piece, total, data] of s.metaPieces) expect(asm.add(piece, total, data).ok).toBe(true);
    const v = await asm.verify();
    expect(v.ok && Buffer.from(v.value).equals(Buffer.from(info))).toBe(true);
    // A asks B, which has no metadata: rejected.
    s.xa.requestMetadata(0);
    expect(s.xa.requestMetadata(0)).toBe(false);
  });

  it('rejects metadata requests when we have none', async () => {
    const s = await setup();
    // B announced no metadata_size, so A will not ask; force a request through the wire.
    s.a.sendExtended(s.xa.remoteId('ut_metadata') as number, encodeBencode({ msg_type: 0, piece: 0 }));
    s.vt.runFor(20);
    expect(s.log).toContain('a rejected 0');
  });

  it('sends PEX at most once a minute and only when something changed (BEP 11)', async () => {
    const s = await setup();
    const peers = [
      { host: '10.0.0.5', port: 6881 },
      { host: '2001:db8::7', port: 51413, flags: 2 },
    ];
    expect(s.xa.sendPex(peers)).toBe(true);
    s.vt.runFor(20);
    expect(s.pex.map((m) => m.added.map((p) => `${p.host}:${p.port}`))).toEqual([
      ['10.0.0.5:6881', '2001:db8::7:51413'],
    ]);
    expect(s.xa.sendPex([])).toBe(false);
    s.vt.runFor(60_000);
    expect(s.xa.sendPex([])).toBe(true);
    s.vt.runFor(20);
    expect(s.pex[1]?.dropped.length).toBe(2);
  });

  it('never exchanges PEX on a private torrent (BEP 27)', async () => {
    const s = await setup(false, true);
    expect(s.xa.sendPex([{ host: '10.0.0.5', port: 1 }])).toBe(false);
    expect(s.xb.sendPex([{ host: '10.0.0.5', port: 1 }])).toBe(false);
  });

  it('drops a peer that asks for the metadata far more often than a fetch needs', async () => {
    const s = await setup();
    const id = s.xb.remoteId('ut_metadata') as number;
    // Four pieces: a few full fetches are served...
    for (let i = 0; i < 20; i++) s.b.sendExtended(id, encodeBencode({ msg_type: 0, piece: i % 4 }));
    s.vt.runFor(20);
    expect(s.metaPieces.length).toBe(20);
    expect(s.log.filter((l) => l.startsWith('closed'))).toEqual([]);
    // ...a flood is not.
    for (let i = 0; i < 20; i++) s.b.sendExtended(id, encodeBencode({ msg_type: 0, piece: 0 }));
    s.vt.runFor(20);
    expect(s.log).toContain('closed BT_METADATA_FLOOD');
    expect(s.metaPieces.length).toBeLessThanOrEqual(32);
  });

  it('drops a peer whose extension handshake is garbage', async () => {
    const s = await setup();
    s.b.sendExtended(0, Uint8Array.of(1, 2, 3));
    s.vt.runFor(20);
    expect(s.log).toContain('closed BT_EXT_BAD_HANDSHAKE');
  });

  it('drops a peer that floods PEX', async () => {
    const s = await setup();
    const id = s.xb.remoteId('ut_pex') as number;
    for (let i = 0; i < 12; i++) s.b.sendExtended(id, encodeBencode({ added: new Uint8Array(0) }));
    s.vt.runFor(20);
    expect(s.log).toContain('closed BT_PEX_FLOOD');
  });
});
