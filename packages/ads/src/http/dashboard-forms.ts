/**
 * The dashboard's "buy" forms: a new advertiser, a creative upload, a campaign and a line
 * item, each offering only what the logged-in account owns. A small script sends each form
 * to the advertiser API as JSON (or the file as the raw body), with the session cookie and
 * this page's Origin, and reloads to show the result or prints the API's coded error.
 * Money is typed in currency units and sent as micro-units; dates as UTC days.
 *
 * The line-item form covers everything the API takes: priority, goal (impressions or
 * spend), price, pacing, its own flight, targeting (shows by name, categories, languages,
 * break positions, countries, devices, day-parts), a frequency cap, competitive
 * categories and creatives. As the targeting changes it asks `/ads/api/availability` how
 * many breaks of the last 7 days it matches, and shows the answer before booking.
 */

import { appleCategories } from '@swarmcast/catalog';
import type { AdsStore } from '../store.ts';
import type { Scope } from './access.ts';
import type { TargetableShow } from './context.ts';
import { h } from './html.ts';

const option = (value: string, label: string) => `<option value="${h(value)}">${h(label)}</option>`;

export function buyForms(store: AdsStore, scope: Scope, shows: readonly TargetableShow[]): string {
  const advertisers = [...store.advertisers.values()].filter((a) => scope.ownsAdvertiser(a));
  const campaigns = [...store.campaigns.values()].filter((c) => scope.campaign(c.id));
  const creatives = [...store.creatives.values()].filter((c) => scope.creative(c.id));
  const advOptions = advertisers.map((a) => option(a.id, a.name)).join('');
  const campaignOptions = campaigns.map((c) => option(c.id, c.name)).join('');
  const creativeOptions = creatives.map((c) => option(c.id, `${c.name} (${c.approval})`)).join('');
  return `<h2>Buy</h2>
<form class="stack" data-api="/ads/api/advertisers" data-kind="advertiser"><fieldset><legend>New advertiser</legend>
<label>Name <input name="name" required maxlength="200"></label> <button>Create</button></fieldset></form>
<form class="stack" data-api="/ads/api/creatives" data-kind="creative"><fieldset><legend>Upload a creative (audio or video, up to 3 minutes)</legend>
<label>Advertiser <select name="advertiser" required>${advOptions}</select></label>
<label>Name <input name="name" required maxlength="200"></label>
<label>Click-through URL <input name="clickThrough" type="url"></label>
<label>Companion text <input name="companionText" maxlength="500"></label>
<label>Skippable after (s) <input name="skipOffset" type="number" min="0" step="0.001"></label>
<label>File <input name="file" type="file" accept="audio/*,video/*" required></label> <button>Upload</button></fieldset></form>
<form class="stack" data-api="/ads/api/campaigns" data-kind="campaign"><fieldset><legend>New campaign</legend>
<label>Advertiser <select name="advertiserId" required>${advOptions}</select></label>
<label>Name <input name="name" required maxlength="200"></label>
<label>Starts (UTC) <input name="startsAt" type="date" required></label>
<label>Ends (UTC) <input name="endsAt" type="date" required></label>
<label>Currency <input name="currency" value="EUR" pattern="[A-Z]{3}" required></label>
<label>Total budget <input name="totalBudget" type="number" min="0" step="0.01" required></label>
<label>Daily budget (0: none) <input name="dailyBudget" type="number" min="0" step="0.01" value="0"></label> <button>Create</button></fieldset></form>
${lineItemForm(campaignOptions, creativeOptions, shows, scope.isAdmin)}
<p id="buy-result" role="status"></p>
<script>${buyScript}</script>`;
}

const checks = (name: string, items: ReadonlyArray<readonly [string, string]>) =>
  items
    .map(([v, l]) => `<label><input type="checkbox" name="${h(name)}" value="${h(v)}"> ${h(l)}</label>`)
    .join('');

const devices = [
  ['phone', 'Phone'],
  ['tablet', 'Tablet'],
  ['computer', 'Computer'],
  ['speaker', 'Smart speaker'],
  ['watch', 'Watch'],
  ['tv', 'TV'],
  ['car', 'Car'],
] as const;
const days = [
  ['1', 'Mon'],
  ['2', 'Tue'],
  ['3', 'Wed'],
  ['4', 'Thu'],
  ['5', 'Fri'],
  ['6', 'Sat'],
  ['0', 'Sun'],
] as const;

function lineItemForm(
  campaignOptions: string,
  creativeOptions: string,
  shows: readonly TargetableShow[],
  isAdmin: boolean,
): string {
  const showOptions = [...shows]
    .sort((a, b) => a.title.localeCompare(b.title))
    .map((s) => option(s.id, s.title))
    .join('');
  const categoryNames = new Set(Object.keys(appleCategories).map((c) => c.toLowerCase()));
  for (const s of shows) for (const c of s.categories) categoryNames.add(c.toLowerCase());
  const categoryOptions = [...categoryNames]
    .sort()
    .map((c) => option(c, c))
    .join('');
  const hours = (sel: number) =>
    Array.from(
      { length: 25 },
      (_, i) =>
        `<option value="${i}"${i === sel ? ' selected' : ''}>${String(i).padStart(2, '0')}:00</option>`,
    ).join('');
  return `<form class="stack" data-api="/ads/api/line-items" data-kind="line-item" id="line-item-form"><fieldset><legend>New line item</legend>
<label>Campaign <select name="campaignId" required>${campaignOptions}</select></label>
<label>Name <input name="name" required maxlength="200"></label>
<label>Priority <select name="priority">${option('standard', 'Standard: competes on pacing and price')}${option('sponsorship', 'Sponsorship: always first')}${isAdmin ? option('house', 'House: fills what nobody bought') : ''}</select></label>
<fieldset><legend>Goal and price</legend>
<label>Goal <select name="goalKind">${option('impressions', 'Impressions')}${option('spend', 'Spend (in the campaign currency)')}</select></label>
<label>Amount <input name="goalAmount" type="number" min="1" step="any" required></label>
<label>CPM (price per 1,000) <input name="cpm" type="number" min="0" step="0.01" required></label>
<label>Pacing <select name="pacing">${option('even', 'Even: spread over the flight')}${option('asap', 'As fast as possible')}</select></label>
</fieldset>
<fieldset><legend>Flight (optional, within the campaign's)</legend>
<label>Starts (UTC) <input name="startsAt" type="date"></label>
<label>Ends (UTC) <input name="endsAt" type="date"></label>
</fieldset>
<fieldset data-targeting><legend>Targeting (empty: everywhere)</legend>
<label>Shows <select name="showIds" multiple size="${Math.min(6, Math.max(2, shows.length))}">${showOptions}</select></label>
<label>Categories <select name="categories" multiple size="6">${categoryOptions}</select></label>
<label>Languages <input name="languages" placeholder="en, de" aria-describedby="lang-help"></label><span class="meta" id="lang-help">Language codes, comma-separated; "de" also matches "de-CH".</span>
<fieldset><legend>Break positions</legend><div class="row">${checks('positions', [
    ['pre', 'Pre-roll'],
    ['mid', 'Mid-roll'],
    ['post', 'Post-roll'],
  ])}</div></fieldset>
<label>Countries <input name="countries" placeholder="DE, FR" aria-describedby="country-help"></label><span class="meta" id="country-help">Two-letter country codes, comma-separated.</span>
<fieldset><legend>Devices</legend><div class="row">${checks('devices', devices)}</div></fieldset>
<fieldset><legend>Day-part (UTC)</legend><div class="row">${checks('days', days)}</div>
<div class="row"><label>From <select name="fromHour">${hours(0)}</select></label><label>To <select name="toHour">${hours(24)}</select></label></div></fieldset>
</fieldset>
<fieldset><legend>Frequency cap (optional)</legend>
<div class="row"><label>At most <input name="capMax" type="number" min="1" step="1" size="4"></label><label>ads per listener per <select name="capPeriod">${option('3600000', 'hour')}${option('86400000', 'day')}${option('604800000', 'week')}</select></label></div>
</fieldset>
<label>Competitive categories <input name="exclusionCategories" placeholder="auto, telecom" aria-describedby="excl-help"></label><span class="meta" id="excl-help">No two ads of one competitive category play in the same break.</span>
<label>Creatives <select name="creativeIds" multiple>${creativeOptions}</select></label>
<div class="alert info" id="availability" role="status" aria-live="polite">Availability: choose targeting to see how many breaks of the last 7 days it matches.</div>
<div class="row"><button type="button" class="secondary" id="check-availability">Check availability</button><button>Book line item</button></div></fieldset></form>`;
}

// Kept small and dependency-free; every value it sends is checked again by the API.
const buyScript = `
const micros = (v) => Math.round(Number(v) * 1e6);
const day = (v) => Date.parse(v + 'T00:00:00Z');
const list = (v) => String(v || '').split(',').map((x) => x.trim()).filter(Boolean);
function targeting(f) {
  const t = {};
  const put = (k, v) => { if (v.length) t[k] = v; };
  put('showIds', f.getAll('showIds'));
  put('categories', f.getAll('categories'));
  put('languages', list(f.get('languages')));
  put('positions', f.getAll('positions'));
  put('countries', list(f.get('countries')).map((c) => c.toUpperCase()));
  put('devices', f.getAll('devices'));
  const d = f.getAll('days').map(Number);
  const from = Number(f.get('fromHour')), to = Number(f.get('toHour'));
  if (d.length || from !== 0 || to !== 24)
    t.dayParts = [{ days: d.length ? d : [0, 1, 2, 3, 4, 5, 6], fromHour: from, toHour: to }];
  return t;
}
const liForm = document.getElementById('line-item-form');
const avail = document.getElementById('availability');
let asked = 0;
async function availability() {
  if (!liForm) return;
  const mine = ++asked;
  const res = await fetch('/ads/api/availability', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ targeting: targeting(new FormData(liForm)) }) });
  if (mine !== asked) return;
  if (!res.ok) { const e = await res.json().catch(() => ({})); avail.textContent = 'Availability: ' + (e.message || res.status); return; }
  const a = await res.json();
  const n = (x) => x.toLocaleString('en');
  avail.dataset.opportunities = a.opportunities;
  avail.textContent = 'Availability: ' + n(a.opportunities) + ' matching ' + (a.opportunities === 1 ? 'break' : 'breaks') +
    ' in the last 7 days (' + n(a.byPosition.pre) + ' pre-roll, ' + n(a.byPosition.mid) + ' mid-roll, ' + n(a.byPosition.post) +
    ' post-roll) of ' + n(a.total) + ' in all. Other line items, caps, budgets and pacing share them.';
}
if (liForm) {
  let timer;
  const soon = () => { clearTimeout(timer); timer = setTimeout(availability, 300); };
  liForm.querySelector('[data-targeting]').addEventListener('change', soon);
  liForm.querySelector('[data-targeting]').addEventListener('input', soon);
  document.getElementById('check-availability').addEventListener('click', availability);
  availability();
}
const bodies = {
  advertiser: (f) => ({ name: f.get('name') }),
  campaign: (f) => ({ advertiserId: f.get('advertiserId'), name: f.get('name'), startsAt: day(f.get('startsAt')),
    endsAt: day(f.get('endsAt')), currency: f.get('currency'), totalBudgetMicros: micros(f.get('totalBudget')),
    dailyBudgetMicros: micros(f.get('dailyBudget') || 0) }),
  'line-item': (f) => {
    const b = { campaignId: f.get('campaignId'), name: f.get('name'), priority: f.get('priority'),
      goal: f.get('goalKind') === 'spend' ? { kind: 'spend', micros: micros(f.get('goalAmount')) }
        : { kind: 'impressions', impressions: Math.round(Number(f.get('goalAmount'))) },
      cpmMicros: micros(f.get('cpm')), pacing: f.get('pacing'), targeting: targeting(f),
      exclusionCategories: list(f.get('exclusionCategories')), creativeIds: f.getAll('creativeIds') };
    if (f.get('startsAt')) b.startsAt = day(f.get('startsAt'));
    if (f.get('endsAt')) b.endsAt = day(f.get('endsAt'));
    b.caps = f.get('capMax') ? [{ max: Number(f.get('capMax')), periodMs: Number(f.get('capPeriod')) }] : [];
    return b;
  },
};
for (const form of document.querySelectorAll('form[data-api]')) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const out = document.getElementById('buy-result');
    let res;
    if (form.dataset.kind === 'creative') {
      const file = f.get('file');
      const q = new URLSearchParams();
      for (const k of ['advertiser', 'name', 'clickThrough', 'companionText', 'skipOffset']) if (f.get(k)) q.set(k, f.get(k));
      res = await fetch(form.dataset.api + '?' + q, { method: 'POST', headers: { 'content-type': file.type }, body: file });
    } else {
      res = await fetch(form.dataset.api, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify(bodies[form.dataset.kind](f)) });
    }
    if (res.ok) location.reload();
    else { const e = await res.json().catch(() => ({})); out.textContent = (e.code || res.status) + ': ' + (e.message || 'failed'); }
  });
}`;
