import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex } from '@swarmcast/bittorrent';
import { type DhtNode, ed25519Signer } from '@swarmcast/bittorrent/node';
import { type CatalogContext, getShow, nextSeq, showKey } from '@swarmcast/catalog';
import type { FastifyInstance } from 'fastify';

/**
 * A show on BitTorrent itself (BEP 46): on every feed change the node writes the feed as it
 * is served into the show's folder, makes it a torrent (the index torrent) and seeds it,
 * then stores `{ ih: <its info-hash> }` as the BEP 44 mutable item of the show's own Ed25519
 * key with the next sequence number. A follower that knows the key (the feed's podcast:txt,
 * `magnet:?xs=urn:btpk:...`) finds the newest feed through the DHT.
 */
export function mutableShowPublisher(o: { app: FastifyInstance; ctx: CatalogContext; dht: DhtNode }) {
  return async (slug: string): Promise<{ seq: number; infoHash: string; nodes: number } | null> => {
    const show = await getShow(o.ctx.db, slug);
    if (!show || !o.ctx.torrents) return null;
    const key = await showKey(o.ctx.db, show.id);
    const feed = await o.app.inject({ method: 'GET', url: `/shows/${encodeURIComponent(slug)}/feed.xml` });
    if (feed.statusCode !== 200) return null;
    const seq = await nextSeq(o.ctx.db, show.id);
    const name = `feed-${seq}.xml`;
    const rel = `${slug}/index/${name}`;
    await mkdir(join(o.ctx.mediaDir, slug, 'index'), { recursive: true });
    const path = join(o.ctx.mediaDir, rel);
    await writeFile(path, feed.rawPayload);
    const made = await o.ctx.torrents.make(
      { path, name },
      { announce: o.ctx.trackers(), webSeeds: [o.ctx.mediaUrl(rel)] },
    );
    await o.ctx.torrents.seed?.(made.torrent, path);
    const put = await o.dht.putMutable({
      publicKey: key.publicKey,
      seq,
      value: { ih: fromHex(made.infoHashV1) ?? new Uint8Array(20) },
      sign: ed25519Signer(key.privateKeyDer),
    });
    if (!put.ok) throw new Error(put.error.message);
    return { seq, infoHash: made.infoHashV1, nodes: put.value.nodes };
  };
}
