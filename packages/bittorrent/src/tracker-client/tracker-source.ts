import type { PeerSource, PeerSourceHandler, TransferStats } from '../discovery/peer-source.ts';
import type { Timers } from '../timers.ts';
import type { AnnounceEvent, Announcer } from './types.ts';

/** How a tracker source paces itself. */
export interface TrackerSourceOptions {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly port: number;
  readonly stats: () => TransferStats;
  readonly timers: Timers;
  readonly numwant?: number;
  readonly key?: number;
  /** Floor and ceiling on the tracker's interval, in ms (default 60 s .. 30 min). */
  readonly minIntervalMs?: number;
  readonly maxIntervalMs?: number;
  /** First retry delay after a failure; doubles per failure up to maxIntervalMs (default 15 s). */
  readonly retryMs?: number;
  /** How long a final `stopped` announce may take (default 5 s). */
  readonly stopTimeoutMs?: number;
}

/**
 * Next wait after an announce: the tracker's interval (and min interval) within our bounds,
 * or after `failures` consecutive failures an exponential back-off. Pure.
 */
export function nextAnnounceDelay(
  reply: { interval: number; minInterval?: number } | null,
  failures: number,
  o: { minIntervalMs: number; maxIntervalMs: number; retryMs: number },
): number {
  if (!reply) return Math.min(o.maxIntervalMs, o.retryMs * 2 ** Math.max(0, failures - 1));
  const wanted = Math.max(reply.interval, reply.minInterval ?? 0) * 1000;
  return Math.min(o.maxIntervalMs, Math.max(o.minIntervalMs, wanted));
}

/** A tracker (any Announcer) as a PeerSource: started, periodic re-announce, completed, stopped. */
export class TrackerPeerSource implements PeerSource {
  readonly name: string;
  private wake: (() => void) | null = null;
  private pendingEvent: AnnounceEvent | undefined = 'started';

  constructor(
    private readonly announcer: Announcer,
    private readonly o: TrackerSourceOptions,
  ) {
    this.name = `tracker ${announcer.url}`;
  }

  completed(): void {
    this.pendingEvent = 'completed';
    this.wake?.();
  }

  private params(event: AnnounceEvent | undefined, trackerId: string | undefined) {
    return {
      infoHash: this.o.infoHash,
      peerId: this.o.peerId,
      port: this.o.port,
      ...this.o.stats(),
      ...(event ? { event } : {}),
      numwant: event === 'stopped' ? 0 : (this.o.numwant ?? 50),
      ...(this.o.key !== undefined ? { key: this.o.key } : {}),
      ...(trackerId !== undefined ? { trackerId } : {}),
    };
  }

  async run(handler: PeerSourceHandler, signal: AbortSignal): Promise<void> {
    const bounds = {
      minIntervalMs: this.o.minIntervalMs ?? 60_000,
      maxIntervalMs: this.o.maxIntervalMs ?? 30 * 60_000,
      retryMs: this.o.retryMs ?? 15_000,
    };
    let failures = 0;
    let trackerId: string | undefined;
    let announcedOnce = false;
    while (!signal.aborted) {
      const event = this.pendingEvent;
      const r = await this.announcer.announce(this.params(event, trackerId), signal);
      if (signal.aborted) break;
      let delay: number;
      if (r.ok) {
        announcedOnce = true;
        failures = 0;
        if (this.pendingEvent === event) this.pendingEvent = undefined;
        trackerId = r.value.trackerId ?? trackerId;
        if (r.value.warning) handler.warning?.({ code: 'BT_TRACKER_WARNING', message: r.value.warning });
        if (r.value.peers.length > 0) handler.peers(r.value.peers);
        // completed() arrived while this announce was in flight: send it now
        delay = this.pendingEvent === 'completed' ? 0 : nextAnnounceDelay(r.value, 0, bounds);
      } else {
        failures++;
        handler.warning?.(r.error);
        delay = nextAnnounceDelay(null, failures, bounds);
      }
      await this.sleep(delay, signal);
    }
    if (announcedOnce) {
      // best effort: a tracker that is down must not hold up shutdown
      const stop = AbortSignal.timeout(this.o.stopTimeoutMs ?? 5000);
      await this.announcer.announce(this.params('stopped', trackerId), stop).catch(() => undefined);
    }
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        timer.cancel();
        signal.removeEventListener('abort', done);
        this.wake = null;
        resolve();
      };
      const timer = this.o.timers.setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }
}
