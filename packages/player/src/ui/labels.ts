/** Text the player shows, as pure functions (tested by table). */

/** `m:ss` (or `h:mm:ss`) for a time in ms, rounded up so a countdown ends on 0:00. */
export function clockLabel(ms: number): string {
  const total = Math.max(0, Math.ceil((Number.isFinite(ms) ? ms : 0) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** "Ad 1 of 2 · 0:12": the place in the pod and the time left in this ad. */
export function adLabel(index: number, count: number, remainingMs: number): string {
  return `Ad ${index + 1} of ${count} · ${clockLabel(remainingMs)}`;
}

/** "Skip in 3" before the offset, "Skip ad" after; null when the ad cannot be skipped. */
export function skipLabel(skipOffsetMs: number | null, playheadMs: number): string | null {
  if (skipOffsetMs === null) return null;
  const left = skipOffsetMs - playheadMs;
  return left > 0 ? `Skip in ${Math.ceil(left / 1000)}` : 'Skip ad';
}

/**
 * The P2P indicator in words people understand: where this episode is coming from. The
 * share is of the bytes received so far.
 */
export function p2pStatus(
  peers: number,
  bytesFromPeers: number,
  bytesFromWebSeed: number,
): { text: string; share: number } {
  const total = bytesFromPeers + bytesFromWebSeed;
  const share = total > 0 ? Math.round((100 * bytesFromPeers) / total) : 0;
  if (peers === 0) return { text: 'Streaming from the server · no other listeners nearby yet', share };
  const who = `${peers} other ${peers === 1 ? 'listener' : 'listeners'}`;
  return { text: `Sharing with ${who} · ${share}% of this episode came from them`, share };
}

/** The playback speeds offered, and the label of each ("1×", "1.5×"). */
export const playbackRates = [0.75, 1, 1.25, 1.5, 1.75, 2] as const;
export const rateLabel = (r: number) => `${r}×`;

const cueEntities: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  nbsp: '\u00a0',
  lrm: '\u200e',
  rlm: '\u200f',
  quot: '"',
  apos: "'",
};

/**
 * What a caption line shows for a WebVTT cue's text: the speaker of a voice span as
 * "Name: ", other markup (<i>, <b>, <c.class>, <00:00:01.000> timestamps) dropped, the
 * character references WebVTT defines decoded. The result goes into textContent, never HTML.
 */
export function cueDisplayText(raw: string): string {
  return raw
    .replace(/<v(?:\.[^\s>]*)?\s+([^>]*)>/g, (_m, name: string) => `${name.trim()}: `)
    .replace(/<[^>]*>/g, '')
    .replace(/&(amp|lt|gt|nbsp|lrm|rlm|quot|apos);/g, (_m, n: string) => cueEntities[n] as string)
    .trim();
}
