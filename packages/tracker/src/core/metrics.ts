/**
 * Counters for `/metrics`, in the Prometheus text exposition format (version 0.0.4).
 * Plain integers in a Map: incrementing costs a property write on the announce path.
 */
import type { StoreStats } from '../store/swarm-store.ts';
import type { Transport } from '../types.ts';

export class TrackerMetrics {
  readonly announces: Record<Transport, number> = { http: 0, udp: 0, ws: 0 };
  readonly scrapes: Record<Transport, number> = { http: 0, udp: 0, ws: 0 };
  readonly udpConnects = { count: 0 };
  readonly errors = new Map<string, number>();
  readonly facts = { published: 0, dropped: 0, failedBatches: 0 };
  readonly relays = { offers: 0, answers: 0 };

  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  render(store: StoreStats, wsSockets: number): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: Array<[string, number]>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    const byTransport = (r: Record<Transport, number>) =>
      (Object.keys(r) as Transport[]).map((t) => [`{transport="${t}"}`, r[t]] as [string, number]);
    metric(
      'swarmcast_tracker_announces_total',
      'counter',
      'Announces answered.',
      byTransport(this.announces),
    );
    metric('swarmcast_tracker_scrapes_total', 'counter', 'Scrapes answered.', byTransport(this.scrapes));
    metric('swarmcast_tracker_udp_connects_total', 'counter', 'UDP connect requests answered.', [
      ['', this.udpConnects.count],
    ]);
    metric(
      'swarmcast_tracker_errors_total',
      'counter',
      'Requests refused, by error code.',
      [...this.errors].map(([code, n]) => [`{code="${code}"}`, n]),
    );
    metric('swarmcast_tracker_facts_published_total', 'counter', 'Announce facts made durable.', [
      ['', this.facts.published],
    ]);
    metric(
      'swarmcast_tracker_facts_dropped_total',
      'counter',
      'Announce facts dropped (stream backlog full).',
      [['', this.facts.dropped]],
    );
    metric(
      'swarmcast_tracker_facts_failed_batches_total',
      'counter',
      'Fact batches the stream refused (retried).',
      [['', this.facts.failedBatches]],
    );
    metric('swarmcast_tracker_webrtc_relays_total', 'counter', 'WebRTC offers and answers relayed.', [
      ['{kind="offer"}', this.relays.offers],
      ['{kind="answer"}', this.relays.answers],
    ]);
    metric('swarmcast_tracker_torrents', 'gauge', 'Swarms with at least one peer.', [['', store.torrents]]);
    metric('swarmcast_tracker_peers', 'gauge', 'Peers in all swarms.', [['', store.peers]]);
    metric('swarmcast_tracker_websockets', 'gauge', 'Open WebSocket connections.', [['', wsSockets]]);
    return `${lines.join('\n')}\n`;
  }
}
