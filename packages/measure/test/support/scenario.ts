import type { AudienceKey, ClientClass, StreamEvent } from '@swarmcast/platform';
import type { EpisodeMedia } from '../../src/rules/episode-media.ts';
import { announce, dl, range } from './facts.ts';
import { adEvent, crawler, human, playEvent, token } from './world.ts';

/**
 * One realistic day for one show, as stream events: seven listeners download and play
 * episode 1 (by HTTP, ranges, or BitTorrent), two fetch the short episode 2, bots and
 * data centres and probes hit the origin, six listeners hear a pre-roll (five to the end),
 * and fraud arrives: a forged token, an expired one, a replay, a bot, a too-fast complete.
 * The expected figures are worked out by hand in the tests, not computed from the code.
 */
export const day = Date.UTC(2026, 11, 2); // Wednesday 2 December 2026
export const at = (h: number, m = 0, s = 0) => day + ((h * 60 + m) * 60 + s) * 1000;

export const episode1: EpisodeMedia & { title: string } = {
  episodeId: 'ep1',
  showId: 'show',
  creatorId: 'creator',
  title: 'Episode <1> & "friends"',
  path: 'show/ep1.mp3',
  infoHash: 'b'.repeat(40),
  fileSize: 6_000_000,
  headerBytes: 100_000,
  durationMs: 600_000,
};
export const episode2: EpisodeMedia & { title: string } = {
  episodeId: 'ep2',
  showId: 'show',
  creatorId: 'creator',
  title: 'Short',
  path: 'show/ep2.mp3',
  infoHash: null,
  fileSize: 500_000,
  headerBytes: 1_000,
  durationMs: 45_000,
};

const k = (i: number) => `listener-${i}` as AudienceKey;
const fact = <T extends { id: string; kind: string }>(f: T): StreamEvent<T> => ({
  id: f.id,
  subject: f.kind === 'download' ? 'fact.download' : 'fact.announce',
  data: f,
});
// A paired Apple Watch duplicate (`atc/1.0 watchOS/...`, IAB 1.2.7) as the edge classifies it.
const watch: ClientClass = {
  app: 'Apple Watch (paired)',
  device: 'watch',
  os: 'watchOS',
  bot: false,
  watchDuplicate: true,
};

export function scenarioEvents(): StreamEvent[] {
  const e1 = { path: episode1.path, fileSize: episode1.fileSize };
  const events: StreamEvent[] = [];
  // Listeners 1, 4, 5, 6, 7 fetch the whole file; listener 1 again an hour later (folded).
  for (const i of [1, 4, 5, 6, 7]) events.push(fact(dl({ ...e1, time: at(8, i), audienceKey: k(i) })));
  events.push(fact(dl({ ...e1, time: at(9, 1), audienceKey: k(1) })));
  // Listener 2 streams in ranges that overlap: 0-399999, 300000-599999, 600000-699999 -> 700,000 distinct bytes.
  events.push(fact(range(0, 1, at(8, 2), { ...e1, audienceKey: k(2) })));
  events.push(fact(range(0, 399_999, at(8, 2, 1), { ...e1, audienceKey: k(2) })));
  events.push(fact(range(300_000, 599_999, at(8, 3), { ...e1, audienceKey: k(2) })));
  events.push(fact(range(600_000, 699_999, at(8, 4), { ...e1, audienceKey: k(2) })));
  // Listener 3 uses BitTorrent: started, then completed.
  events.push(
    fact(
      announce({
        time: at(8, 3),
        audienceKey: k(3),
        infoHash: episode1.infoHash!,
        event: 'started',
        left: 6_000_000,
      }),
    ),
  );
  events.push(
    fact(
      announce({
        time: at(8, 30),
        audienceKey: k(3),
        infoHash: episode1.infoHash!,
        event: 'completed',
        left: 0,
      }),
    ),
  );
  // The node's own seeder announces too (a seeder, not a download).
  events.push(
    fact(
      announce({ time: at(7), audienceKey: k(99), infoHash: episode1.infoHash!, event: 'started', left: 0 }),
    ),
  );
  // Noise on the origin: 3 bots, 2 data-centre fetches, a HEAD, a 304, a probe, an Apple Watch duplicate.
  for (let i = 0; i < 3; i++)
    events.push(fact(dl({ ...e1, time: at(10, i), audienceKey: k(50 + i), client: crawler })));
  for (let i = 0; i < 2; i++)
    events.push(fact(dl({ ...e1, time: at(10, 5 + i), audienceKey: k(60 + i), datacenter: true })));
  events.push(
    fact(
      dl({
        ...e1,
        time: at(11),
        audienceKey: k(4),
        method: 'HEAD',
        bytesSent: 0,
        rangeStart: null,
        rangeEnd: null,
      }),
    ),
  );
  events.push(
    fact(
      dl({
        ...e1,
        time: at(11, 1),
        audienceKey: k(5),
        status: 304,
        bytesSent: 0,
        rangeStart: null,
        rangeEnd: null,
      }),
    ),
  );
  events.push(fact(range(0, 1, at(11, 2), { ...e1, audienceKey: k(6) })));
  events.push(fact(dl({ ...e1, time: at(11, 3), audienceKey: k(7), client: watch })));
  // Episode 2 (45 s: the whole file is the threshold): listener 1 whole, listener 2 short of the end.
  const e2 = { path: episode2.path, fileSize: episode2.fileSize };
  events.push(fact(dl({ ...e2, time: at(12), audienceKey: k(1) })));
  events.push(fact(range(0, 499_998, at(12), { ...e2, audienceKey: k(2) })));
  events.push(fact(dl({ ...e2, time: at(12, 5), audienceKey: k(3) })));

  // Plays of episode 1: listener i (1-6) reaches i x 100 s (6 completes) with i x 600 kB from
  // peers and 200 kB from the web seed; listener 10, who never fetched anything (so the play
  // is not corroborated), stops at 50 s with 300 kB from the web seed.
  for (const i of [1, 2, 3, 4, 5, 6, 10]) {
    const start = at(13, i * 2);
    const sessionId = `play-${i}`;
    const reach = i === 10 ? 50_000 : i * 100_000;
    events.push(playEvent({ sessionId }, start, { audienceKey: k(i) }));
    events.push(
      playEvent(
        {
          sessionId,
          seq: 1,
          event: i === 6 ? 'complete' : 'stop',
          positionMs: reach,
          listenedMs: reach,
          bytesFromPeers: i === 10 ? 0 : i * 600_000,
          bytesFromWebSeed: i === 10 ? 300_000 : 200_000,
        },
        start + reach,
        { audienceKey: k(i) },
      ),
    );
  }
  // A crawler play and a ten-minutes-in-ten-seconds play: kept, not counted.
  events.push(playEvent({ sessionId: 'bot-play' }, at(14), { audienceKey: k(50), client: crawler }));
  events.push(playEvent({ sessionId: 'fast' }, at(14), { audienceKey: k(7) }));
  events.push(
    playEvent(
      { sessionId: 'fast', seq: 1, event: 'complete', positionMs: 600_000, listenedMs: 600_000 },
      at(14, 0, 10),
      {
        audienceKey: k(7),
      },
    ),
  );

  // Pre-roll decisions (30 s, CPM 25 units) for listeners 1-6.
  const full = ['impression', 'start', 'firstQuartile', 'midpoint', 'thirdQuartile', 'complete'] as const;
  const offsets = [0, 0, 7_500, 15_000, 22_500, 30_000];
  for (let i = 1; i <= 6; i++) {
    const tok = token({ decisionId: `d${i}`, listenerId: `lid-${i}`, breakId: 'ep1-pre', episodeId: 'ep1' });
    const start = at(13, i * 2);
    const sequence = i === 6 ? full.slice(0, 2) : full; // listener 6 leaves after start
    sequence.forEach((ev, j) => {
      events.push(adEvent(ev, tok, start + offsets[j]!, { audienceKey: k(i) }));
    });
    if (i === 1) {
      events.push(adEvent('click', tok, start + 31_000, { audienceKey: k(1) }));
      events.push(adEvent('impression', tok, start + 40_000, { audienceKey: k(1) })); // replay
    }
  }
  // Fraud: a forged token, an expired token, a bot, a too-fast complete (charged, then refunded).
  const good = token({ decisionId: 'd-forged' });
  const [body, sig] = good.split('.') as [string, string];
  const edited = { ...JSON.parse(Buffer.from(body, 'base64url').toString()), cpmMicros: 1 };
  events.push(
    adEvent('impression', `${Buffer.from(JSON.stringify(edited)).toString('base64url')}.${sig}`, at(15), {
      audienceKey: k(8),
    }),
  );
  events.push(
    adEvent('impression', token({ decisionId: 'd-expired', expiresAt: at(14) }), at(15), {
      audienceKey: k(8),
    }),
  );
  events.push(
    adEvent('impression', token({ decisionId: 'd-bot' }), at(15), { audienceKey: k(50), client: crawler }),
  );
  const fast = token({ decisionId: 'd-fast', listenerId: 'lid-9' });
  events.push(adEvent('impression', fast, at(16), { audienceKey: k(9) }));
  events.push(adEvent('start', fast, at(16), { audienceKey: k(9) }));
  events.push(adEvent('complete', fast, at(16, 0, 5), { audienceKey: k(9) }));

  // The ad server saw 8 pre-roll opportunities on episode 1 and filled 7 of them.
  events.push({
    id: 'opp-1',
    subject: 'ads.opportunity',
    data: {
      kind: 'opportunity',
      id: 'opp-1',
      time: at(13),
      episodeId: 'ep1',
      breakId: 'ep1-pre',
      slots: 8,
      filled: 7,
    },
  });
  return events;
}

export { human };
