/**
 * The Referer header of a media request, reduced at the edge to a class (the URL itself
 * is never kept). IAB Podcast Measurement Technical Guidelines v2.3, 5.5.2 step 1.2.3:
 * "Erroneous referrer data ... accurate referrer data can imply that certain sources are
 * not actual podcast consumers. Check for accuracy on any available referrer data."
 *
 * - `none`: no referrer (podcast apps rarely send one);
 * - `valid`: an absolute http(s) URL with a host, not on the exclusion list;
 * - `malformed`: present but not such a URL (a forged or broken client);
 * - `excluded`: the host, or a domain it belongs to, is on the operator's list of sources
 *   that are not podcast consumers (e.g. a download-inflation site).
 */
export type ReferrerClass = 'none' | 'valid' | 'malformed' | 'excluded';

const maxReferrer = 4096;

export function classifyReferrer(header: string | undefined, excluded: ReadonlySet<string>): ReferrerClass {
  if (header === undefined || header === '') return 'none';
  if (header.length > maxReferrer) return 'malformed';
  let url: URL;
  try {
    url = new URL(header);
  } catch {
    return 'malformed';
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return 'malformed';
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  for (let h = host; h !== ''; h = h.includes('.') ? h.slice(h.indexOf('.') + 1) : '') {
    if (excluded.has(h)) return 'excluded';
  }
  return 'valid';
}

/**
 * The exclusion list: one host or domain a line (`example.com` also covers
 * `www.example.com`); '#' starts a comment. Hosts are lower-cased.
 */
export function parseReferrerExclusions(text: string): Set<string> {
  const out = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, '').trim().toLowerCase().replace(/\.$/, '');
    if (line) out.add(line);
  }
  return out;
}
