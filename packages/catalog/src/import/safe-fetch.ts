import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { type AddressClassifier, parseAddressList } from '@swarmcast/platform';

/**
 * The import's only way out to the network (feeds, enclosures, artwork, chapters,
 * transcripts are URLs a creator typed, or a feed someone else wrote): a GET that refuses
 * to reach private, loopback, link-local, multicast, reserved or cloud-metadata addresses
 * (server-side request forgery). The address is checked after DNS resolution, at connect
 * time (the address checked is the one connected to: no window for a DNS answer to change),
 * for an address literal before connecting, and again on every redirect, which is followed
 * here by hand (at most 5, http and https only).
 *
 * Operators who import from their own LAN (and tests on loopback) set
 * SWARMCAST_IMPORT_ALLOW_PRIVATE=1 (everything), or a comma-separated list of addresses
 * and CIDR ranges allowed despite being private (e.g. "10.0.0.0/8,192.168.1.20").
 */

/** Address ranges an import never fetches from (RFC 6890 special-purpose, metadata). */
const blockedRanges = `
0.0.0.0/8            # "this network", unspecified
10.0.0.0/8           # private
100.64.0.0/10        # carrier-grade NAT
127.0.0.0/8          # loopback
169.254.0.0/16       # link-local, cloud metadata (169.254.169.254)
172.16.0.0/12        # private
192.0.0.0/24         # IETF protocol assignments
192.0.2.0/24         # documentation
192.88.99.0/24       # 6to4 relay
192.168.0.0/16       # private
198.18.0.0/15        # benchmarking
198.51.100.0/24      # documentation
203.0.113.0/24       # documentation
224.0.0.0/4          # multicast
240.0.0.0/4          # reserved, broadcast
::/128               # unspecified
::1/128              # loopback
::ffff:0:0/96        # IPv4-mapped (an IPv4 address in disguise)
64:ff9b::/96         # NAT64 (64:ff9b::7f00:1 reaches 127.0.0.1 through a NAT64 gateway)
64:ff9b:1::/48       # local-use NAT64
2002::/16            # 6to4 (2002:7f00:1:: embeds 127.0.0.1)
100::/64             # discard-only
2001:db8::/32        # documentation
fc00::/7             # unique local (fd00:ec2::254, a cloud metadata address, is in it)
fe80::/10            # link-local
fec0::/10            # site-local (deprecated)
ff00::/8             # multicast
`;

const blocked: AddressClassifier = parseAddressList(blockedRanges, 'import blocked ranges');

/** Why an import may not fetch from `ip` ("loopback", ...), or null when it may. */
export function blockedAddressReason(ip: string): string | null {
  if (!blocked.isDatacenter(ip)) return null;
  const plain = ip.toLowerCase();
  if (plain === '169.254.169.254' || plain.startsWith('fd00:ec2:')) return 'a cloud metadata address';
  if (/^127\./.test(plain) || plain === '::1') return 'a loopback address';
  if (/^169\.254\./.test(plain) || /^fe[89ab]/.test(plain)) return 'a link-local address';
  if (/^(22[4-9]|23\d)\./.test(plain) || plain.startsWith('ff')) return 'a multicast address';
  if (/^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(plain) || /^f[cd]/.test(plain))
    return 'a private address';
  return 'a reserved address';
}

export interface ImportNetworkPolicy {
  /** Everything allowed (SWARMCAST_IMPORT_ALLOW_PRIVATE=1). */
  allowAll: boolean;
  /** Private ranges allowed anyway (the operator's LAN). */
  allowed: AddressClassifier | null;
}

/** The operator's override, from SWARMCAST_IMPORT_ALLOW_PRIVATE (read at each import fetch). */
export function importNetworkPolicy(value = process.env.SWARMCAST_IMPORT_ALLOW_PRIVATE): ImportNetworkPolicy {
  const v = (value ?? '').trim();
  if (v === '' || v === '0' || v === 'false') return { allowAll: false, allowed: null };
  if (v === '1' || v === 'true') return { allowAll: true, allowed: null };
  return {
    allowAll: false,
    allowed: parseAddressList(v.split(/[\s,]+/).join('\n'), 'SWARMCAST_IMPORT_ALLOW_PRIVATE'),
  };
}

/** The refusal for `ip` under `policy`, or null when the import may connect to it. */
function refusal(host: string, ip: string, policy: ImportNetworkPolicy): string | null {
  if (policy.allowAll || policy.allowed?.isDatacenter(ip)) return null;
  const why = blockedAddressReason(ip);
  if (!why) return null;
  const named = host === ip ? ip : `${host} (${ip})`;
  return `${named} is ${why}; an import fetches only from public addresses (an operator importing from a private network sets SWARMCAST_IMPORT_ALLOW_PRIVATE)`;
}

export class ImportBlockedError extends Error {
  override name = 'ImportBlockedError';
  readonly code = 'CAT_IMPORT_BLOCKED';
}

export interface SafeResponse {
  status: number;
  ok: boolean;
  /** The URL finally answered (after redirects). */
  url: string;
  headers: { get(name: string): string | null };
  body: AsyncIterable<Buffer> & { cancel(): Promise<void> };
}

export interface SafeGetOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Default: from SWARMCAST_IMPORT_ALLOW_PRIVATE. */
  policy?: ImportNetworkPolicy;
  maxRedirects?: number;
}

/** GET `url` for the import, with the address checks above; throws on refusal or network errors. */
export async function safeGet(url: string, o: SafeGetOptions = {}): Promise<SafeResponse> {
  const policy = o.policy ?? importNetworkPolicy();
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await getOnce(current, o, policy);
    const location = res.headers.location;
    if ([301, 302, 303, 307, 308].includes(res.statusCode ?? 0) && typeof location === 'string') {
      res.resume();
      if (hop >= (o.maxRedirects ?? 5)) throw new Error(`more than ${o.maxRedirects ?? 5} redirects`);
      current = new URL(location, current).toString();
      continue;
    }
    return wrap(current, res);
  }
}

function getOnce(url: string, o: SafeGetOptions, policy: ImportNetworkPolicy): Promise<IncomingMessage> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.reject(new Error(`${url.slice(0, 200)} is not a URL`));
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return Promise.reject(
      new ImportBlockedError(`${u.protocol} links are not fetched (http and https only)`),
    );
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    const why = refusal(host, host, policy);
    if (why) return Promise.reject(new ImportBlockedError(why));
  }
  // Every address DNS gives must be allowed (a mixed answer is refused), and the connection
  // goes to the first of them: the checked address is the one connected to.
  const lookup = (
    hostname: string,
    options: { family?: number; all?: boolean },
    cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses) => {
      if (err) return cb(err, '', 0);
      const list = addresses as LookupAddress[];
      for (const a of list) {
        const why = refusal(hostname, a.address, policy);
        if (why) return cb(new ImportBlockedError(why), '', 0);
      }
      const first = list[0];
      if (!first) return cb(new Error(`${hostname}: no address`), '', 0);
      if (options.all) cb(null, [first]);
      else cb(null, first.address, first.family);
    });
  };
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(u, {
      method: 'GET',
      headers: o.headers ?? {},
      lookup: lookup as never,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    req.once('response', resolve);
    req.once('error', (err) => reject(err));
    req.end();
  });
}

function wrap(url: string, res: IncomingMessage): SafeResponse {
  const status = res.statusCode ?? 0;
  const body = Object.assign(res as AsyncIterable<Buffer>, {
    cancel: async () => {
      res.destroy();
    },
  });
  return {
    status,
    ok: status >= 200 && status < 300,
    url,
    headers: {
      get(name: string) {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    },
    body,
  };
}
