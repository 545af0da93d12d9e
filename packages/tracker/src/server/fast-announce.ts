/**
 * The one request every BitTorrent client sends, answered without node:http's per-request
 * machinery: a plain `GET /announce?...` that arrived whole in the connection's first read,
 * with no body and nothing after it. Anything else (another path, a passkey, a partial or
 * pipelined request, a body, an upgrade, HTTP/2 or garbage) returns null and the caller
 * hands the connection, bytes included, to node:http, which parses it as before.
 *
 * Why: with one announce per connection (what opentracker expects and most clients do),
 * node:http's IncomingMessage, ServerResponse, header objects and stream plumbing cost more
 * than the announce itself (profile in issue 17). Only the request line and the User-Agent
 * are read here; the query goes to the same decoder as every other announce.
 */

const prefix = Buffer.from('GET /announce?', 'latin1');
/** A request line and headers longer than this go to node:http (and its limits). */
export const maxFastRequestBytes = 8192;
/** User agents longer than this are cut (they only feed the audience key's hash). */
const maxUserAgent = 512;

export interface FastAnnounce {
  /** Path and query, as node:http's req.url. */
  url: string;
  userAgent: string | null;
}

export function parseFastAnnounce(chunk: Buffer): FastAnnounce | null {
  if (chunk.length < prefix.length + 16 || chunk.length > maxFastRequestBytes) return null;
  if (chunk.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0) return null;
  const end = chunk.indexOf('\r\n\r\n', 0, 'latin1');
  // Nothing may follow the headers: no body, no second (pipelined) request.
  if (end < 0 || end + 4 !== chunk.length) return null;
  const text = chunk.toString('latin1', 0, end);
  const lineEnd = text.indexOf('\r\n');
  const requestLine = lineEnd < 0 ? text : text.slice(0, lineEnd);
  // "GET <url> HTTP/1.x" with exactly two spaces.
  const sp = requestLine.indexOf(' ', 4);
  if (sp < 0 || requestLine.indexOf(' ', sp + 1) >= 0) return null;
  const version = requestLine.slice(sp + 1);
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') return null;
  const url = requestLine.slice(4, sp);
  // What node:http would refuse (control characters, bytes beyond ASCII) goes to node:http.
  if (!/^[\x21-\x7e]+$/.test(url)) return null;
  let userAgent: string | null = null;
  if (lineEnd >= 0) {
    for (const line of text.slice(lineEnd + 2).split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) return null;
      const name = line.slice(0, colon).toLowerCase();
      // A body, an upgrade or an odd header layout is node:http's business.
      if (name === 'content-length' || name === 'transfer-encoding' || name === 'upgrade') return null;
      if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) return null;
      if (name === 'user-agent') {
        if (userAgent !== null) return null;
        const value = line.slice(colon + 1).trim();
        if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return null;
        userAgent = value.slice(0, maxUserAgent);
      }
    }
  }
  return { url, userAgent };
}

/** The bytes of an answer with `Connection: close` (the fast path answers one request). */
export function fastAnswer(status: number, contentType: string, body: Uint8Array | string): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const head = Buffer.from(
    `HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Not Found'}\r\ncontent-type: ${contentType}\r\n` +
      `content-length: ${bytes.length}\r\nconnection: close\r\n\r\n`,
    'latin1',
  );
  const out = Buffer.allocUnsafe(head.length + bytes.length);
  head.copy(out, 0);
  out.set(bytes, head.length);
  return out;
}
