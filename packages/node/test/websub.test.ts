import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { demoMediaDir } from '@swarmcast/catalog';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/index.ts';

interface Seen {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A local HTTP endpoint that records what reaches it; `answer` decides the reply. */
async function endpoint(answer: (s: Seen) => { status: number; body: string }) {
  const seen: Seen[] = [];
  const waiters: Array<{ test: (s: Seen) => boolean; resolve: (s: Seen) => void }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = {
        method: req.method ?? '',
        url: new URL(req.url ?? '/', 'http://x'),
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      seen.push(s);
      const a = answer(s);
      res.writeHead(a.status, { 'content-type': 'text/plain' }).end(a.body);
      for (const w of waiters.filter((x) => x.test(s))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(s);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return {
    url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`,
    seen,
    /** The next request that passes `test` (or one already seen). */
    next: (test: (s: Seen) => boolean) =>
      new Promise<Seen>((resolve) => {
        const already = seen.find(test);
        if (already) return resolve(already);
        waiters.push({ test, resolve });
      }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('instant notice: WebSub (the node is its own hub) and Podping', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let token: string;
  let subscriber: Awaited<ReturnType<typeof endpoint>>;
  let podping: Awaited<ReturnType<typeof endpoint>>;
  const url = (p: string) => new URL(p, node.url).toString();
  const api = (path: string, init: RequestInit = {}) =>
    fetch(url(path), {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
    });
  const json = (path: string, body: unknown, method = 'POST') =>
    api(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const hub = (fields: Record<string, string>) =>
    fetch(url('/websub'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });

  beforeAll(async () => {
    dir = await scratchDir();
    // The subscriber echoes the challenge of a subscribe (intent verified), refuses others.
    subscriber = await endpoint((s) =>
      s.method === 'GET'
        ? s.url.pathname === '/good'
          ? { status: 200, body: s.url.searchParams.get('hub.challenge') ?? '' }
          : { status: 404, body: 'not me' }
        : { status: 200, body: 'thanks' },
    );
    podping = await endpoint(() => ({ status: 200, body: 'Success!' }));
    process.env.SWARMCAST_PODPING_URL = `${podping.url}/`;
    process.env.SWARMCAST_PODPING_TOKEN = 'secret-token';
    try {
      node = await startNode({ port: 0, host: '127.0.0.1', dataDir: dir.path, demo: false });
    } finally {
      delete process.env.SWARMCAST_PODPING_URL;
      delete process.env.SWARMCAST_PODPING_TOKEN;
    }
    const origin = new URL(node.url).origin;
    const res = await fetch(url('/signup'), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: new URLSearchParams({
        email: 'ada@example.org',
        name: 'Ada',
        password: 'a long enough password',
        role: 'creator',
      }),
    });
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const t = await fetch(url('/api/tokens'), {
      method: 'POST',
      headers: { cookie, origin, 'content-type': 'application/json' },
      body: '{}',
    });
    token = ((await t.json()) as { token: string }).token;
    expect((await json('/api/shows', { slug: 'pushy', title: 'Pushy' })).status).toBe(201);
  });
  afterAll(async () => {
    await node?.close();
    await subscriber?.close();
    await podping?.close();
    await dir?.remove();
  });

  it('the feed declares the hub; bad subscriptions are 400', async () => {
    const xml = await (await fetch(url('/shows/pushy/feed.xml'))).text();
    expect(xml).toContain(`<atom:link href="${url('/websub')}" rel="hub"/>`);
    const topic = url('/shows/pushy/feed.xml');
    expect(
      (
        await hub({
          'hub.mode': 'subscribe',
          'hub.topic': 'https://elsewhere.example/feed.xml',
          'hub.callback': `${subscriber.url}/good`,
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await hub({
          'hub.mode': 'subscribe',
          'hub.topic': url('/shows/nope/feed.xml'),
          'hub.callback': `${subscriber.url}/good`,
        })
      ).status,
    ).toBe(400);
    expect(
      (await hub({ 'hub.mode': 'subscribe', 'hub.topic': topic, 'hub.callback': 'file:///etc/passwd' }))
        .status,
    ).toBe(400);
    expect(
      (await hub({ 'hub.mode': 'publish', 'hub.topic': topic, 'hub.callback': `${subscriber.url}/good` }))
        .status,
    ).toBe(400);
    expect(
      (
        await hub({
          'hub.mode': 'subscribe',
          'hub.topic': topic,
          'hub.callback': `${subscriber.url}/good`,
          'hub.secret': 'x'.repeat(201),
        })
      ).status,
    ).toBe(400);
  });

  it('verifies intent, then pushes the new feed (signed) on publish; Podping is told too', async () => {
    const topic = url('/shows/pushy/feed.xml');
    // A callback that does not echo the challenge never becomes a subscriber.
    expect(
      (await hub({ 'hub.mode': 'subscribe', 'hub.topic': topic, 'hub.callback': `${subscriber.url}/bad` }))
        .status,
    ).toBe(202);
    expect(
      (
        await hub({
          'hub.mode': 'subscribe',
          'hub.topic': topic,
          'hub.callback': `${subscriber.url}/good`,
          'hub.secret': 's3cret',
          'hub.lease_seconds': '3600',
        })
      ).status,
    ).toBe(202);
    const verify = await subscriber.next((s) => s.method === 'GET' && s.url.pathname === '/good');
    expect(verify.url.searchParams.get('hub.mode')).toBe('subscribe');
    expect(verify.url.searchParams.get('hub.topic')).toBe(topic);
    expect(verify.url.searchParams.get('hub.lease_seconds')).toBe('3600');
    await subscriber.next((s) => s.method === 'GET' && s.url.pathname === '/bad');
    // The hub stores the subscription once the challenge came back: wait for that row.
    for (;;) {
      const r = await node.db.query<{ callback: string }>(
        'select callback from catalog_websub_subscriptions',
      );
      if (r.rows.length > 0) {
        expect(r.rows.map((x) => x.callback)).toEqual([`${subscriber.url}/good`]);
        break;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    const up = await api('/api/uploads', {
      method: 'POST',
      body: await readFile(join(demoMediaDir, 'swarm.mp3')),
    });
    const { id: uploadId } = (await up.json()) as { id: string };
    const pub = await json('/api/shows/pushy/episodes', { uploadId, title: 'Pushed episode' });
    expect(pub.status).toBe(201);
    const push = await subscriber.next((s) => s.method === 'POST');
    expect(push.headers['content-type']).toBe('application/rss+xml; charset=utf-8');
    expect(push.body.toString()).toContain('<title>Pushed episode</title>');
    expect(push.headers['x-hub-signature']).toBe(
      `sha256=${createHmac('sha256', 's3cret').update(push.body).digest('hex')}`,
    );
    expect(push.headers.link).toContain('rel="hub"');
    // Exactly the feed apps fetch.
    expect(push.body.toString()).toBe(await (await fetch(topic)).text());
    expect(subscriber.seen.filter((s) => s.method === 'POST')).toHaveLength(1);
    const ping = await podping.next(() => true);
    expect(ping.url.searchParams.get('url')).toBe(topic);
    expect(ping.url.searchParams.get('reason')).toBe('update');
    expect(ping.headers.authorization).toBe('secret-token');
  });

  it('unsubscribe is verified too; no more pushes after it', async () => {
    const topic = url('/shows/pushy/feed.xml');
    expect(
      (await hub({ 'hub.mode': 'unsubscribe', 'hub.topic': topic, 'hub.callback': `${subscriber.url}/good` }))
        .status,
    ).toBe(202);
    await subscriber.next((s) => s.method === 'GET' && s.url.searchParams.get('hub.mode') === 'unsubscribe');
    for (;;) {
      const r = await node.db.query('select 1 from catalog_websub_subscriptions');
      if (r.rows.length === 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
  });
});
