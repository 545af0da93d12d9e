import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { limitDecisions } from '../src/decision-limit.ts';

/** Anonymous decision floods (issue 14): per address (IPv6 per /64), before any decision. */
describe('ad decision rate limit', () => {
  it('answers 429 with a code past the burst, per address and per IPv6 /64, and leaves other paths alone', async () => {
    const app = Fastify();
    let decided = 0;
    limitDecisions(app, { perSecond: 0.001, burst: 5 });
    app.get('/ads/vast', async () => {
      decided++;
      return 'vast';
    });
    app.get('/ads/keys', async () => 'keys');
    const get = (url: string, remoteAddress: string) => app.inject({ method: 'GET', url, remoteAddress });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await get('/ads/vast?episode=x', '192.0.2.1')).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(decided).toBe(5);
    const refused = await get('/ads/vast', '192.0.2.1');
    expect(refused.json()).toMatchObject({ error: { code: 'ADS_RATE_LIMITED' } });
    expect(refused.headers['retry-after']).toBe('10');
    expect((await get('/ads/vast', '192.0.2.2')).statusCode).toBe(200);
    expect((await get('/ads/keys', '192.0.2.1')).statusCode).toBe(200);
    for (let i = 0; i < 5; i++)
      expect((await get('/ads/vast', `2001:db8:0:1::${i + 1}`)).statusCode).toBe(200);
    expect((await get('/ads/vast', '2001:db8:0:1:ffff::9')).statusCode).toBe(429);
    expect((await get('/ads/vast', '2001:db8:0:2::1')).statusCode).toBe(200);
    console.log('[fault ad-flood] decisions asked 8 from one address: 5 made, 3 refused before deciding');
    await app.close();
  });
});
