/**
 * The delivery a report shows when the ad server runs N times. Each process's store holds
 * only its own decisions and the measured deliveries its feedback consumer received (the
 * consumer group gives each event to one process), so a report from memory showed part of the
 * delivery, a different part in every process. These figures come from what every process
 * shares instead:
 * - measured impressions and spend, per hour and in total, from `ads_measured` (every
 *   consumer records each event there once, in the transaction that applies it);
 * - decisions from `ads_delivery_hourly` (the hours every process flushed) plus this process's
 *   own not yet flushed: each process adds its decisions to the stored hours every 2 s
 *   (`decisionFlushMs` of the ads plugin), so another process's latest show within that;
 * - open reservations from the shared counters in Redis (`SharedDelivery.reserved`); without
 *   them there is one process, whose store has them all.
 * Nothing here runs on a decision's path.
 */
import type { Queryable } from '@swarmcast/platform';
import type { LineItemDelivery } from './model.ts';
import type { DeliveryFigures } from './report.ts';
import type { SharedDelivery } from './shared-delivery.ts';
import type { AdsStore, HourDelivery } from './store.ts';

type Hours = Map<string, Map<number, HourDelivery>>;

function add(
  to: Hours,
  lineItemId: string,
  hour: number,
  impressions: number,
  spendMilliMicros: number,
): void {
  let hours = to.get(lineItemId);
  if (!hours) {
    hours = new Map();
    to.set(lineItemId, hours);
  }
  const d = hours.get(hour) ?? { impressions: 0, spendMilliMicros: 0 };
  d.impressions += impressions;
  d.spendMilliMicros += spendMilliMicros;
  hours.set(hour, d);
}

/** The figures of `lineItemIds` (known to `store`) as every process shares them. */
export async function sharedFigures(
  db: Queryable,
  store: AdsStore,
  lineItemIds: readonly string[],
  now: number,
  shared?: SharedDelivery,
): Promise<DeliveryFigures> {
  const ids = [...lineItemIds];
  const decisions: Hours = new Map();
  const measuredHours: Hours = new Map();
  const measured = new Map<string, LineItemDelivery>();
  type Row = { line_item_id: string; hour: string | number; n: string | number; s: string | number };
  // The stored hours and this process's unwritten deltas, read in one turn with its flushes.
  await store.hourlyTurn(async () => {
    const stored = await db.query<Row>(
      `SELECT line_item_id, hour, impressions AS n, spend_milli_micros AS s FROM ads_delivery_hourly
        WHERE line_item_id = ANY($1::text[])`,
      [ids],
    );
    for (const r of stored.rows) add(decisions, r.line_item_id, Number(r.hour), Number(r.n), Number(r.s));
    const wanted = new Set(ids);
    for (const d of store.unwrittenHourly())
      if (wanted.has(d.lineItemId)) add(decisions, d.lineItemId, d.hour, d.impressions, d.spendMilliMicros);
  });
  // Spend as the store counts it: charged micros x 1000, a refund taking one back.
  const rows = await db.query<Row>(
    `SELECT line_item_id, time / 3600000 AS hour,
            sum(CASE WHEN kind = 'delivered' THEN 1 ELSE -1 END) AS n,
            sum(CASE WHEN kind = 'delivered' THEN charged_micros ELSE -charged_micros END) * 1000 AS s
       FROM ads_measured WHERE line_item_id = ANY($1::text[]) GROUP BY 1, 2`,
    [ids],
  );
  for (const r of rows.rows) {
    const n = Number(r.n);
    const s = Number(r.s);
    add(measuredHours, r.line_item_id, Number(r.hour), n, s);
    const t = measured.get(r.line_item_id) ?? { impressions: 0, spendMilliMicros: 0 };
    t.impressions += n;
    t.spendMilliMicros += s;
    measured.set(r.line_item_id, t);
  }
  const reserved = new Map<string, LineItemDelivery>();
  if (shared) {
    const items = ids.map((id) => store.lineItems.get(id)).filter((li) => li !== undefined);
    const open = await shared.reserved(items, now);
    for (const [i, li] of items.entries()) reserved.set(li.id, open[i]!);
  }
  const none = { impressions: 0, spendMilliMicros: 0 };
  return {
    measuredOf: (id) => measured.get(id) ?? none,
    reservedOf: (id) => (shared ? (reserved.get(id) ?? none) : store.reservedOf(id)),
    hourlyOf: (id) => decisions.get(id) ?? new Map(),
    measuredHourlyOf: (id) => measuredHours.get(id) ?? new Map(),
  };
}
