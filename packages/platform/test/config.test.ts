import { describe, expect, it } from 'vitest';
import { loadConfig, type PlatformError } from '../src/index.ts';

describe('loadConfig', () => {
  it('has embedded defaults', () => {
    const c = loadConfig({}, {}, '/srv/node');
    expect(c).toEqual({
      host: '127.0.0.1',
      port: 8080,
      dataDir: '/srv/node/data',
      mediaDir: '/srv/node/data/media',
      publicUrl: 'http://127.0.0.1:8080',
      databaseUrl: null,
      redisUrl: null,
      natsUrl: null,
      datacenterRanges: null,
      creatorSharePercent: 70,
      ice: { urls: ['self'], turnSecret: null, turnTtlSeconds: 3600 },
      trustProxy: [],
      engines: {
        redisPrefix: 'swarmcast:trk:',
        natsStream: 'SWARMCAST',
        natsSubjects: 'swarmcast',
        natsConsumerPrefix: '',
      },
    });
  });

  it('switches engines on URLs, and overrides win over the environment', () => {
    const c = loadConfig(
      {
        PORT: '9000',
        DATABASE_URL: 'postgres://u@db:5432/sc',
        REDIS_URL: 'redis://r:6379',
        NATS_URL: 'nats://n:4222',
        SWARMCAST_DATA: '/var/sc',
        PUBLIC_URL: 'https://cast.example/',
        DATACENTER_RANGES: 'dc.txt',
      },
      { PORT: '9100', HOST: '0.0.0.0' },
      '/etc/sc',
    );
    expect(c.port).toBe(9100);
    expect(c.host).toBe('0.0.0.0');
    expect(c.databaseUrl).toBe('postgres://u@db:5432/sc');
    expect(c.redisUrl).toBe('redis://r:6379');
    expect(c.natsUrl).toBe('nats://n:4222');
    expect(c.dataDir).toBe('/var/sc');
    expect(c.publicUrl).toBe('https://cast.example');
    expect(c.datacenterRanges).toBe('/etc/sc/dc.txt');
  });

  it('reads trusted proxies and engine names', () => {
    const c = loadConfig({
      SWARMCAST_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8 ::1 fd00::/8,loopback',
      SWARMCAST_REDIS_PREFIX: 'net2:',
      SWARMCAST_NATS_STREAM: 'NET2',
      SWARMCAST_NATS_CONSUMER: 'shadow-',
    });
    expect(c.trustProxy).toEqual(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', 'loopback']);
    expect(c.engines).toEqual({
      redisPrefix: 'net2:',
      natsStream: 'NET2',
      natsSubjects: 'net2',
      natsConsumerPrefix: 'shadow-',
    });
    expect(loadConfig({ TRACKER_REDIS_PREFIX: 'old:' }).engines.redisPrefix).toBe('old:');
    expect(loadConfig({ SWARMCAST_NATS_SUBJECTS: 'a.b' }).engines.natsSubjects).toBe('a.b');
  });

  it('shows a wildcard host as loopback in the default public URL, brackets IPv6', () => {
    expect(loadConfig({ HOST: '0.0.0.0', PORT: '81' }).publicUrl).toBe('http://127.0.0.1:81');
    expect(loadConfig({ HOST: '::1', PORT: '81' }).publicUrl).toBe('http://[::1]:81');
  });

  const bad: [Record<string, string>, string][] = [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '-1' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://r' }, 'REDIS_URL'],
    [{ NATS_URL: 'x' }, 'NATS_URL'],
    [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL'],
    [{ HOST: 'bad host; rm -rf' }, 'HOST'],
    [{ CREATOR_SHARE_PERCENT: '101' }, 'CREATOR_SHARE_PERCENT'],
    [{ SWARMCAST_ICE_SERVERS: 'http://stun.example' }, 'SWARMCAST_ICE_SERVERS'],
    [{ SWARMCAST_ICE_SERVERS: 'stun:a.example:99999' }, 'SWARMCAST_ICE_SERVERS'],
    [{ SWARMCAST_ICE_SERVERS: 'turn:u:p@t.example' }, 'SWARMCAST_ICE_SERVERS'],
    [{ SWARMCAST_ICE_SERVERS: 'turn:t.example:3478' }, 'SWARMCAST_TURN_SECRET'],
    [{ SWARMCAST_TURN_SECRET: 'short' }, 'SWARMCAST_TURN_SECRET'],
    [{ SWARMCAST_TURN_TTL: '5' }, 'SWARMCAST_TURN_TTL'],
    [{ SWARMCAST_TRUST_PROXY: '10.0.0.0/33' }, 'SWARMCAST_TRUST_PROXY'],
    [{ SWARMCAST_TRUST_PROXY: 'proxy.example' }, 'SWARMCAST_TRUST_PROXY'],
    [{ SWARMCAST_TRUST_PROXY: '127.0.0.1/8/1' }, 'SWARMCAST_TRUST_PROXY'],
    [{ SWARMCAST_TRUST_PROXY: '::1/129' }, 'SWARMCAST_TRUST_PROXY'],
    [{ SWARMCAST_REDIS_PREFIX: 'a b' }, 'SWARMCAST_REDIS_PREFIX'],
    [{ SWARMCAST_REDIS_PREFIX: 'net*' }, 'SWARMCAST_REDIS_PREFIX'],
    [{ TRACKER_REDIS_PREFIX: 'x'.repeat(65) }, 'TRACKER_REDIS_PREFIX'],
    [{ SWARMCAST_NATS_STREAM: 'A.B' }, 'SWARMCAST_NATS_STREAM'],
    [{ SWARMCAST_NATS_STREAM: 'a>' }, 'SWARMCAST_NATS_STREAM'],
    [{ SWARMCAST_NATS_SUBJECTS: 'a.*' }, 'SWARMCAST_NATS_SUBJECTS'],
    [{ SWARMCAST_NATS_CONSUMER: 'x y' }, 'SWARMCAST_NATS_CONSUMER'],
  ];
  for (const [env, name] of bad) {
    it(`refuses ${JSON.stringify(env)} naming ${name}`, () => {
      let err: PlatformError | undefined;
      try {
        loadConfig(env);
      } catch (e) {
        err = e as PlatformError;
      }
      expect(err?.code).toBe('PLT_CONFIG_INVALID');
      expect(err?.message).toContain(name);
    });
  }
});
