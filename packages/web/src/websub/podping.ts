/**
 * A Podping-style notice (podping.cloud's HTTP API: GET <endpoint>?url=<feed>&reason=update
 * &medium=podcast with an Authorization token): tells the podcast apps that watch Podping that
 * a feed changed. Off unless SWARMCAST_PODPING_URL is set, since it needs an outside service
 * and its token (SWARMCAST_PODPING_TOKEN).
 */
export interface PodpingConfig {
  endpoint: string;
  token: string | null;
}

export function podpingFromEnv(env: NodeJS.ProcessEnv): PodpingConfig | null {
  const endpoint = env.SWARMCAST_PODPING_URL?.trim();
  if (!endpoint) return null;
  return { endpoint, token: env.SWARMCAST_PODPING_TOKEN?.trim() || null };
}

export async function sendPodping(
  c: PodpingConfig,
  feedUrl: string,
  reason: 'update' | 'live' = 'update',
): Promise<boolean> {
  const u = new URL(c.endpoint);
  u.searchParams.set('url', feedUrl);
  u.searchParams.set('reason', reason);
  u.searchParams.set('medium', 'podcast');
  try {
    const res = await fetch(u, {
      headers: { 'user-agent': 'Swarmcast', ...(c.token ? { authorization: c.token } : {}) },
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
