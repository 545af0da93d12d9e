import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ClientClass, classifyUserAgent } from '../src/index.ts';

const dataDir = join(import.meta.dirname, '..', 'data', 'opawg-user-agents');
const examples = (file: string): string[] =>
  (
    JSON.parse(readFileSync(join(dataDir, `${file}.json`), 'utf8')).entries as { examples?: string[] }[]
  ).flatMap((e) => e.examples ?? []);

describe('classifyUserAgent (OPAWG data)', () => {
  it('flags exactly the IAB paired Apple Watch duplicates (1.2.7), ahead of the bot list', () => {
    for (const ua of [
      'atc/1.0 watchOS/10.2 model/Watch6,1 hwp/t8301 build/21S364 (6; dt:226)',
      '(null)/(null) watchOS/7.6.1 model/Watch5,9 hwp/t8006 build/18U70 (6; dt:204)',
    ]) {
      expect(classifyUserAgent(ua), ua).toMatchObject({
        device: 'watch',
        os: 'watchOS',
        bot: false,
        watchDuplicate: true,
      });
    }
    // A standalone watch app's own download, and an atc/ agent of another OS: not duplicates.
    for (const ua of [
      'Watch/1140 CFNetwork/3860.200.71 Darwin/25.1.0',
      'atc/1.0 iOS/17.2 model/iPhone15,2',
      'Overcast/3.0 (+http://overcast.fm/; Apple Watch podcast app)',
    ]) {
      expect(classifyUserAgent(ua).watchDuplicate ?? false, ua).toBe(false);
    }
  });

  const table: [string, Partial<ClientClass>][] = [
    ['Watch/1140 CFNetwork/3860.200.71 Darwin/25.1.0', { device: 'watch', os: 'watchOS', bot: false }],
    [
      'AppleCoreMedia/1.0.0.20E247 (Apple Watch; U; CPU OS 9_4 like Mac OS X; en_us)',
      { device: 'watch', os: 'watchOS', bot: false },
    ],
    [
      'Podcasts/1410.53 CFNetwork/1111 Darwin/19.0.0 (x86_64)',
      { app: 'Apple Podcasts', os: 'iOS', bot: false },
    ],
    [
      'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      { app: 'Googlebot', device: 'bot', bot: true },
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
      { app: 'Chrome', device: 'computer', os: 'Windows', bot: false },
    ],
    [
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
      { app: 'Chrome', device: 'phone', os: 'Android' },
    ],
    [
      'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
      { app: 'Safari', device: 'tablet', os: 'iOS' },
    ],
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15',
      { app: 'Safari', device: 'computer', os: 'macOS' },
    ],
    ['Spotify/8.6.0 Android/29 (SM-G973F)', { app: 'Spotify', device: 'phone', os: 'Android' }],
    ['Overcast/3.0 (+http://overcast.fm/; iOS podcast app)', { app: 'Overcast', os: 'iOS' }],
    ['Sonos/70.3-35220 (ACR_0123)', { app: 'Sonos', device: 'speaker' }],
    ['curl/7.88.1', { bot: true }],
    ['python-requests/2.31.0', { bot: true }],
    ['', { app: 'unknown', device: 'unknown', os: 'unknown', bot: false }],
    ['TotallyNewClient/1.0', { app: 'unknown', bot: false }],
  ];
  for (const [ua, want] of table) {
    it(`classifies ${JSON.stringify(ua).slice(0, 70)}`, () => {
      expect(classifyUserAgent(ua)).toMatchObject(want);
    });
  }

  it('recognises every bot example of the data as a bot, or as the IAB paired Apple Watch duplicate', () => {
    // OPAWG files the paired-watch agents under bots; the IAB's rule 1.2.7 names them
    // duplicates, and measurement's reason must say `apple-watch` (never counted either way).
    const watch = examples('bots').filter((ua) => classifyUserAgent(ua).watchDuplicate);
    expect(watch.length).toBeGreaterThan(0);
    for (const ua of watch)
      expect(ua.startsWith('atc/') || ua.includes('(null)/(null) watchOS'), ua).toBe(true);
    const missed = examples('bots').filter(
      (ua) => !classifyUserAgent(ua).bot && !classifyUserAgent(ua).watchDuplicate,
    );
    expect(missed).toEqual([]);
  });

  it('names a client for every app, library and browser example of the data', () => {
    const unnamed = ['apps', 'libraries', 'browsers']
      .flatMap(examples)
      .filter((ua) => classifyUserAgent(ua).app === 'unknown');
    expect(unnamed).toEqual([]);
  });

  it('returns the same answer from the cache, and survives hostile headers quickly', () => {
    const ua = 'Podcasts/1410.53 CFNetwork/1111 Darwin/19.0.0';
    expect(classifyUserAgent(ua)).toBe(classifyUserAgent(ua));
    const hostile = [
      'a'.repeat(100_000),
      `${'Mozilla/5.0 ('.repeat(2000)}`,
      '\u0000\uffff\ud800',
      'Watch'.repeat(10_000),
      `${' '.repeat(50_000)}Brave`,
    ];
    for (const h of hostile) {
      const c = classifyUserAgent(h);
      expect(typeof c.app).toBe('string');
    }
    expect(classifyUserAgent(undefined)).toMatchObject({ app: 'unknown' });
  });
});
