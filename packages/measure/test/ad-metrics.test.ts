import { describe, expect, it } from 'vitest';
import { type AdEventRow, adDelivery, fillRates } from '../src/rules/ad-metrics.ts';
import { key } from './support/facts.ts';

let n = 0;
const row = (over: Partial<AdEventRow>): AdEventRow => ({
  eventId: `e${n++}`,
  decisionId: 'd1',
  event: 'impression',
  reason: null,
  receivedAt: 0,
  audienceKey: key('k1'),
  listenerId: null,
  campaignId: 'c',
  lineItemId: 'li',
  adId: 'ad',
  breakId: 'b1',
  episodeId: 'ep1',
  decisionInvalid: false,
  ...over,
});

describe('ad delivery', () => {
  const rows = [
    row({ decisionId: 'd1' }),
    row({ decisionId: 'd1', event: 'start' }),
    row({ decisionId: 'd1', event: 'complete' }),
    row({ decisionId: 'd1', event: 'click' }),
    row({ decisionId: 'd1', reason: 'duplicate' }),
    row({ decisionId: 'd2' }),
    row({ decisionId: 'd2', event: 'firstQuartile' }),
    row({ decisionId: 'd3', audienceKey: key('k2') }),
    row({ decisionId: 'd4', reason: 'bot', audienceKey: key('k3') }),
    row({ decisionId: 'd5', decisionInvalid: true }),
  ];
  it('impressions once per decision, quartiles, completion rate, clicks, reach and frequency, IVT share', () => {
    expect(adDelivery(rows)).toEqual({
      impressions: 3,
      starts: 1,
      firstQuartile: 1,
      midpoint: 0,
      thirdQuartile: 0,
      complete: 1,
      completionRate: 1 / 3,
      clicks: 1,
      reach: 2,
      frequency: 1.5,
      invalidByReason: { duplicate: 1, bot: 1, 'decision-invalid': 1 },
      ivtShare: 0.3,
    });
  });
  it('fill rate per break', () => {
    const f = fillRates(
      [
        { breakId: 'b1', episodeId: 'ep1', slots: 4, filled: 3 },
        { breakId: 'b2', episodeId: 'ep1', slots: 2, filled: 0 },
      ],
      rows,
    );
    expect(f).toEqual([
      { breakId: 'b1', slots: 4, filled: 3, fillRate: 0.75, deliveredRate: 0.75 },
      { breakId: 'b2', slots: 2, filled: 0, fillRate: 0, deliveredRate: 0 },
    ]);
  });
});
