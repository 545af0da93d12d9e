import type { PeerSource, PeerSourceHandler } from './peer-source.ts';

/**
 * One running PeerSource handed from one owner to the next: a magnet's trackers find peers
 * for the metadata fetch, then keep running for the session. Restarting them instead would
 * send `stopped` then `started`, and a late `stopped` can remove us from the tracker.
 */
export class RelayedSource implements PeerSource {
  readonly name: string;
  private handler: PeerSourceHandler;
  private readonly stop = new AbortController();
  private readonly running: Promise<void>;

  constructor(
    private readonly inner: PeerSource,
    first: PeerSourceHandler,
  ) {
    this.name = inner.name;
    this.handler = first;
    this.running = inner.run(
      {
        peers: (found) => this.handler.peers(found),
        warning: (e) => this.handler.warning?.(e),
      },
      this.stop.signal,
    );
  }

  /** Takes the source over: its addresses now go to `handler`, and `signal` ends it. */
  run(handler: PeerSourceHandler, signal: AbortSignal): Promise<void> {
    this.handler = handler;
    if (signal.aborted) this.stop.abort();
    else signal.addEventListener('abort', () => this.stop.abort(), { once: true });
    return this.running;
  }

  completed(): void {
    this.inner.completed?.();
  }

  /** Ends the source when nobody takes it over (the metadata fetch failed). */
  close(): Promise<void> {
    this.stop.abort();
    return this.running;
  }
}
