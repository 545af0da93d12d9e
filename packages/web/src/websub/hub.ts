import { createHmac, randomBytes } from 'node:crypto';
import { type CatalogContext, getShow, websubSubscriptions } from '@swarmcast/catalog';
import type { FastifyInstance } from 'fastify';
import { type FormBody, one } from '../dashboard/form.ts';
import type { SiteUrls } from '../urls.ts';

/**
 * The node as the WebSub hub of its own feeds (W3C WebSub, 2018): the feed declares
 * `atom:link rel="hub"`; a subscriber POSTs hub.mode/topic/callback to /websub; the hub
 * answers 202, then verifies the intent by GETting the callback with a random challenge
 * that must come back verbatim; only then is the subscription stored. When a feed changes
 * the hub POSTs the whole new feed to every live subscriber, signed with its secret
 * (X-Hub-Signature: sha256=HMAC). Callbacks are fetched with timeouts, never retried in a
 * loop: a subscriber that misses a push still has the feed to poll.
 */
export interface WebSubHub {
  /** Pushes the show's current feed to its subscribers; resolves when every POST ended. */
  publish(slug: string): Promise<{ delivered: number; failed: number }>;
}

const maxLeaseSeconds = 10 * 24 * 3600;
const timeoutMs = 10_000;

export function webSubHub(app: FastifyInstance, ctx: CatalogContext, urls: SiteUrls): WebSubHub {
  const topicSlug = (topic: string): string | null => {
    const prefix = `${urls.base()}/shows/`;
    if (!topic.startsWith(prefix) || !topic.endsWith('/feed.xml')) return null;
    const slug = decodeURIComponent(topic.slice(prefix.length, -'/feed.xml'.length));
    return /^[a-z0-9-]{1,64}$/.test(slug) ? slug : null;
  };

  const verify = async (
    mode: string,
    topic: string,
    callback: string,
    lease: number,
    secret: string | null,
  ) => {
    const challenge = randomBytes(16).toString('hex');
    const u = new URL(callback);
    u.searchParams.set('hub.mode', mode);
    u.searchParams.set('hub.topic', topic);
    u.searchParams.set('hub.challenge', challenge);
    if (mode === 'subscribe') u.searchParams.set('hub.lease_seconds', String(lease));
    try {
      const res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
      const body = (await res.text()).slice(0, 1000);
      if (!res.ok || body.trim() !== challenge) return;
    } catch {
      return;
    }
    if (mode === 'subscribe') {
      await websubSubscriptions.subscribe(
        ctx.db,
        topic,
        callback,
        secret,
        new Date(ctx.clock.now() + lease * 1000),
      );
    } else {
      await websubSubscriptions.unsubscribe(ctx.db, topic, callback);
    }
  };

  app.post<{ Body: FormBody }>('/websub', async (req, reply) => {
    const f = req.body && typeof req.body === 'object' ? (req.body as FormBody) : {};
    const mode = one(f, 'hub.mode');
    const topic = one(f, 'hub.topic');
    const callback = one(f, 'hub.callback');
    const secret = one(f, 'hub.secret') || null;
    const bad = (message: string) => reply.code(400).type('text/plain').send(message);
    if (mode !== 'subscribe' && mode !== 'unsubscribe') return bad('hub.mode: subscribe or unsubscribe');
    const slug = topicSlug(topic);
    if (!slug || !(await getShow(ctx.db, slug))) return bad('hub.topic: the feed URL of a show on this node');
    let cb: URL;
    try {
      cb = new URL(callback);
    } catch {
      return bad('hub.callback: an http or https URL');
    }
    if ((cb.protocol !== 'http:' && cb.protocol !== 'https:') || callback.length > 2048)
      return bad('hub.callback: an http or https URL');
    // The spec caps the secret at 200 bytes.
    if (secret && Buffer.byteLength(secret) > 200) return bad('hub.secret: at most 200 bytes');
    const asked = Number(one(f, 'hub.lease_seconds') || 86_400 * 7);
    const lease = Number.isFinite(asked)
      ? Math.min(maxLeaseSeconds, Math.max(60, Math.floor(asked)))
      : 86_400 * 7;
    // Verification happens after the answer (the spec's 202 Accepted).
    void verify(mode, topic, callback, lease, secret).catch((err: unknown) =>
      app.log.warn({ err }, 'websub verify failed'),
    );
    return reply.code(202).type('text/plain').send('accepted; verifying intent');
  });

  return {
    async publish(slug) {
      const topic = urls.feed(slug);
      const subs = { rows: await websubSubscriptions.active(ctx.db, topic, new Date(ctx.clock.now())) };
      if (subs.rows.length === 0) return { delivered: 0, failed: 0 };
      // The feed exactly as apps get it (DAI enclosures, settings, a 301 when moved).
      const feed = await app.inject({ method: 'GET', url: `/shows/${encodeURIComponent(slug)}/feed.xml` });
      if (feed.statusCode !== 200) return { delivered: 0, failed: 0 };
      const body = feed.rawPayload;
      let delivered = 0;
      let failed = 0;
      await Promise.all(
        subs.rows.map(async (s) => {
          const headers: Record<string, string> = {
            'content-type': 'application/rss+xml; charset=utf-8',
            link: `<${urls.base()}/websub>; rel="hub", <${topic}>; rel="self"`,
          };
          if (s.secret)
            headers['x-hub-signature'] =
              `sha256=${createHmac('sha256', s.secret).update(body).digest('hex')}`;
          try {
            const res = await fetch(s.callback, {
              method: 'POST',
              headers,
              body: new Uint8Array(body),
              signal: AbortSignal.timeout(timeoutMs),
              redirect: 'error',
            });
            await res.arrayBuffer();
            if (res.ok) delivered++;
            else failed++;
            // 410 Gone: the subscriber has left (WebSub 7).
            if (res.status === 410) await websubSubscriptions.unsubscribe(ctx.db, topic, s.callback);
          } catch {
            failed++;
          }
        }),
      );
      return { delivered, failed };
    },
  };
}
