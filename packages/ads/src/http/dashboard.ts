/**
 * Server-rendered dashboard pages: campaigns with spend and pacing, one campaign's delivery
 * per day against plan, and creatives waiting for approval. Every value is escaped. Each
 * page shows only what the logged-in advertiser owns (everything to an admin); without a
 * session the page is a 401 pointing to the log-in page.
 */
import { formatMoney, type Viewer } from '@swarmcast/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { adsErrors } from '../errors.ts';
import type { LineItem } from '../model.ts';
import { campaignReport } from '../report.ts';
import { admit } from './access.ts';
import { scopeOf } from './advertiser-api.ts';
import type { AdsContext } from './context.ts';
import { buyForms } from './dashboard-forms.ts';
import { h, page } from './html.ts';

const money = (micros: number, cur: string) => formatMoney(micros, cur);

const periods: Record<number, string> = { 3600000: 'hour', 86400000: 'day', 604800000: 'week' };
const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** A line item's targeting, cap and pacing in words, for its campaign page. */
export function describeLineItem(li: LineItem, showTitles: ReadonlyMap<string, string>): string {
  const t = li.targeting;
  const parts: string[] = [];
  const list = (label: string, v: readonly string[] | undefined) => {
    if (v && v.length > 0) parts.push(`${label}: ${v.join(', ')}`);
  };
  list(
    'Shows',
    t.showIds?.map((id) => showTitles.get(id) ?? id),
  );
  list('Categories', t.categories);
  list('Languages', t.languages);
  list(
    'Positions',
    t.positions?.map((p) => `${p}-roll`),
  );
  list('Countries', t.countries);
  list('Devices', t.devices);
  for (const d of t.dayParts ?? [])
    parts.push(
      `Day-part: ${d.days.map((x) => weekdays[x]).join(' ')} ${String(d.fromHour).padStart(2, '0')}:00–${String(d.toHour).padStart(2, '0')}:00 UTC`,
    );
  const targeting = parts.length > 0 ? parts.join('; ') : 'Everywhere';
  const caps = li.caps
    .map((c) => `at most ${c.max} per listener per ${periods[c.periodMs] ?? `${c.periodMs / 1000} s`}`)
    .join(', ');
  const flight =
    li.startsAt !== undefined || li.endsAt !== undefined
      ? `; flight ${li.startsAt !== undefined ? new Date(li.startsAt).toISOString().slice(0, 10) : '…'} – ${li.endsAt !== undefined ? new Date(li.endsAt).toISOString().slice(0, 10) : '…'}`
      : '';
  return `${targeting}. ${caps ? `Frequency cap: ${caps}. ` : ''}Pacing: ${li.pacing}${flight}.`;
}

const viewers = new WeakMap<FastifyRequest, Viewer | null>();
const viewerOf = (req: FastifyRequest) => ({ viewer: viewers.get(req) ?? null });

export function dashboardRoutes(app: FastifyInstance, ctx: AdsContext): void {
  const html = 'text/html; charset=utf-8';
  const onRequest = async (req: FastifyRequest, reply: FastifyReply) => {
    const viewer = await ctx.viewer(req);
    const ok = await admit(req, reply, ctx, (r, code) =>
      r
        .code(adsErrors[code].status)
        .type(html)
        .send(
          page(
            code === 'ADS_UNAUTHENTICATED' ? 'Log in' : 'Not an advertiser account',
            code === 'ADS_UNAUTHENTICATED'
              ? `<h1>Log in to see your campaigns</h1><p>The advertiser dashboard is for signed-in advertiser accounts.</p><p class="row"><a class="button" href="${h(ctx.loginUrl)}?next=${h(encodeURIComponent(req.url))}">Log in</a> <a class="button secondary" href="/signup">Create an advertiser account</a></p>`
              : '<h1>Not an advertiser account</h1><p>The advertiser dashboard is for advertiser and admin accounts. Create an advertiser account to buy ads.</p>',
            { viewer },
          ),
        ),
    );
    viewers.set(req, viewer);
    if (!ok) return reply;
  };

  app.get('/ads/dashboard', { onRequest }, async (req, reply) => {
    const now = ctx.clock.now();
    const scope = scopeOf(req, ctx);
    const campaigns = [...ctx.store.campaigns.values()].filter((c) => scope.campaign(c.id));
    const figures = await ctx.figures(campaigns.map((c) => c.id));
    const rows = campaigns
      .map((c) => {
        const r = campaignReport(ctx.store, c.id, now, figures)!;
        const statuses = [...new Set(r.lineItems.map((l) => l.pacing.status))].join(', ');
        const adv = ctx.store.advertisers.get(c.advertiserId)?.name ?? c.advertiserId;
        return `<tr><td><a href="/ads/dashboard/campaigns/${encodeURIComponent(c.id)}">${h(c.name)}</a></td><td>${h(adv)}</td><td>${h(flightText(c.startsAt, c.endsAt))}</td><td>${h(money(r.spendMicros, c.currency))} / ${h(money(c.totalBudgetMicros, c.currency))}</td><td>${h(statuses)}</td></tr>`;
      })
      .join('');
    const pending = [...ctx.store.creatives.values()].filter(
      (c) => c.approval === 'pending' && scope.creative(c.id),
    ).length;
    return reply
      .type(html)
      .send(
        page(
          'Ads',
          `<h1>Campaigns</h1><div class="table-wrap"><table><tr><th>Campaign</th><th>Advertiser</th><th>Flight</th><th>Measured spend / budget</th><th>Pacing</th></tr>${rows}</table></div><p><a href="/ads/dashboard/creatives">Creatives</a> (${pending} waiting for approval)</p>${buyForms(ctx.store, scope, await ctx.shows())}`,
          viewerOf(req),
        ),
      );
  });

  app.get('/ads/dashboard/campaigns/:id', { onRequest }, async (req, reply) => {
    const c = scopeOf(req, ctx).campaign((req.params as { id: string }).id);
    const r = c ? campaignReport(ctx.store, c.id, ctx.clock.now(), await ctx.figures([c.id])) : null;
    if (!r)
      return reply
        .code(404)
        .type(html)
        .send(
          page(
            'Not found',
            '<h1>No such campaign</h1><p><a href="/ads/dashboard">All campaigns</a></p>',
            viewerOf(req),
          ),
        );
    const showTitles = new Map((await ctx.shows()).map((s) => [s.id, s.title]));
    const items = r.lineItems
      .map((l) => {
        const days = l.days
          .map(
            (d) =>
              `<tr><td>${h(d.date)}</td><td>${h(d.delivered)}</td><td>${h(d.planned)}</td><td>${h(d.impressions)}</td><td>${h(money(d.spendMicros, r.currency))}</td><td>${h(d.decisions)}</td></tr>`,
          )
          .join('');
        const li = ctx.store.lineItems.get(l.id);
        return `<h2>${h(l.name)} <small>(${h(l.priority)}, goal ${h(l.goal.amount)} ${h(l.goal.kind)})</small></h2>${li ? `<p class="meta">${h(describeLineItem(li, showTitles))}</p>` : ''}<p class="${h(l.pacing.status)}">Pacing: ${h(l.pacing.status)}, delivered ${h(l.pacing.delivered)} of ${h(l.pacing.planned)} planned so far</p><p>Measured: ${h(l.impressions)} impressions, ${h(money(l.spendMicros, r.currency))}; ${h(l.decisions)} decisions (ads served; ${h(money(l.reservedMicros, r.currency))} held for those not yet measured).</p><div class="table-wrap"><table><tr><th>Day</th><th>Delivered</th><th>Planned</th><th>Impressions (measured)</th><th>Spend (measured)</th><th>Decisions</th></tr>${days}</table></div>`;
      })
      .join('');
    return reply.type(html).send(
      page(
        r.name,
        `<h1>${h(r.name)}</h1><p>Spend ${h(money(r.spendMicros, r.currency))} of ${h(money(r.totalBudgetMicros, r.currency))}${r.dailyBudgetMicros ? `, daily limit ${h(money(r.dailyBudgetMicros, r.currency))}` : ''}</p>
<p><a class="button secondary" href="/measure/advertiser/${encodeURIComponent(c?.advertiserId ?? '')}">Measured delivery report</a> <span class="meta">impressions counted from listeners' players, quartiles, reach, invalid traffic</span></p>${items}`,
        { ...viewerOf(req), crumbs: [['/ads/dashboard', 'Campaigns']] },
      ),
    );
  });

  app.get('/ads/dashboard/creatives', { onRequest }, async (req, reply) => {
    const scope = scopeOf(req, ctx);
    // Why a creative is left out of podcast-app downloads (DAI): it could not be prepared
    // for an episode's encoding. Listeners there get another ad or the clean file.
    const failures = ctx.stitchFailures?.() ?? [];
    const stitchNotes = (id: string) =>
      failures
        .filter((f) => f.creativeId === id)
        .slice(0, 5)
        .map(
          (f) =>
            `<p class="meta stitch-failure" style="margin:.3rem 0 0">Not inserted into podcast-app downloads (${h(f.profileKey)}): ${h(f.reason)}</p>`,
        )
        .join('');
    const badge = { approved: 'ok', pending: 'warn', rejected: 'danger' } as const;
    const rows = [...ctx.store.creatives.values()]
      .filter((c) => scope.creative(c.id))
      .map((c) => ctx.present(c))
      .map(
        (c) =>
          `<tr><td>${h(c.name)}<br><span class="meta">${h(ctx.store.advertisers.get(c.advertiserId)?.name ?? '')}</span></td><td>${h(c.mediaKind)}, ${h((c.durationMs / 1000).toFixed(1))} s<br><${c.mediaKind === 'video' ? 'video' : 'audio'} controls preload="none" src="${h(c.mediaUrl)}" aria-label="Play the creative ${h(c.name)}"></${c.mediaKind === 'video' ? 'video' : 'audio'}></td><td><span class="badge ${badge[c.approval]}">${h(c.approval)}</span>${c.approvalReason ? `<p class="meta" style="margin:.3rem 0 0">Reason: ${h(c.approvalReason)}</p>` : ''}${stitchNotes(c.id)}</td>${
            scope.isAdmin
              ? `<td><div style="display:grid;gap:.4rem"><label class="field">Reason <span class="meta">(sent to the advertiser; needed to reject)</span><input id="reason-${h(c.id)}" maxlength="500" value="${h(c.approvalReason ?? '')}"></label><div class="row"><button type="button" class="small" data-approve="${h(c.id)}" data-state="approved" aria-label="Approve ${h(c.name)}">Approve</button><button type="button" class="small danger" data-approve="${h(c.id)}" data-state="rejected" aria-label="Reject ${h(c.name)}">Reject</button></div></div></td>`
              : ''
          }</tr>`,
      )
      .join('');
    return reply.type(html).send(
      page(
        'Creatives',
        `<h1>Creatives</h1>
<div class="alert info"><p style="margin:0"><strong>What the approval states mean.</strong> A new creative is <span class="badge warn">pending</span>: an admin of this node listens to it and checks its link before it can run. <span class="badge ok">approved</span> creatives play in the line items that use them. A <span class="badge danger">rejected</span> creative never plays; the admin's reason is shown beside it; upload a corrected one.</p></div>
<div class="table-wrap"><table><thead><tr><th scope="col">Creative</th><th scope="col">Media</th><th scope="col">Approval</th>${scope.isAdmin ? '<th scope="col">Decide</th>' : ''}</tr></thead><tbody>${rows || `<tr><td colspan="4">No creatives yet.</td></tr>`}</tbody></table></div>
<p id="approval-result" role="status"></p>
${scope.isAdmin ? `<script>${approvalScript}</script>` : ''}`,
        {
          ...viewerOf(req),
          crumbs: [['/ads/dashboard', 'Campaigns']],
          current: scope.isAdmin ? '/admin' : '/ads/dashboard',
        },
      ),
    );
  });
}

// The admin's approve / reject buttons: the approval API with the session cookie.
const approvalScript = `
for (const b of document.querySelectorAll('button[data-approve]')) {
  b.addEventListener('click', async () => {
    const field = document.getElementById('reason-' + b.dataset.approve);
    const reason = field ? field.value.trim() : '';
    const out = document.getElementById('approval-result');
    if (b.dataset.state === 'rejected' && !reason) {
      out.textContent = 'Say why it is rejected: the advertiser sees the reason.';
      field.focus();
      return;
    }
    const body = { state: b.dataset.state };
    if (reason) body.reason = reason;
    const res = await fetch('/ads/api/creatives/' + encodeURIComponent(b.dataset.approve) + '/approval', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.ok) location.reload();
    else document.getElementById('approval-result').textContent = 'Not saved (' + res.status + ').';
  });
}`;

/** A campaign's flight in words: open ends (the house campaign runs from 1970 to 2100) say so. */
export function flightText(startsAt: number, endsAt: number): string {
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  const open = (t: number) => t <= 0 || t >= Date.UTC(2099, 0, 1);
  if (open(startsAt) && open(endsAt)) return 'Always on';
  if (open(endsAt)) return `From ${day(startsAt)}`;
  if (open(startsAt)) return `Until ${day(endsAt)}`;
  return `${day(startsAt)} – ${day(endsAt)}`;
}
