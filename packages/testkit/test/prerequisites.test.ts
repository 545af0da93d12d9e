import { afterEach, describe, expect, it } from 'vitest';
import { requireBinaries, requireServices, which } from '../src/index.ts';

describe('prerequisites', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('finds a binary every POSIX machine has and not one that cannot exist', () => {
    expect(which('sh')).toMatch(/\/sh$/);
    expect(which('no-such-binary-swarmcast')).toBeNull();
  });

  it('skips with a reason when a client is missing and nothing requires it', () => {
    delete process.env.SWARMCAST_REQUIRE_INTEROP;
    const p = requireBinaries('demo', 'sh', 'no-such-binary-swarmcast');
    expect(p.skip).toBe(true);
    expect(p.reason).toContain('no-such-binary-swarmcast');
    expect(p.reason).not.toContain('sh,');
  });

  it('fails instead of skipping when CI makes interop mandatory', () => {
    process.env.SWARMCAST_REQUIRE_INTEROP = '1';
    expect(() => requireBinaries('demo', 'no-such-binary-swarmcast')).toThrow(/SWARMCAST_REQUIRE_INTEROP=1/);
  });

  it('runs when everything is there', () => {
    expect(requireBinaries('demo', 'sh')).toEqual({ skip: false, reason: '' });
  });

  it('fails for an unreachable service when services are mandatory', async () => {
    process.env.SWARMCAST_REQUIRE_SERVICES = '1';
    process.env.SWARMCAST_TEST_REDIS_URL = 'redis://127.0.0.1:1';
    await expect(requireServices('demo', 'redis')).rejects.toThrow(/redis at redis:\/\/127\.0\.0\.1:1/);
  });
});
