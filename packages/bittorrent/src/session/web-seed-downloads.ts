import type { Result } from '../errors.ts';
import { type CodedError, codedError } from '../transport.ts';
import { type WebSeedMode, type WebSeedView, webSeedRuns } from './web-seed-policy.ts';

/** Whole pieces over HTTP: a BEP 19 web seed (`WebSeed` fits), or anything else with ranges. */
export interface PieceSource {
  readonly url: string;
  fetchPiece(index: number, signal?: AbortSignal): Promise<Result<Uint8Array>>;
}

/** What the web seed downloads need from their session. */
export interface WebSeedHost {
  /** The piece state the policy reads (`Downloader.webSeedView`). */
  readonly view: WebSeedView;
  /** Holds the piece for a web seed fetch (no peer is asked for it); false when peers are on it. */
  reserve(piece: number): boolean;
  release(piece: number): void;
  /**
   * Which pieces web seeds may take now: `any`, only those no connected peer has (`missing`),
   * or `none` (peers are being tried first).
   */
  mode(): WebSeedMode;
  /** Verifies and stores a piece; resolves true when it verified. */
  complete(index: number, data: Uint8Array): Promise<boolean>;
  warning(error: CodedError): void;
  now(): number;
  later(fn: () => void, ms: number): void;
  readonly signal: AbortSignal;
}

export interface WebSeedDownloadOptions {
  /** Pieces fetched at once from one web seed (default 4). */
  readonly perSource?: number;
  /** First wait after a failed request; doubles per failure up to 60 s (default 2 s). */
  readonly retryMs?: number;
}

interface SourceState {
  readonly source: PieceSource;
  inFlight: number;
  failures: number;
  retryAt: number;
  disabled: boolean;
  /** Pieces this web seed answered with an error status, not asked again before the time. */
  readonly avoid: Map<number, number>;
  /** Codes already reported, so a missing file does not warn once per piece. */
  readonly warned: Set<string>;
}

/** Failures that concern the piece asked (a file missing on this server), not the server. */
const PIECE_FAILURES = new Set(['BT_WEBSEED_HTTP_STATUS', 'BT_WEBSEED_SHORT']);

const MAX_RETRY_MS = 60_000;

/**
 * Fetches pieces from web seeds for the session. A web seed is a certain source but the one we
 * want to offload (an origin server), so the session gives peers a head start and then lets it
 * take only the pieces no connected peer has (or every piece while no peer serves us),
 * deadline pieces first, and only untouched ones: which pieces is `webSeedRuns`, the policy
 * the player's web seed uses too. A piece is reserved in the picker while its HTTP request
 * runs, so no peer is asked for it meanwhile.
 * A web seed whose piece fails its hash is dropped: it sent the whole piece, the blame is
 * certain.
 */
export class WebSeedDownloads {
  private readonly sources: SourceState[];
  private readonly perSource: number;
  private readonly retryMs: number;
  private cursor = 0;
  bytes = 0;

  constructor(
    sources: readonly PieceSource[],
    private readonly host: WebSeedHost,
    options: WebSeedDownloadOptions = {},
  ) {
    this.sources = sources.map((source) => ({
      source,
      inFlight: 0,
      failures: 0,
      retryAt: 0,
      disabled: false,
      avoid: new Map(),
      warned: new Set(),
    }));
    this.perSource = options.perSource ?? 4;
    this.retryMs = options.retryMs ?? 2_000;
  }

  /** Web seeds still in use. */
  get active(): number {
    return this.sources.filter((s) => !s.disabled).length;
  }

  /** Starts fetches where a web seed has a free slot; call on every tick and piece. */
  pump(): void {
    if (this.host.signal.aborted) return;
    const now = this.host.now();
    for (const s of this.sources) {
      if (s.disabled || now < s.retryAt) continue;
      // Nothing left for this seed (every remaining piece taken, or set aside after it failed
      // them) says nothing about the next seed: move on to it, never out of the loop.
      while (s.inFlight < this.perSource) {
        const piece = this.pick(s, now);
        if (piece === undefined || !this.fetch(s, piece)) break;
      }
    }
  }

  private pick(s: SourceState, now: number): number | undefined {
    const view = this.host.view;
    const [run] = webSeedRuns(view, {
      mode: this.host.mode(),
      max: 1,
      // Rotate the start so two web seeds (and restarts after failures) spread over the torrent.
      start: this.cursor,
      skip: (p) => (s.avoid.get(p) ?? 0) > now,
    });
    if (!run) return undefined;
    if (!view.deadlinePieces().includes(run.first)) this.cursor = (run.first + 1) % view.pieceCount;
    return run.first;
  }

  private fetch(s: SourceState, piece: number): boolean {
    if (!this.host.reserve(piece)) return false;
    const release = () => this.host.release(piece);
    s.inFlight++;
    void s.source
      .fetchPiece(piece, this.host.signal)
      .then(async (r) => {
        if (this.host.signal.aborted) return;
        if (!r.ok) {
          release();
          const now = this.host.now();
          if (!s.warned.has(r.error.code)) {
            s.warned.add(r.error.code);
            this.host.warning(codedError(r.error.code, `web seed ${s.source.url}: ${r.error.message}`));
          }
          // The piece goes back to the pool at once (released above) for the other seeds and
          // peers. The failing seed is backed off as a whole, doubling per failure in a row:
          // a server missing the file answers 404 to every piece, and asking it each piece
          // in turn (once 578 requests for 512 pieces) only delays the pieces it holds.
          if (PIECE_FAILURES.has(r.error.code)) s.avoid.set(piece, now + MAX_RETRY_MS);
          s.failures++;
          s.retryAt = now + Math.min(MAX_RETRY_MS, this.retryMs * 2 ** (s.failures - 1));
          this.host.later(() => this.pump(), s.retryAt - now);
          return;
        }
        s.failures = 0;
        this.bytes += r.value.length;
        const verified = await this.host.complete(piece, r.value);
        release();
        if (!verified && !s.disabled) {
          s.disabled = true;
          this.host.warning(
            codedError(
              'BT_WEBSEED_BAD_DATA',
              `web seed ${s.source.url} sent piece ${piece} with a wrong hash; dropped`,
            ),
          );
        }
      })
      .finally(() => {
        s.inFlight--;
        this.pump();
      });
    return true;
  }
}
