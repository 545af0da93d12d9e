import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex } from '@swarmcast/bittorrent';
import { type DhtNode, ed25519Signer } from '@swarmcast/bittorrent/node';
import { type CatalogContext, getShow, keyedShowSlugs, nextSeq, showKey } from '@swarmcast/catalog';
import type { FastifyInstance } from 'fastify';

/**
 * Index torrents kept per show: the newest and the one before it (a follower that read the
 * previous item may still be fetching it). Older ones are unseeded and their files removed.
 */
const KEEP = 2;
/** BEP 44: DHT nodes keep an item about two hours; the node stores its items again this often. */
const REPUT_MS = 30 * 60_000;

export interface MutableShows {
  /** Publishes the show's current feed as a new index torrent under its key (next seq). */
  publish(slug: string): Promise<{ seq: number; infoHash: string; nodes: number } | null>;
  /**
   * At start: publishes every show that has a key again, so its newest feed is seeded by this
   * process and its item is fresh on the DHT (a restart seeds no index torrent otherwise).
   */
  refreshAll(): Promise<number>;
  close(): void;
}

/**
 * A show on BitTorrent itself (BEP 46): on every feed change the node writes the feed as it
 * is served into the show's folder, makes it a torrent (the index torrent) and seeds it,
 * then stores `{ ih: <its info-hash> }` as the BEP 44 mutable item of the show's own Ed25519
 * key with the next sequence number. A follower that knows the key (the feed's podcast:txt,
 * `magnet:?xs=urn:btpk:...`) finds the newest feed through the DHT. The last item of each
 * show is stored again every 30 minutes, since DHT nodes forget items after about two hours.
 */
export function mutableShowPublisher(o: {
  app: FastifyInstance;
  ctx: CatalogContext;
  dht: DhtNode;
  reputMs?: number;
}): MutableShows {
  const kept = new Map<string, Array<{ infoHash: string; path: string }>>();
  const last = new Map<string, Parameters<DhtNode['putMutable']>[0]>();

  const prune = async (slug: string, dir: string, newest: { infoHash: string; path: string }) => {
    let list = kept.get(slug);
    if (!list) {
      // First publish of this show in this process: files of earlier runs are seeded by
      // nobody; keep only the newest.
      list = [];
      kept.set(slug, list);
      for (const name of await readdir(dir)) {
        const path = join(dir, name);
        if (/^feed-\d+\.xml$/.test(name) && path !== newest.path) await rm(path, { force: true });
      }
    }
    list.push(newest);
    while (list.length > KEEP) {
      const old = list.shift() as { infoHash: string; path: string };
      await o.ctx.torrents?.unseed?.(old.infoHash);
      await rm(old.path, { force: true });
    }
  };

  const publish: MutableShows['publish'] = async (slug) => {
    const show = await getShow(o.ctx.db, slug);
    if (!show || !o.ctx.torrents) return null;
    const key = await showKey(o.ctx.db, show.id);
    const feed = await o.app.inject({ method: 'GET', url: `/shows/${encodeURIComponent(slug)}/feed.xml` });
    if (feed.statusCode !== 200) return null;
    const seq = await nextSeq(o.ctx.db, show.id);
    const name = `feed-${seq}.xml`;
    const rel = `${slug}/index/${name}`;
    const dir = join(o.ctx.mediaDir, slug, 'index');
    await mkdir(dir, { recursive: true });
    const path = join(o.ctx.mediaDir, rel);
    await writeFile(path, feed.rawPayload);
    const made = await o.ctx.torrents.make(
      { path, name },
      { announce: o.ctx.trackers(), webSeeds: [o.ctx.mediaUrl(rel)] },
    );
    await o.ctx.torrents.seed?.(made.torrent, path);
    const item = {
      publicKey: key.publicKey,
      seq,
      value: { ih: fromHex(made.infoHashV1) ?? new Uint8Array(20) },
      sign: ed25519Signer(key.privateKeyDer),
    };
    const put = await o.dht.putMutable(item);
    if (!put.ok) throw new Error(put.error.message);
    last.set(slug, item);
    await prune(slug, dir, { infoHash: made.infoHashV1, path });
    return { seq, infoHash: made.infoHashV1, nodes: put.value.nodes };
  };

  const timer = setInterval(() => {
    for (const item of last.values()) {
      void o.dht
        .putMutable(item)
        .then((r) => {
          if (!r.ok) o.app.log.warn({ code: r.error.code }, 'storing a show on the DHT again failed');
        })
        .catch(() => {});
    }
  }, o.reputMs ?? REPUT_MS);
  timer.unref();

  return {
    publish,
    async refreshAll() {
      let n = 0;
      for (const slug of await keyedShowSlugs(o.ctx.db)) {
        try {
          if (await publish(slug)) n++;
        } catch (err) {
          o.app.log.warn({ err, slug }, 'publishing a show on the DHT at start failed');
        }
      }
      return n;
    },
    close: () => clearInterval(timer),
  };
}
