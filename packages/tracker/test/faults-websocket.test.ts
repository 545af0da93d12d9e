import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { addressGroup } from '../src/server/ws-relay.ts';
import { type RunningTracker, runStandaloneTracker } from '../src/standalone.ts';

/**
 * Hostile WebSocket clients against the relay (issue 14): a hijacker announcing a victim's
 * peer id from another socket, answers to offers that were never made, floods of messages,
 * many idle sockets from one address, and sockets that never announce.
 */
interface Client {
  ws: WebSocket;
  inbox: Array<Record<string, unknown>>;
  send(m: unknown): void;
  /** The next message matching `pred`, waiting at most `ms`. */
  next(pred?: (m: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  /** Resolves when the socket closes. */
  closed: Promise<void>;
}

async function open(url: string): Promise<Client> {
  const ws = new WebSocket(url);
  const inbox: Array<Record<string, unknown>> = [];
  const listeners: Array<() => void> = [];
  ws.on('message', (d) => {
    inbox.push(JSON.parse(String(d)) as Record<string, unknown>);
    for (const l of listeners.splice(0)) l();
  });
  ws.on('error', () => {});
  const closed = new Promise<void>((r) => ws.once('close', () => r()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  return {
    ws,
    inbox,
    closed,
    send: (m) => ws.send(JSON.stringify(m)),
    async next(pred = () => true, ms = 10_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const i = inbox.findIndex(pred);
        if (i >= 0) return inbox.splice(i, 1)[0]!;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('no matching message');
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          listeners.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
  };
}

const bin = (b: Buffer) => b.toString('latin1');
const offer = (n: number) => ({ offer: { type: 'offer', sdp: `sdp-${n}` }, offer_id: bin(randomBytes(20)) });
const announce = (hash: Buffer, id: Buffer, extra: Record<string, unknown> = {}) => ({
  action: 'announce',
  info_hash: bin(hash),
  peer_id: bin(id),
  left: 0,
  event: 'started',
  numwant: 5,
  offers: [],
  ...extra,
});

describe('WebSocket relay against hostile clients', () => {
  let t: RunningTracker;
  let url: string;
  beforeAll(async () => {
    t = await runStandaloneTracker({
      port: 0,
      host: '127.0.0.1',
      rateLimit: null,
      ws: { maxSocketsPerAddress: 8, pingIntervalMs: 1500 },
    });
    url = `ws://127.0.0.1:${t.port}/announce`;
  });
  afterAll(async () => {
    await t?.close();
  });

  it("another socket announcing the victim's peer id is refused: the victim keeps its offers and its place", async () => {
    const hash = randomBytes(20);
    const victimId = Buffer.from('-WW0208-victimvictim');
    const victim = await open(url);
    victim.send(announce(hash, victimId));
    await victim.next((m) => m.action === 'announce');
    const hijacker = await open(url);
    hijacker.send(announce(hash, victimId));
    const refusal = await hijacker.next();
    expect(refusal['failure reason']).toContain('another connection');
    // An offer for the swarm still reaches the victim, not the hijacker.
    const other = await open(url);
    other.send(announce(hash, Buffer.from('-WW0208-otherother00'), { offers: [offer(1)], numwant: 1 }));
    await victim.next((m) => m.offer !== undefined);
    // The hijacker hanging up does not remove the victim from the swarm.
    hijacker.ws.close();
    await hijacker.closed;
    const probe = await open(url);
    probe.send(announce(hash, Buffer.from('-WW0208-probeprobe00'), { numwant: 10 }));
    const reply = await probe.next((m) => m.action === 'announce');
    expect(reply.complete).toBeGreaterThanOrEqual(2); // victim and other are still seeders
    expect(hijacker.inbox.filter((m) => m.offer !== undefined)).toEqual([]);
    console.log(
      `[fault ws-hijack] hijack announces sent 1, refused ${t.tracker.ws.stats.refusedPeerIdTaken}; victim kept its offers and its place`,
    );
    for (const c of [victim, other, probe]) c.ws.close();
  });

  it('answers to offers never delivered are dropped, and a real answer is relayed once', async () => {
    const hash = randomBytes(20);
    const aId = Buffer.from('-WW0208-aaaaaaaaaaaa');
    const bId = Buffer.from('-WW0208-bbbbbbbbbbbb');
    const a = await open(url);
    a.send(announce(hash, aId));
    await a.next((m) => m.action === 'announce');
    const b = await open(url);
    const o = offer(7);
    b.send(announce(hash, bId, { offers: [o], numwant: 1 }));
    const delivered = await a.next((m) => m.offer !== undefined);
    expect(delivered.offer_id).toBe(o.offer_id);
    const before = t.tracker.ws.stats.droppedAnswers;
    // 40 answers to made-up offers, each with a 32 KiB SDP: none reaches b.
    const big = 'x'.repeat(32 * 1024);
    for (let i = 0; i < 40; i++) {
      a.send({
        action: 'announce',
        info_hash: bin(hash),
        peer_id: bin(aId),
        to_peer_id: bin(bId),
        answer: { type: 'answer', sdp: big },
        offer_id: bin(randomBytes(20)),
      });
    }
    // The real answer, twice: relayed once.
    for (let i = 0; i < 2; i++) {
      a.send({
        action: 'announce',
        info_hash: bin(hash),
        peer_id: bin(aId),
        to_peer_id: bin(bId),
        answer: { type: 'answer', sdp: 'real' },
        offer_id: o.offer_id,
      });
    }
    const answer = await b.next((m) => m.answer !== undefined);
    expect((answer.answer as { sdp: string }).sdp).toBe('real');
    // Wait until the relay has judged all 42 (the counter is the event), then check b got one.
    const deadline = Date.now() + 20_000;
    while (t.tracker.ws.stats.droppedAnswers - before < 41 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const dropped = t.tracker.ws.stats.droppedAnswers - before;
    expect(dropped).toBe(41);
    expect(b.inbox.filter((m) => m.answer !== undefined)).toEqual([]);
    console.log(
      `[fault ws-answers] answers sent 42 (1 genuine, 1 repeat, 40 forged x 32 KiB), relayed 1, dropped ${dropped}`,
    );
    a.ws.close();
    b.ws.close();
  });

  it('a flood of messages from one socket is cut to its rate', async () => {
    const c = await open(url);
    const before = t.tracker.ws.stats.droppedRate;
    const hash = randomBytes(20);
    const id = Buffer.from('-WW0208-floodflood00');
    for (let i = 0; i < 500; i++) c.send({ action: 'scrape', info_hash: bin(hash) });
    c.send(announce(hash, id));
    const deadline = Date.now() + 20_000;
    while (t.tracker.ws.stats.droppedRate - before < 400 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const dropped = t.tracker.ws.stats.droppedRate - before;
    console.log(`[fault ws-flood] messages sent 501, dropped over the rate ${dropped}`);
    expect(dropped).toBeGreaterThanOrEqual(400);
    c.ws.close();
  });

  it('caps sockets per address and closes sockets that never announce', async () => {
    const idle: Client[] = [];
    let refused = 0;
    for (let i = 0; i < 12; i++) {
      try {
        idle.push(await open(url));
      } catch (err) {
        expect(String(err)).toContain('429');
        refused++;
      }
    }
    expect(idle.length).toBeLessThanOrEqual(8);
    expect(refused).toBeGreaterThanOrEqual(4);
    // None of them announces: each is closed within two ping periods.
    await Promise.all(idle.map((c) => c.closed));
    console.log(
      `[fault ws-idle] sockets opened 12 from one address, refused ${refused}, idle ones closed ${idle.length}`,
    );
    // The address can connect again afterwards.
    const again = await open(url);
    again.ws.close();
  }, 30_000);

  it('groups IPv6 addresses by /64 for the per-address cap', () => {
    expect(addressGroup('2001:db8:1:2:aaaa::1')).toBe(addressGroup('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
    expect(addressGroup('2001:db8:1:2::1')).not.toBe(addressGroup('2001:db8:1:3::1'));
    expect(addressGroup('192.0.2.7')).toBe('192.0.2.7');
  });
});
