import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { describe, expect, it } from 'vitest';
import { encodeLsdAnnounce, parseLsdAnnounce } from '../src/discovery/lsd-message.ts';
import { downloadTorrent, seedTorrent } from '../src/node/api.ts';
import { SwarmNode } from '../src/node/swarm-node.ts';
import { prng, randomBytes } from './prng.ts';
import { makeV1Torrent } from './torrent-files.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const H1 = 'aa'.repeat(20);
const H2 = '0123456789abcdef0123456789ABCDEF01234567';

describe('BEP 14 announces', () => {
  it('encodes the BEP 14 layout and reads it back', () => {
    const bytes = encodeLsdAnnounce({ port: 6881, infoHashes: [H1, H2], cookie: 'c00kie' });
    expect(new TextDecoder().decode(bytes)).toBe(
      `BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: ${H1}\r\nInfohash: ${H2.toLowerCase()}\r\ncookie: c00kie\r\n\r\n\r\n`,
    );
    expect(parseLsdAnnounce(bytes)).toEqual({
      port: 6881,
      infoHashes: [H1, H2.toLowerCase()],
      cookie: 'c00kie',
    });
  });

  it("reads other clients' spellings: header case, bare LF, extra headers, no cookie", () => {
    const text = `BT-SEARCH * HTTP/1.1\nHOST: 239.192.152.143:6771\nport: 51413\nX-Other: 1\ninfohash: ${H2}\n\n\n`;
    expect(parseLsdAnnounce(enc(text))).toEqual({ port: 51413, infoHashes: [H2.toLowerCase()] });
  });

  it('refuses what is not an announce: other methods, bad or missing port, no valid hash, oversize', () => {
    const ok = (port: string, hash: string) =>
      enc(`BT-SEARCH * HTTP/1.1\r\nHost: x\r\nPort: ${port}\r\nInfohash: ${hash}\r\n\r\n\r\n`);
    expect(parseLsdAnnounce(ok('6881', H1))).not.toBeNull();
    expect(parseLsdAnnounce(ok('0', H1))).toBeNull();
    expect(parseLsdAnnounce(ok('65536', H1))).toBeNull();
    expect(parseLsdAnnounce(ok('-1', H1))).toBeNull();
    expect(parseLsdAnnounce(ok('68 81', H1))).toBeNull();
    expect(parseLsdAnnounce(ok('6881', 'zz'.repeat(20)))).toBeNull();
    expect(parseLsdAnnounce(ok('6881', `${H1}00`))).toBeNull();
    expect(parseLsdAnnounce(enc(`M-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ${H1}\r\n\r\n`))).toBeNull();
    expect(parseLsdAnnounce(enc(`BT-SEARCH * HTTP/1.1\r\nInfohash: ${H1}\r\n\r\n`))).toBeNull();
    expect(
      parseLsdAnnounce(enc(`BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nPort: 2\r\nInfohash: ${H1}\r\n\r\n`)),
    ).toBeNull();
    expect(
      parseLsdAnnounce(enc(`BT-SEARCH * HTTP/1.1\r\nPort: 1\r\ngarbage\r\nInfohash: ${H1}\r\n`)),
    ).toBeNull();
    const big = `BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n${`Infohash: ${H1}\r\n`.repeat(40)}\r\n`;
    expect(parseLsdAnnounce(enc(big))).toBeNull();
    expect(parseLsdAnnounce(new Uint8Array(0))).toBeNull();
  });

  it('refuses to encode what a neighbour could not read', () => {
    expect(() => encodeLsdAnnounce({ port: 0, infoHashes: [H1] })).toThrow(RangeError);
    expect(() => encodeLsdAnnounce({ port: 1, infoHashes: [] })).toThrow(RangeError);
    expect(() => encodeLsdAnnounce({ port: 1, infoHashes: ['ab'] })).toThrow(RangeError);
    expect(() => encodeLsdAnnounce({ port: 1, infoHashes: [H1], cookie: 'a b\r\nPort: 2' })).toThrow(
      RangeError,
    );
  });

  it('fuzz: random and mutated datagrams never throw, and whatever parses is a well-formed announce', () => {
    const rnd = prng(20_14);
    const base = encodeLsdAnnounce({ port: 6881, infoHashes: [H1], cookie: 'abc' });
    let parsed = 0;
    for (let i = 0; i < 5_000; i++) {
      let bytes: Uint8Array;
      if (i % 2 === 0) {
        bytes = randomBytes(rnd, Math.floor(rnd() * 300));
      } else {
        bytes = base.slice();
        for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++)
          bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
      }
      const a = parseLsdAnnounce(bytes);
      if (!a) continue;
      parsed++;
      expect(a.port).toBeGreaterThan(0);
      expect(a.port).toBeLessThan(65536);
      expect(a.infoHashes.length).toBeGreaterThan(0);
      for (const h of a.infoHashes) expect(h).toMatch(/^[0-9a-f]{40}$/);
    }
    // Mutations that miss the structure (the cookie, the Host value) still parse.
    expect(parsed).toBeGreaterThan(0);
  });
});

describe('LSD between two nodes (multicast looped back on one host)', () => {
  it('a leecher with no tracker and no peer list finds the seeder through LSD and downloads', async () => {
    const dir = await scratchDir('swarmcast-lsd-');
    // A group port of our own, so that other LSD clients on this host do not matter.
    const lsd = {
      host: '127.0.0.1',
      groupPort: 20_000 + Math.floor(Math.random() * 20_000),
      intervalMs: 60_000,
    };
    const seedNode = new SwarmNode({ host: '127.0.0.1', lsd, trackers: false });
    const leechNode = new SwarmNode({ host: '127.0.0.1', lsd, trackers: false });
    try {
      const t = await makeV1Torrent(
        join(dir.path, 'src'),
        'lan',
        [{ path: ['a.bin'], length: 900_000 }],
        64 * 1024,
      );
      await seedNode.start();
      await leechNode.start();
      const seed = await seedTorrent({ torrent: t.torrent, dataPath: t.dataPath, node: seedNode });
      const leech = await downloadTorrent({
        torrent: t.torrent,
        dir: join(dir.path, 'out'),
        node: leechNode,
      });
      await new Promise<void>((r) => (leech.session.isDone ? r() : leech.session.on('done', () => r())));
      expect((await readFile(join(dir.path, 'out', 'lan', 'a.bin'))).equals(t.content)).toBe(true);
      expect(seed.stats().uploaded).toBeGreaterThanOrEqual(t.content.length);
      await leech.close();
      await seed.close();
    } finally {
      await leechNode.close();
      await seedNode.close();
      await dir.remove();
    }
  }, 60_000);
});
