import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex } from '@swarmcast/bittorrent';
import {
  type DhtNode,
  downloadTorrent,
  type SwarmNode,
  type TorrentHandle,
} from '@swarmcast/bittorrent/node';
import { parseFeed } from '@swarmcast/catalog';

/**
 * Following a show through the DHT alone (BEP 46): the show's Ed25519 key names a BEP 44
 * mutable item `{ ih: <20-byte info-hash> }` whose sequence number grows with each publish;
 * the info-hash is the index torrent, the show's RSS feed as a file. Each round looks the
 * item up, and when its sequence number is above the one already applied, fetches the feed
 * over BitTorrent, then every episode it lists by the magnet link of its
 * podcast:alternateEnclosure, and keeps seeding all of it. Peers come from the DHT only: no
 * tracker, no web seed, no HTTP at all.
 *
 * Refused: items whose signature does not verify or whose key is not the show's (dropped by
 * the DHT client, which checks both), items not above the applied sequence number (a replay
 * of an older feed), and values that are not `{ ih: 20 bytes }`.
 */

export type FollowEvent =
  | { event: 'polled'; seq: number | null }
  | { event: 'item'; seq: number; infoHash: string }
  | { event: 'refused'; seq: number; reason: string }
  | { event: 'feed'; seq: number; title: string; episodes: number; path: string }
  | { event: 'episode'; guid: string; title: string; infoHash: string; path: string; bytes: number }
  | { event: 'skipped'; guid: string; title: string; reason: string }
  | { event: 'failed'; what: string; reason: string }
  | { event: 'seeding'; infoHash: string; path: string };

export interface FollowOptions {
  readonly dht: DhtNode;
  /** A node made with `{ dht, trackers: false }`: it finds and announces through the DHT only. */
  readonly node: SwarmNode;
  readonly publicKey: Uint8Array;
  readonly salt?: Uint8Array | null;
  /** Folder the episodes go to; the follow state and the feeds are kept in it too. */
  readonly dir: string;
  /** Delay between two lookups of the item (default 2 min). */
  readonly intervalMs?: number;
  /** Give up one torrent (index or episode) after this long; retried next round (default 10 min). */
  readonly fetchTimeoutMs?: number;
  readonly signal: AbortSignal;
  readonly onEvent: (e: FollowEvent) => void;
}

/** What a follower remembers between runs (`<dir>/.swarmcast-follow.json`). */
interface FollowState {
  publicKey: string;
  salt: string | null;
  /** Sequence number of the feed applied last (-1: none yet). */
  seq: number;
  /** Episodes fetched, by GUID: the info-hash their .torrent is kept under. */
  episodes: Record<string, { infoHash: string; name: string; title: string }>;
}

const stateName = '.swarmcast-follow.json';

/** Follows until `signal` aborts; every torrent fetched stays seeded until then. */
export async function followShow(o: FollowOptions): Promise<void> {
  const dir = o.dir;
  const torrentsDir = join(dir, '.torrents');
  const indexDir = join(dir, '.index');
  await mkdir(torrentsDir, { recursive: true });
  await mkdir(indexDir, { recursive: true });
  const keyHex = toHex(o.publicKey);
  const saltHex = o.salt?.length ? toHex(o.salt) : null;
  const state = await loadState(join(dir, stateName), keyHex, saltHex);
  const save = async () => {
    const path = join(dir, stateName);
    await writeFile(`${path}.tmp`, JSON.stringify(state, null, 2));
    await rename(`${path}.tmp`, path);
  };
  const handles: TorrentHandle[] = [];
  let index: TorrentHandle | null = null;
  /** Episodes of the feed applied last, to fetch (retried each round until they are here). */
  let wanted: ReturnType<typeof episodesOf> = [];
  if (state.seq >= 0) {
    // the feed applied last: what it lists and is not here yet is fetched this run
    const last = parseFeed(await readFile(join(dir, 'feed.xml'), 'utf8').catch(() => ''));
    if (last.ok) wanted = episodesOf(last.value.episodes);
  }

  // What a previous run fetched is seeded again (checked against the disk first).
  for (const [guid, ep] of Object.entries(state.episodes)) {
    if (!ep.infoHash) continue;
    try {
      const torrent = new Uint8Array(await readFile(join(torrentsDir, `${ep.infoHash}.torrent`)));
      const h = await fetchWhole(o, torrent, dir);
      handles.push(h);
      o.onEvent({ event: 'seeding', infoHash: ep.infoHash, path: join(dir, h.meta.name) });
    } catch (err) {
      delete state.episodes[guid];
      o.onEvent({
        event: 'failed',
        what: ep.title,
        reason: `cannot seed it again: ${(err as Error).message}`,
      });
    }
  }

  try {
    while (!o.signal.aborted) {
      const item = await o.dht.getMutable(o.publicKey, o.salt ?? undefined);
      if (o.signal.aborted) break;
      o.onEvent({ event: 'polled', seq: item?.seq ?? null });
      if (item && item.seq !== state.seq) {
        const ih = indexHashOf(item.value);
        if (item.seq < state.seq)
          o.onEvent({
            event: 'refused',
            seq: item.seq,
            reason: `sequence number ${item.seq} is below ${state.seq}, the one already applied (a replayed older feed)`,
          });
        else if (!ih)
          o.onEvent({
            event: 'refused',
            seq: item.seq,
            reason: 'the item is not { ih: <20-byte info-hash> }',
          });
        else {
          o.onEvent({ event: 'item', seq: item.seq, infoHash: ih });
          try {
            const h = await fetchWhole(o, `magnet:?xt=urn:btih:${ih}`, indexDir);
            const path = join(indexDir, h.meta.name);
            const parsed = parseFeed(await readFile(path, 'utf8'));
            if (!parsed.ok) {
              await h.close();
              o.onEvent({ event: 'refused', seq: item.seq, reason: `the feed: ${parsed.message}` });
              // a signed but unreadable feed is not fetched again for this sequence number
              state.seq = item.seq;
              await save();
            } else {
              await index?.close();
              index = h;
              await copyFile(path, join(dir, 'feed.xml'));
              wanted = episodesOf(parsed.value.episodes);
              state.seq = item.seq;
              await save();
              o.onEvent({
                event: 'feed',
                seq: item.seq,
                title: parsed.value.title,
                episodes: parsed.value.episodes.length,
                path,
              });
            }
          } catch (err) {
            o.onEvent({
              event: 'failed',
              what: `the feed of sequence ${item.seq}`,
              reason: (err as Error).message,
            });
          }
        }
      }
      for (const ep of wanted) {
        if (o.signal.aborted || state.episodes[ep.guid]) continue;
        if (!ep.magnet) {
          o.onEvent({
            event: 'skipped',
            guid: ep.guid,
            title: ep.title,
            reason: 'no BitTorrent magnet link in the feed',
          });
          state.episodes[ep.guid] = { infoHash: '', name: '', title: ep.title };
          continue;
        }
        try {
          const h = await fetchWhole(o, ep.magnet, dir);
          handles.push(h);
          await writeFile(join(torrentsDir, `${h.infoHash}.torrent`), torrentFile(h.meta.infoBytes));
          state.episodes[ep.guid] = { infoHash: h.infoHash, name: h.meta.name, title: ep.title };
          await save();
          o.onEvent({
            event: 'episode',
            guid: ep.guid,
            title: ep.title,
            infoHash: h.infoHash,
            path: join(dir, h.meta.name),
            bytes: h.session.layout.totalLength,
          });
        } catch (err) {
          o.onEvent({ event: 'failed', what: ep.title, reason: (err as Error).message });
        }
      }
      await sleep(o.intervalMs ?? 120_000, o.signal);
    }
  } finally {
    await index?.close();
    await Promise.all(handles.map((h) => h.close()));
  }
}

function episodesOf(episodes: readonly { guid: string; title: string; magnets: readonly string[] }[]) {
  // A hybrid's magnet names both hashes; the engine finds peers under either.
  return episodes.map((e) => ({ guid: e.guid, title: e.title, magnet: e.magnets[0] ?? null }));
}

/** The info-hash of `{ ih: <20 bytes> }` as hex, or null. */
function indexHashOf(value: unknown): string | null {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return null;
  const ih = (value as { ih?: unknown }).ih;
  return ih instanceof Uint8Array && ih.length === 20 ? toHex(ih) : null;
}

/** A .torrent holding only the info dict (enough to seed again; peers come from the DHT). */
function torrentFile(infoBytes: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode('d4:info');
  const out = new Uint8Array(head.length + infoBytes.length + 1);
  out.set(head);
  out.set(infoBytes, head.length);
  out[out.length - 1] = 0x65; // 'e'
  return out;
}

/** Downloads a torrent (magnet or .torrent bytes) completely into `dir`; the handle keeps seeding. */
async function fetchWhole(
  o: FollowOptions,
  torrent: string | Uint8Array,
  dir: string,
): Promise<TorrentHandle> {
  const limit = AbortSignal.any([o.signal, AbortSignal.timeout(o.fetchTimeoutMs ?? 10 * 60_000)]);
  const h = await downloadTorrent({ torrent, dir, node: o.node, webSeeds: false, signal: limit });
  let off = () => {};
  const done = await new Promise<boolean>((resolve) => {
    if (h.session.isDone) return resolve(true);
    const stop = () => resolve(false);
    limit.addEventListener('abort', stop, { once: true });
    off = h.session.on('done', () => {
      limit.removeEventListener('abort', stop);
      resolve(true);
    });
  });
  off();
  if (!done) {
    await h.close();
    throw new Error(o.signal.aborted ? 'stopped' : 'timed out');
  }
  return h;
}

async function loadState(path: string, publicKey: string, salt: string | null): Promise<FollowState> {
  const fresh: FollowState = { publicKey, salt, seq: -1, episodes: {} };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return fresh;
  }
  const s = JSON.parse(text) as FollowState;
  if (s.publicKey !== publicKey || s.salt !== salt)
    throw new Error(`${path} follows another show (key ${s.publicKey}); use another folder`);
  if (!Number.isSafeInteger(s.seq) || typeof s.episodes !== 'object' || !s.episodes)
    throw new Error(`${path} is damaged; remove it to start over`);
  return s;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
