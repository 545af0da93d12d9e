/**
 * The node's dynamic ad insertion, composed here because it spans layers: the catalog's
 * episode, the ad server's stitch plan (ads), the media layer's layout, served by the origin
 * (`enclosurePlugin`, which only sees the injected resolver). Per request:
 *
 * 1. the episode (cached briefly); plain file with a reason when it has no breaks, the
 *    creator switched DAI off, or its format cannot be stitched (M4A...: the reason is
 *    shown to the creator);
 * 2. the content's scan (cached per file) gives the encoding profile;
 * 3. the listener's plan for (episode, audience key, UTC day), decided once by the ad
 *    server with only ads already prepared for that profile;
 * 4. the plan's layout (cached per plan), recorded with the plan so measurement can map
 *    download ranges to ad spans;
 * 5. the body as parts: content bytes from the episode file, ad frames from prepared files.
 *
 * Nothing here prepares an ad or scans a file twice on the request path, and every failure
 * ends in the plain file with its reason, never a 5xx or a broken file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  deviceFromUserAgent,
  type PlanLayout,
  type PreparedAds,
  plannedAds,
  type StitchPlan,
  type StitchPlanner,
  type StoredPlan,
} from '@swarmcast/ads';
import {
  daiEnabled,
  type EpisodeDetail,
  type EpisodeForAds,
  episodeDaiEnabled,
  episodesWithAdBreaks,
  getEpisode,
  isLive,
} from '@swarmcast/catalog';
import {
  type BodyPart,
  compactParts,
  type EnclosureClient,
  type EnclosureResolver,
  type PlainEnclosure,
  type StitchedEnclosure,
} from '@swarmcast/origin';
import type { Clock, Db } from '@swarmcast/platform';
import { bodyParts, type DaiMedia, type LaidOut } from './dai-media.ts';

export interface DaiOptions<Scan, Profile, AdMeta> {
  db: Db;
  clock: Clock;
  mediaDir: string;
  planner: StitchPlanner;
  prepared: PreparedAds<Profile, AdMeta>;
  media: DaiMedia<Scan, Profile, AdMeta>;
  /** How long an episode's row is reused (default 5 s). */
  episodeTtlMs?: number;
  /** A plan could not be decided or stored (the listener got the clean file); for the log. */
  onPlanError?: (err: unknown) => void;
}

/** Why an episode's enclosure is the plain file (for the creator's report). */
export type PlainReason =
  | 'no-breaks'
  | 'dai-off'
  | 'video'
  | 'unsupported-format'
  | 'content-unreadable'
  | 'no-ads'
  | 'layout-failed'
  | 'plan-failed';

interface ContentInfo<Scan> {
  scan: Scan | null;
  reason: string | null;
}

export interface Dai {
  resolve: EnclosureResolver;
  plainPath(episodeId: string): Promise<string | null>;
  /** The listener's plan and layout (chapters and transcripts are shifted by it). */
  planOf(episodeId: string, client: EnclosureClient): Promise<StoredPlan | null>;
  /** Should the feed point this episode at the stitched enclosure? */
  feedUsesDai(e: EpisodeDetail, dai: boolean): boolean;
  /** Latest reason per episode the plain file was served instead (creator report). */
  reasons: ReadonlyMap<string, { reason: string; detail: string; at: number }>;
  /**
   * Queues preparation of these creatives for the profile of every recent MP3 episode with
   * ad breaks (node start, and then every minute: a newly approved creative is prepared
   * before most listeners need it). Never on the request path.
   */
  warm(creativeIds: readonly string[]): Promise<void>;
  /** Resolves when no ad preparation is queued or running (tests, benchmarks). */
  preparedIdle(): Promise<void>;
  /** Drops the cached episodes and switches (a creator turned DAI off or on): seen at the next request. */
  forget(): void;
}

const layoutCacheSize = 4096;

export function createDai<Scan, Profile, AdMeta>(o: DaiOptions<Scan, Profile, AdMeta>): Dai {
  const episodes = new Map<string, { at: number; e: EpisodeDetail | null; dai: boolean }>();
  const contents = new Map<string, Promise<ContentInfo<Scan>>>();
  const layouts = new Map<string, { laid: LaidOut; adPaths: Map<string, string>; parts: BodyPart[] }>();
  // Prepared ad files up to 2 MiB each, at most 64 MiB in all, held in memory: every plan
  // shares them, and a file open per ad per request costs more than the copy.
  const heldAds = new Map<string, Uint8Array>();
  let heldBytes = 0;
  const held = (path: string, size: number): Uint8Array | null => {
    const hit = heldAds.get(path);
    if (hit) return hit;
    if (size > 2 * 1024 * 1024 || heldBytes + size > 64 * 1024 * 1024) return null;
    try {
      const bytes = new Uint8Array(readFileSync(path));
      heldAds.set(path, bytes);
      heldBytes += bytes.length;
      return bytes;
    } catch {
      return null;
    }
  };
  const reasons = new Map<string, { reason: string; detail: string; at: number }>();
  type Laid = { ok: true; laid: LaidOut; adPaths: Map<string, string>; adHeld: Map<string, Uint8Array> };
  /** Where a plan's ads sit, from the prepared ads' files: pure but for reading small ad files once. */
  function layOut(plan: StitchPlan, scan: Scan, profile: Profile): Laid | { ok: false; reason: string } {
    const adPaths = new Map<string, string>();
    const adHeld = new Map<string, Uint8Array>();
    const breaks: Array<{ atMs: number; ads: Array<{ adId: string; meta: AdMeta }> }> = [];
    for (const b of plan.breaks) {
      if (b.ads.length === 0) continue;
      const list: Array<{ adId: string; meta: AdMeta }> = [];
      for (const ad of b.ads) {
        const ready = o.prepared.ready(ad.adId, profile);
        // Prepared when the plan was made; gone now only if an operator removed the files.
        if (!ready) return { ok: false, reason: `prepared ad ${ad.adId} is missing` };
        adPaths.set(ad.decisionId, ready.path);
        const bytes = held(ready.path, ready.bytes);
        if (bytes) adHeld.set(ad.decisionId, bytes);
        list.push({ adId: ad.decisionId, meta: ready.meta });
      }
      breaks.push({ atMs: b.offsetMs, ads: list });
    }
    const laid = o.media.layout(scan, breaks);
    return laid.ok ? { ok: true, laid: laid.value, adPaths, adHeld } : { ok: false, reason: laid.reason };
  }
  /** Layouts made while deciding (stored with the plan), picked up by the same request. */
  const justLaid = new Map<string, Laid>();
  const ttl = o.episodeTtlMs ?? 5_000;

  async function episode(id: string): Promise<{ e: EpisodeDetail | null; dai: boolean }> {
    const now = o.clock.now();
    const hit = episodes.get(id);
    if (hit && now - hit.at < ttl) return hit;
    // Only live episodes: a draft, a scheduled or a taken-down episode has no enclosure.
    const found = await getEpisode(o.db, id);
    const e = found && isLive(found, now) ? found : null;
    const dai = e ? (await daiEnabled(o.db, e.showId)) && (await episodeDaiEnabled(o.db, e.id)) : false;
    if (episodes.size > 10_000) episodes.clear();
    const entry = { at: now, e, dai };
    episodes.set(id, entry);
    return entry;
  }

  function content(path: string): Promise<ContentInfo<Scan>> {
    let p = contents.get(path);
    if (!p) {
      p = (async () => {
        const unsupported = await o.media.unsupported(path);
        if (unsupported) return { scan: null, reason: unsupported };
        const scanned = await o.media.scan(path);
        return scanned.ok ? { scan: scanned.value, reason: null } : { scan: null, reason: scanned.reason };
      })().catch((err: unknown) => ({
        scan: null,
        reason: err instanceof Error ? err.message : 'unreadable',
      }));
      if (contents.size > 1000) contents.clear();
      contents.set(path, p);
    }
    return p;
  }

  const plain = (e: EpisodeDetail, reason: PlainReason, detail = ''): PlainEnclosure => {
    reasons.set(e.id, { reason, detail, at: o.clock.now() });
    return { kind: 'plain', mediaPath: e.media!.path, reason };
  };

  function forAds(e: EpisodeDetail): EpisodeForAds {
    return {
      id: e.id,
      showId: e.showId,
      creatorId: e.show.ownerId,
      title: e.title,
      durationMs: e.durationMs,
      language: e.show.language,
      categories: e.show.categories,
      mediaKind: e.mediaKind,
      adBreaks: e.adBreaks,
    };
  }

  /** Steps 1-3; a plain answer or the plan with what laying it out needs. */
  async function planStep(
    id: string,
    client: EnclosureClient,
  ): Promise<
    | { kind: 'none' }
    | { kind: 'plain'; answer: PlainEnclosure }
    | { kind: 'plan'; e: EpisodeDetail; scan: Scan; profile: Profile; stored: StoredPlan }
  > {
    const { e, dai } = await episode(id);
    if (!e?.media) return { kind: 'none' };
    if (e.adBreaks.length === 0) return { kind: 'plain', answer: plain(e, 'no-breaks') };
    if (!dai) return { kind: 'plain', answer: plain(e, 'dai-off') };
    if (e.mediaKind !== 'audio') return { kind: 'plain', answer: plain(e, 'video') };
    const c = await content(join(o.mediaDir, e.media.path));
    if (!c.scan) {
      const unsupported = c.reason?.startsWith('unsupported') ?? false;
      return {
        kind: 'plain',
        answer: plain(e, unsupported ? 'unsupported-format' : 'content-unreadable', c.reason ?? ''),
      };
    }
    const profile = o.media.profileOf(c.scan);
    let stored: StoredPlan;
    try {
      stored = await o.planner.planFor({
        episode: forAds(e),
        audienceKey: client.audienceKey,
        clientKey: client.clientKey,
        country: client.country,
        device: deviceFromUserAgent(client.userAgent.slice(0, 512)),
        profileKey: o.media.profileKey(profile),
        now: client.now,
        prepared: (creativeId) => o.prepared.ready(creativeId, profile) !== null,
        layoutOf: (plan) => {
          const lay = layOut(plan, c.scan!, profile);
          if (!lay.ok) return null;
          // A plan stored by another process meanwhile leaves its entry behind: bounded.
          if (justLaid.size >= 1000) justLaid.clear();
          justLaid.set(plan.id, lay);
          return planLayout(lay.laid);
        },
      });
    } catch (err) {
      // The shared caps and delivery (Redis) or the plan store did not answer: the clean file
      // rather than a failed download or an ad past its cap; the next request tries again.
      o.onPlanError?.(err);
      const detail = err instanceof Error ? err.message : String(err);
      return { kind: 'plain', answer: plain(e, 'plan-failed', detail) };
    }
    return { kind: 'plan', e, scan: c.scan, profile, stored };
  }

  async function resolve(
    id: string,
    client: EnclosureClient,
  ): Promise<StitchedEnclosure | PlainEnclosure | null> {
    const step = await planStep(id, client);
    if (step.kind === 'none') return null;
    if (step.kind === 'plain') return step.answer;
    const { e, scan, profile, stored } = step;
    const ads = plannedAds(stored.plan);
    if (ads.length === 0) return plain(e, 'no-ads', stored.plan.notes.join(' '));
    let cached = layouts.get(stored.plan.id);
    if (!cached) {
      const lay = justLaid.get(stored.plan.id) ?? layOut(stored.plan, scan, profile);
      justLaid.delete(stored.plan.id);
      if (!lay.ok) return plain(e, 'layout-failed', lay.reason);
      const { laid, adPaths, adHeld } = lay;
      const contentPath = join(o.mediaDir, e.media!.path);
      // Once per plan: the small slices around each cut are read into memory and adjacent
      // slices joined, so a request costs one read per 64 KiB of content and nothing else.
      let parts: BodyPart[];
      try {
        parts = await compactParts(
          bodyParts(
            laid,
            contentPath,
            (adId) => adPaths.get(adId)!,
            (adId) => adHeld.get(adId) ?? null,
          ),
        );
      } catch (err) {
        return plain(e, 'content-unreadable', err instanceof Error ? err.message : 'unreadable');
      }
      cached = { laid, adPaths, parts };
      if (layouts.size >= layoutCacheSize) {
        const oldest = layouts.keys().next().value;
        if (oldest !== undefined) layouts.delete(oldest);
      }
      layouts.set(stored.plan.id, cached);
      // A plan decided by this request was stored with its layout already (no write here).
      if (!stored.layout) await o.planner.layoutReady(stored, planLayout(laid));
    }
    return {
      kind: 'stitched',
      planId: stored.plan.id,
      parts: cached.parts,
      createdAt: stored.plan.createdAt,
      contentType: 'audio/mpeg',
      mediaPath: e.media!.path,
      stored: () => o.planner.stored(stored.plan.id),
    };
  }

  async function warm(creativeIds: readonly string[]): Promise<void> {
    const profiles = new Map<string, Profile>();
    for (const row of await episodesWithAdBreaks(o.db, 500)) {
      const c = await content(join(o.mediaDir, row.path));
      if (!c.scan) continue;
      const profile = o.media.profileOf(c.scan);
      profiles.set(o.media.profileKey(profile), profile);
    }
    for (const profile of profiles.values()) for (const id of creativeIds) o.prepared.ready(id, profile);
  }

  return {
    resolve,
    reasons,
    warm,
    preparedIdle: () => o.prepared.idle(),
    forget: () => episodes.clear(),
    async plainPath(id) {
      return (await episode(id)).e?.media?.path ?? null;
    },
    async planOf(id, client) {
      const r = await resolve(id, client);
      if (!r || r.kind === 'plain') return null;
      const step = await planStep(id, client);
      return step.kind === 'plan' ? step.stored : null;
    },
    feedUsesDai(e, dai) {
      return dai && e.adBreaks.length > 0 && e.mediaKind === 'audio' && e.media?.mime === 'audio/mpeg';
    },
  };
}

/** What measurement needs of a layout: content runs, ad spans and breaks in stitched coordinates. */
export function planLayout(laid: LaidOut): PlanLayout {
  const content: PlanLayout['content'] = [];
  let at = 0;
  for (const p of laid.parts) {
    const len = p.kind === 'bytes' ? p.bytes.length : p.end - p.start;
    if (p.kind === 'content') content.push({ start: at, end: at + len, srcStart: p.start });
    at += len;
  }
  return {
    size: laid.totalBytes,
    content,
    ads: laid.ads.map((a) => ({
      decisionId: a.adId,
      start: a.byteStart,
      end: a.byteEnd,
      startMs: a.startMs,
      endMs: a.endMs,
    })),
    breaks: laid.breaks,
  };
}
