import { describe, expect, it } from 'vitest';
import { toHex } from '../src/bytes.ts';
import { createTorrentFromMemory } from '../src/create/create.ts';
import {
  decodeHashes,
  decodeHashRequest,
  encodeHashes,
  encodeHashRequest,
  HashServer,
  joinLayer,
  layerRequests,
  type MissingLayer,
  missingLayers,
  PieceLayerTree,
  pieceLayerOf,
  verifyHashes,
} from '../src/extensions/bep-0052-hashes.ts';
import { MetadataFetcher, magnetLayerNeeds, PeerExtensions } from '../src/extensions/index.ts';
import { memoryTransportPair } from '../src/memory-transport.ts';
import { rootFromPieceLayer, splitHashes } from '../src/merkle.ts';
import { parseTorrent } from '../src/metainfo/parse.ts';
import { nodeHasher } from '../src/node/hasher.ts';
import { PeerConnection, peerEvents } from '../src/peer/index.ts';
import { VirtualTime } from '../src/sim/virtual-time.ts';
import type { Dialer, PeerAddress } from '../src/transport.ts';
import { truncatedV2 } from '../src/types.ts';
import { prng, randomBytes } from './prng.ts';

const hasher = nodeHasher;
const rand = prng(52);
const PIECE = 32 * 1024;

/** A random piece layer of `count` pieces and the file it belongs to. */
async function fileOf(
  count: number,
): Promise<{ file: MissingLayer; layer: Uint8Array; tree: PieceLayerTree }> {
  const layer = randomBytes(rand, 32 * count);
  const tree = await PieceLayerTree.build(layer, PIECE, hasher);
  return { file: { root: tree.root, pieceCount: count }, layer, tree };
}

describe('BEP 52 hash messages: codec', () => {
  it('round-trips a request and a hashes answer', () => {
    const r = { root: randomBytes(rand, 32), baseLayer: 1, index: 512, length: 512, proofLayers: 9 };
    const body = encodeHashRequest(r);
    expect(body.length).toBe(48);
    const back = decodeHashRequest(body);
    expect(back.ok && { ...back.value, root: toHex(back.value.root) }).toEqual({ ...r, root: toHex(r.root) });
    const hashes = [randomBytes(rand, 32), randomBytes(rand, 32)];
    const answer = decodeHashes(encodeHashes(r, hashes));
    expect(answer.ok && answer.value.hashes.map(toHex)).toEqual(hashes.map(toHex));
  });

  it('refuses hostile bodies with a coded error, never a throw', () => {
    for (const n of [0, 1, 47, 49, 96]) {
      const r = decodeHashRequest(new Uint8Array(n));
      expect(r.ok ? 'ok' : r.error.code).toBe('BT_WIRE_BAD_HASH_MESSAGE');
    }
    for (const n of [0, 47, 49, 48 + 31, 48 + 33]) {
      const r = decodeHashes(new Uint8Array(n));
      expect(r.ok ? 'ok' : r.error.code).toBe('BT_WIRE_BAD_HASH_MESSAGE');
    }
  });

  it('fuzz: random bodies decode to a value or a coded error (seed 52)', async () => {
    const { tree } = await fileOf(37);
    for (let i = 0; i < 2000; i++) {
      const body = randomBytes(rand, Math.floor(rand() * 120));
      const r = decodeHashRequest(body);
      const h = decodeHashes(body);
      expect(r.ok || r.error.code === 'BT_WIRE_BAD_HASH_MESSAGE').toBe(true);
      expect(h.ok || h.error.code === 'BT_WIRE_BAD_HASH_MESSAGE').toBe(true);
      // A random well-formed request is answered or refused, within bounds.
      if (r.ok) {
        const a = tree.answer(r.value, pieceLayerOf(PIECE));
        expect(a === undefined || a.length <= 512 + 32).toBe(true);
      }
    }
  });
});

describe('BEP 52 piece layers: answers and proofs', () => {
  for (const count of [2, 3, 5, 8, 513, 1500]) {
    it(`${count} pieces: the tree's root is the file's pieces root; every answer proves up to it`, async () => {
      const { file, layer, tree } = await fileOf(count);
      expect(toHex(tree.root)).toBe(toHex(await rootFromPieceLayer(splitHashes(layer), PIECE, hasher)));
      const runs = new Map<number, readonly Uint8Array[]>();
      for (const req of layerRequests(file, PIECE)) {
        const hashes = tree.answer(req, pieceLayerOf(PIECE));
        expect(hashes).toBeDefined();
        const v = await verifyHashes(file, req, hashes!, hasher);
        if (!v.ok) throw new Error(v.error.message);
        runs.set(req.index, v.value);
      }
      expect(toHex(joinLayer(file, runs))).toBe(toHex(layer));
    });
  }

  it('a tampered hash, a tampered uncle or a missing uncle is refused', async () => {
    const { file, tree } = await fileOf(1500);
    const [req] = layerRequests(file, PIECE).slice(1);
    const good = tree.answer(req!, pieceLayerOf(PIECE))!;
    expect(good.length).toBeGreaterThan(512);
    const flip = (list: Uint8Array[], i: number) =>
      list.map((h, j) => (j === i ? Uint8Array.from(h, (b, k) => (k === 0 ? b ^ 1 : b)) : h));
    for (const bad of [flip(good, 3), flip(good, good.length - 1), good.slice(0, -1)]) {
      const v = await verifyHashes(file, req!, bad, hasher);
      expect(v.ok ? 'ok' : v.error.code).toBe('BT_PEER_BAD_HASHES');
    }
  });

  it('refuses requests it cannot answer: other layers, misaligned or oversized runs, too many proof layers', async () => {
    const { tree, file } = await fileOf(100);
    const base = { root: file.root, baseLayer: pieceLayerOf(PIECE), index: 0, length: 4, proofLayers: 2 };
    const layer = pieceLayerOf(PIECE);
    expect(tree.answer(base, layer)).toHaveLength(4 + 1);
    expect(tree.answer({ ...base, baseLayer: 0 }, layer)).toBeUndefined();
    expect(tree.answer({ ...base, index: 2 }, layer)).toBeUndefined();
    expect(tree.answer({ ...base, length: 1024 }, layer)).toBeUndefined();
    expect(tree.answer({ ...base, index: 128 }, layer)).toBeUndefined();
    expect(tree.answer({ ...base, proofLayers: 99 }, layer)).toBeUndefined();
  });
});

describe('BEP 52 in a simulated swarm: a v2-only magnet gets its piece layers from peers', () => {
  type Behaviour = 'honest' | 'bad-proofs' | 'rejects';

  async function v2Torrent() {
    const data = randomBytes(rand, 9 * PIECE + 1234);
    const small = randomBytes(rand, 700);
    const built = await createTorrentFromMemory(
      'show',
      [
        { path: ['show', 'ep.mp3'], data },
        { path: ['show', 'notes.txt'], data: small },
      ],
      { version: 'v2', pieceLength: PIECE },
      hasher,
    );
    if (!built.ok) throw new Error(built.error.message);
    const meta = await parseTorrent(built.value.torrent, hasher);
    if (!meta.ok) throw new Error(meta.error.message);
    return meta.value;
  }

  async function fetchLayers(peers: Record<string, Behaviour>) {
    const meta = await v2Torrent();
    const vt = new VirtualTime();
    const infoHash = truncatedV2(meta.infoHash.v2!);
    const server = new HashServer(meta, hasher);
    const closedWith = new Map<string, string>();
    const dialer: Dialer = {
      async dial(address: PeerAddress) {
        const behaviour = peers[address.host];
        if (!behaviour) return { ok: false, error: { code: 'BT_TEST_DIAL', message: 'nobody' } };
        const [ours, theirs] = memoryTransportPair({ schedule: vt.defer });
        const conn = new PeerConnection(theirs, {
          infoHash,
          peerId: new Uint8Array(20).fill(address.host.length),
          clock: vt,
          timers: vt,
          defer: vt.defer,
        });
        const ext = new PeerExtensions(
          conn,
          { info: () => meta.infoBytes, pex: false, now: () => vt.now() },
          { handshake: () => {}, metadata: () => {}, metadataRejected: () => {}, pex: () => {} },
        );
        conn.start(
          peerEvents({
            handshake: () => ext.sendHandshake(),
            extended: (_c, id, payload) => ext.onExtended(id, payload),
            hashMessage: (c, type, payload) => {
              if (type !== 'hash-request') return;
              if (behaviour === 'rejects') return c.sendHashMessage('hash-reject', payload);
              void server.answer(payload).then((a) => {
                if (!a) return;
                if (behaviour === 'bad-proofs' && a.type === 'hashes') {
                  const forged = a.payload.slice();
                  forged[forged.length - 1]! ^= 0xff; // the last uncle
                  c.sendHashMessage('hashes', forged);
                } else c.sendHashMessage(a.type, a.payload);
              });
            },
            closed: (_c, reason) => closedWith.set(address.host, reason?.code ?? 'remote'),
          }),
        );
        return { ok: true, transport: ours };
      },
    };
    const f = new MetadataFetcher({
      infoHash,
      expectedHash: meta.infoHash.v2!,
      hash: hasher.sha256,
      peerId: new Uint8Array(20).fill(9),
      dialer,
      clock: vt,
      timers: vt,
      defer: vt.defer,
      maxConnections: 1,
      layers: magnetLayerNeeds(
        { infoHash: { v2: meta.infoHash.v2! }, trackers: [], webSeeds: [], peers: [] },
        hasher,
      )!,
    });
    let result: Awaited<typeof f.result> | undefined;
    void f.result.then((r) => {
      result = r;
    });
    f.start();
    f.addPeers(Object.keys(peers).map((host) => ({ host, port: 6881 })));
    await vt.runUntilAsync(() => result !== undefined, 120_000);
    return { meta, result, layers: f.pieceLayers, closedWith };
  }

  it('an honest peer sends the layer, proven against the root from the info dict', async () => {
    const { meta, result, layers } = await fetchLayers({ '10.0.0.1': 'honest' });
    expect(result?.ok).toBe(true);
    expect(missingLayers({ ...meta, pieceLayers: new Map() })).toHaveLength(1);
    expect([...layers.entries()].map(([k, v]) => [k, toHex(v)])).toEqual(
      [...meta.pieceLayers.entries()].map(([k, v]) => [k, toHex(v)]),
    );
  });

  it('a peer with bad proofs and one that rejects are dropped; the layer comes from an honest one', async () => {
    const { meta, result, layers, closedWith } = await fetchLayers({
      '10.0.0.1': 'bad-proofs',
      '10.0.0.22': 'rejects',
      '10.0.0.3': 'honest',
    });
    expect(result?.ok).toBe(true);
    const [root] = [...meta.pieceLayers.keys()];
    expect(toHex(layers.get(root!)!)).toBe(toHex(meta.pieceLayers.get(root!)!));
    expect(closedWith.get('10.0.0.1')).toBeDefined();
    expect(closedWith.get('10.0.0.22')).toBeDefined();
  });
});
