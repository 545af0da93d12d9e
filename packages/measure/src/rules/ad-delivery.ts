import type { AnnounceFact, AudienceKey, DownloadFact } from '@swarmcast/platform';
import { type ByteRange, mergeRanges } from './byte-coverage.ts';
import {
  countDownloads,
  type DownloadFilterReason,
  type DownloadRules,
  defaultDownloadRules,
  filterDownload,
} from './downloads.ts';
import type { EpisodeMedia } from './episode-media.ts';

/**
 * Server-side ad delivery, the IAB way (Podcast Measurement Technical Guidelines v2.3,
 * section 6.3, metric 3 "Ad Delivered"): an ad dynamically inserted into an episode counts
 * as delivered only when filtered server logs of a valid download show that every byte of
 * the ad was sent. Rules, in order (each has a test in test/ad-delivery.test.ts):
 *
 * 1. Only requests for a stitched enclosure count (the fact names its plan); a plan we do
 *    not know, or whose layout was never recorded, delivers nothing (`unknown-plan`).
 * 2. Step 1 filtering of downloads applies unchanged (5.5.2): bots, data centres, bad
 *    referrers, HEAD, 304, other statuses, `bytes=0-1` probes and Apple Watch duplicates
 *    deliver nothing.
 * 3. Bytes are reassembled per (plan, audience key): distinct bytes actually sent
 *    (a dropped connection covers only what left), overlaps once, in any order.
 * 4. "100% of the ad content (all bytes) must be downloaded": every byte of the ad's span
 *    in that plan's stitched file, else `incomplete`.
 * 5. "An ad can only ever be counted as delivered if the download it belongs to is
 *    determined to be valid": the same listener's download of the episode must qualify
 *    under 5.5.3 (header + one minute of *content*: the stitched ranges are mapped back to
 *    the episode file's bytes, so ad bytes never count towards the threshold) and survive
 *    the abnormal-rate rule (1.2.1); else `download-invalid`.
 * 6. One delivery per ad per listener: an own plan's ad is one decision; the shared plan
 *    (listeners beyond the per-client bound) delivers once per audience key.
 */

export interface PlanForDelivery {
  planId: string;
  episodeId: string;
  /** The plan's own key, or "shared". */
  planKey: string;
  /** Bytes of the stitched file. */
  size: number;
  /** Stitched [start, end) spans: content runs mapped to the episode file, and each ad. */
  content: ReadonlyArray<{ start: number; end: number; srcStart: number }>;
  ads: ReadonlyArray<{ decisionId: string; start: number; end: number }>;
}

export interface AdDeliveryRow {
  /** The decision id, or `<decision>~<key prefix>` on the shared plan. */
  deliveryId: string;
  decisionId: string;
  planId: string;
  episodeId: string;
  audienceKey: AudienceKey;
  /** When the last byte needed (ad or qualifying download) was sent. */
  time: number;
}

export type DeliveryReason = DownloadFilterReason | 'unknown-plan' | 'incomplete' | 'download-invalid';

export interface AdDeliveryCount {
  delivered: AdDeliveryRow[];
  /** Ads (per listener) or requests that delivered nothing, by reason. */
  notDelivered: Partial<Record<DeliveryReason, number>>;
  /** Listeners whose download of a plan's episode was judged invalid by the rate rule. */
  rateFiltered: ReadonlySet<string>;
}

/**
 * A stitched request's sent range as ranges of the episode file: what the download
 * threshold reads. Content runs map byte for byte. The episode's bytes the stitched file
 * does not carry as they are (its old Xing/LAME header frame, replaced by a new one) count
 * as received when the request covered the whole stitched span that stands in their place
 * (between the neighbouring content runs), so a complete download of a stitched file is a
 * complete download of the episode. Ad bytes never count. A fact without a plan is
 * returned as it is.
 */
export function toContentFact(
  f: DownloadFact,
  plan: PlanForDelivery | undefined,
  fileSize: number,
): DownloadFact[] {
  if (f.planId === undefined) return [f];
  const base = { ...f, fileSize };
  delete (base as { planId?: string }).planId;
  if (!plan || f.rangeStart === null || f.rangeEnd === null || f.bytesSent <= 0) {
    return [{ ...base, rangeStart: null, rangeEnd: null, bytesSent: 0 }];
  }
  const a = f.rangeStart;
  const z = Math.min(f.rangeEnd, f.rangeStart + f.bytesSent - 1);
  const out: DownloadFact[] = [];
  const push = (src: number, n: number) => {
    if (n > 0)
      out.push({
        ...base,
        id: `${f.id}#${out.length}`,
        rangeStart: src,
        rangeEnd: src + n - 1,
        bytesSent: n,
      });
  };
  const runs = [...plan.content].sort((x, y) => x.srcStart - y.srcStart);
  let srcAt = 0;
  let outAt = 0;
  for (let i = 0; i <= runs.length; i++) {
    const run = runs[i];
    // The episode bytes before this run that no run carries, and the stitched span in their place.
    const gapEnd = run ? run.srcStart : fileSize;
    const spanEnd = run ? run.start : plan.size;
    if (gapEnd > srcAt && a <= outAt && z >= spanEnd - 1) push(srcAt, gapEnd - srcAt);
    if (!run) break;
    const s = Math.max(a, run.start);
    const e = Math.min(z, run.end - 1);
    if (s <= e) push(run.srcStart + (s - run.start), e - s + 1);
    srcAt = Math.max(srcAt, run.srcStart + (run.end - run.start));
    outAt = run.end;
  }
  // Only ad or header bytes were sent: a fact that adds nothing to the content coverage.
  return out.length > 0 ? out : [{ ...base, rangeStart: null, rangeEnd: null, bytesSent: 0 }];
}

function covers(merged: readonly ByteRange[], start: number, endExclusive: number): boolean {
  if (endExclusive <= start) return true;
  return merged.some(([s, e]) => s <= start && e >= endExclusive - 1);
}

export function countAdDeliveries(
  input: {
    downloads: readonly DownloadFact[];
    announces?: readonly AnnounceFact[];
    episodes: readonly EpisodeMedia[];
    plans: ReadonlyMap<string, PlanForDelivery>;
  },
  rules: DownloadRules = defaultDownloadRules,
): AdDeliveryCount {
  const notDelivered: Partial<Record<DeliveryReason, number>> = {};
  const bump = (r: DeliveryReason, n = 1) => {
    notDelivered[r] = (notDelivered[r] ?? 0) + n;
  };
  const byPath = new Map(input.episodes.map((e) => [e.path, e]));

  // Rule 5's "valid download": the download rules over content-mapped facts.
  const contentFacts = input.downloads.flatMap((f) =>
    toContentFact(
      f,
      f.planId ? input.plans.get(f.planId) : undefined,
      byPath.get(f.path)?.fileSize ?? f.fileSize,
    ),
  );
  const downloads = countDownloads(
    { downloads: contentFacts, announces: input.announces ?? [], episodes: input.episodes },
    rules,
  );
  const validAt = new Map<string, number>();
  for (const q of downloads.valid) {
    const k = `${q.episodeId}\u0000${q.audienceKey}`;
    validAt.set(k, Math.min(validAt.get(k) ?? Number.POSITIVE_INFINITY, q.time));
  }
  const rateFiltered = new Set(downloads.rateFiltered.map((q) => `${q.episodeId}\u0000${q.audienceKey}`));

  // Rules 1-3: reassemble the sent bytes per (plan, key).
  const groups = new Map<
    string,
    { plan: PlanForDelivery; key: AudienceKey; ranges: ByteRange[]; last: number }
  >();
  for (const f of input.downloads) {
    if (f.planId === undefined) continue;
    const plan = input.plans.get(f.planId);
    if (!plan) {
      bump('unknown-plan');
      continue;
    }
    const reason = filterDownload(f, true);
    if (reason) {
      bump(reason);
      continue;
    }
    const id = `${f.planId}\u0000${f.audienceKey}`;
    let g = groups.get(id);
    if (!g) {
      g = { plan, key: f.audienceKey, ranges: [], last: f.time };
      groups.set(id, g);
    }
    if (f.rangeStart !== null && f.rangeEnd !== null && f.bytesSent > 0) {
      g.ranges.push([f.rangeStart, Math.min(f.rangeEnd, f.rangeStart + f.bytesSent - 1)]);
      g.last = Math.max(g.last, f.time);
    }
  }

  // Rules 4-6.
  const delivered: AdDeliveryRow[] = [];
  for (const { plan, key, ranges, last } of groups.values()) {
    const merged = mergeRanges(ranges);
    const valid = validAt.get(`${plan.episodeId}\u0000${key}`);
    for (const ad of plan.ads) {
      if (!covers(merged, ad.start, ad.end)) {
        bump('incomplete');
        continue;
      }
      if (valid === undefined) {
        bump('download-invalid');
        continue;
      }
      delivered.push({
        deliveryId: plan.planKey === 'shared' ? `${ad.decisionId}~${key.slice(0, 16)}` : ad.decisionId,
        decisionId: ad.decisionId,
        planId: plan.planId,
        episodeId: plan.episodeId,
        audienceKey: key,
        time: Math.max(last, valid),
      });
    }
  }
  delivered.sort((a, b) => a.time - b.time || (a.deliveryId < b.deliveryId ? -1 : 1));
  return { delivered, notDelivered, rateFiltered };
}
