/**
 * Ad media prefetch: once a pod is known (VAST asked shortly before its break), the creative
 * each ad will play is downloaded into memory, so the break starts from a local object URL
 * with no network wait. Bounded: a file over `maxBytes` (by Content-Length, or by what
 * arrived) or slower than `timeoutMs` is dropped and the element streams the URL itself as
 * before. A failed prefetch is never an ad error: the element reports its own failure.
 * Browser APIs (fetch, object URLs) are injected so the rules are tested in Node.
 */
import { type LinearAd, pickMediaFile, type VastReadResult } from './vast-read.ts';

export interface PrefetchEnv {
  fetch: typeof fetch;
  createObjectURL: (blob: Blob) => string;
  revokeObjectURL: (url: string) => void;
  timeoutMs: number;
  /** The largest creative kept in memory (bytes). */
  maxBytes: number;
}

/** A pod ready to play: its ads, and the local copy of each ad's chosen media file. */
export interface PreparedPod {
  read: VastReadResult;
  /** Media file URL (as in the VAST) -> object URL of the prefetched bytes. */
  media: ReadonlyMap<string, string>;
  /** Frees the object URLs (after the break). Idempotent. */
  release(): void;
}

/** The media file each ad will play, as `playOneAd` picks it (same chooser). */
export function chosenMedia(ad: LinearAd, canPlay: (mimeType: string) => boolean): string | null {
  return pickMediaFile(ad.mediaFiles, canPlay)?.url ?? null;
}

async function download(env: PrefetchEnv, url: string): Promise<Blob | null> {
  try {
    const res = await env.fetch(url, { signal: AbortSignal.timeout(env.timeoutMs), credentials: 'omit' });
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return null;
    }
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > env.maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      return null;
    }
    if (!res.body) return null;
    // Read chunk by chunk so an undeclared or lying length stops at maxBytes.
    const reader = res.body.getReader();
    const parts: Uint8Array[] = [];
    let n = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.byteLength;
      if (n > env.maxBytes) {
        await reader.cancel().catch(() => undefined);
        return null;
      }
      parts.push(value);
    }
    if (n === 0) return null;
    return new Blob(parts as BlobPart[], { type: res.headers.get('content-type') ?? '' });
  } catch {
    return null;
  }
}

/** Downloads the chosen media of every ad of the pod, in parallel; never rejects. */
export async function prefetchPod(
  env: PrefetchEnv,
  read: VastReadResult,
  canPlay: (mimeType: string) => boolean,
): Promise<PreparedPod> {
  const urls = [
    ...new Set(read.ads.map((a) => chosenMedia(a, canPlay)).filter((u): u is string => u !== null)),
  ];
  const media = new Map<string, string>();
  const blobs = await Promise.all(urls.map((u) => download(env, u)));
  urls.forEach((u, i) => {
    const b = blobs[i];
    if (b) media.set(u, env.createObjectURL(b));
  });
  let released = false;
  return {
    read,
    media,
    release() {
      if (released) return;
      released = true;
      for (const u of media.values()) env.revokeObjectURL(u);
    },
  };
}
