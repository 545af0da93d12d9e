import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchBytes, fetchToFile } from '../src/import/fetch-file.ts';
import { blockedAddressReason, importNetworkPolicy } from '../src/import/safe-fetch.ts';

/**
 * The import's SSRF guard: feed, enclosure, artwork, chapters and transcript URLs may not
 * reach private, loopback, link-local, multicast, reserved or metadata addresses, checked
 * after DNS resolution and on every redirect. The "old host" here listens on 127.0.0.2,
 * which the operator allows (SWARMCAST_IMPORT_ALLOW_PRIVATE=127.0.0.2); everything else on
 * loopback stays refused, so its redirects are the hostile ones.
 */
describe('import SSRF guard', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.255.0.9', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['10.1.2.3', 'a private address'],
    ['172.16.0.1', 'a private address'],
    ['172.31.255.255', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['fd12:3456::1', 'a private address'],
    ['169.254.169.254', 'a cloud metadata address'],
    ['fd00:ec2::254', 'a cloud metadata address'],
    ['169.254.1.1', 'a link-local address'],
    ['fe80::1', 'a link-local address'],
    ['224.0.0.1', 'a multicast address'],
    ['239.255.255.250', 'a multicast address'],
    ['ff02::1', 'a multicast address'],
    ['0.0.0.0', 'a reserved address'],
    ['255.255.255.255', 'a reserved address'],
    ['100.64.0.1', 'a reserved address'],
    ['::ffff:127.0.0.1', 'a reserved address'],
    ['::ffff:a9fe:a9fe', 'a reserved address'],
    ['64:ff9b::7f00:1', 'a reserved address'],
    ['64:ff9b::a9fe:a9fe', 'a reserved address'],
    ['2002:7f00:1::1', 'a reserved address'],
  ])('refuses %s (%s)', (ip, why) => {
    expect(blockedAddressReason(ip)).toBe(why);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '2a00:1450::1'])(
    'allows the public address %s',
    (ip) => {
      expect(blockedAddressReason(ip)).toBeNull();
    },
  );

  it('reads the operator override: everything, nothing, or listed ranges', () => {
    expect(importNetworkPolicy('1').allowAll).toBe(true);
    expect(importNetworkPolicy(undefined)).toEqual({ allowAll: false, allowed: null });
    const lan = importNetworkPolicy('10.0.0.0/8, 192.168.1.20');
    expect(lan.allowAll).toBe(false);
    expect(lan.allowed?.isDatacenter('10.9.9.9')).toBe(true);
    expect(lan.allowed?.isDatacenter('192.168.1.21')).toBe(false);
    expect(() => importNetworkPolicy('not-an-address')).toThrow(/SWARMCAST_IMPORT_ALLOW_PRIVATE/);
  });

  describe('hostile redirects from an allowed host', () => {
    let server: Server;
    let base = '';
    let port = 0;
    let dir: Awaited<ReturnType<typeof scratchDir>>;
    const policy = importNetworkPolicy('127.0.0.2');
    const limits = { maxBytes: 1 << 20, idleTimeoutMs: 10_000, policy };
    /** Requests that reached the old host (a refused hop must never be asked for). */
    const seen: string[] = [];

    beforeAll(async () => {
      dir = await scratchDir();
      server = createServer((req, res) => {
        seen.push(req.url ?? '');
        const go = (to: string) => {
          res.writeHead(302, { location: to });
          res.end();
        };
        switch (req.url) {
          case '/feed.xml':
            res.writeHead(200, { 'content-type': 'application/rss+xml' });
            return res.end('<rss/>');
          case '/moved':
            return go('/feed.xml');
          case '/to-metadata':
            return go('http://169.254.169.254/latest/meta-data/iam/security-credentials/');
          case '/to-loopback':
            return go(`http://127.0.0.1:${port}/feed.xml`);
          case '/to-localhost':
            // a name: refused after DNS resolution (localhost is 127.0.0.1 here, not allowed)
            return go(`http://localhost:${port}/feed.xml`);
          case '/to-ipv6-loopback':
            return go(`http://[::1]:${port}/feed.xml`);
          case '/to-mapped':
            return go(`http://[::ffff:7f00:1]:${port}/feed.xml`);
          case '/to-file':
            return go('file:///etc/passwd');
          case '/loop':
            return go('/loop');
          case '/chain':
            return go('/moved');
          case '/episode.mp3':
            return go('http://10.0.0.7/episode.mp3');
          default:
            res.writeHead(404);
            return res.end();
        }
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.2', r));
      port = (server.address() as AddressInfo).port;
      base = `http://127.0.0.2:${port}`;
    });
    afterAll(async () => {
      await new Promise((r) => server?.close(r));
      await dir?.remove();
    });

    it('follows redirects between allowed addresses', async () => {
      const r = await fetchBytes(`${base}/chain`, limits);
      expect(r.ok && r.value.bytes.toString()).toBe('<rss/>');
    });

    it.each([
      ['/to-metadata', '169.254.169.254 is a cloud metadata address'],
      ['/to-loopback', '127.0.0.1 is a loopback address'],
      ['/to-localhost', 'localhost (127.0.0.1) is a loopback address'],
      ['/to-ipv6-loopback', '::1 is a loopback address'],
      ['/to-mapped', '::ffff:7f00:1 is a reserved address'],
      ['/to-file', 'file: links are not fetched'],
      ['/loop', 'more than 5 redirects'],
    ])('refuses %s', async (path, why) => {
      const before = seen.length;
      const r = await fetchBytes(`${base}${path}`, limits);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.message).toContain(why);
      // Only the allowed host was asked; the refused hop never got a request.
      expect(seen.slice(before).every((p) => p === path)).toBe(true);
    });

    it('refuses an enclosure redirected to a private address, leaving no file', async () => {
      const path = join(dir.path, 'episode.mp3');
      const r = await fetchToFile(`${base}/episode.mp3`, path, limits);
      expect(!r.ok && r.message).toContain('10.0.0.7 is a private address');
      await expect(readFile(path)).rejects.toThrow();
    });

    it('refuses the loopback host itself without the override, allows it with SWARMCAST_IMPORT_ALLOW_PRIVATE=1', async () => {
      const strict = await fetchBytes(`${base}/feed.xml`, { ...limits, policy: importNetworkPolicy('') });
      expect(!strict.ok && strict.message).toContain('127.0.0.2 is a loopback address');
      const open = await fetchBytes(`${base}/feed.xml`, { ...limits, policy: importNetworkPolicy('1') });
      expect(open.ok && open.value.bytes.toString()).toBe('<rss/>');
    });
  });
});
