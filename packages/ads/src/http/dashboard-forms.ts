/**
 * The dashboard's "buy" forms: a new advertiser, a creative upload, a campaign and a line
 * item, each offering only what the logged-in account owns. A small script sends each form
 * to the advertiser API as JSON (or the file as the raw body), with the session cookie and
 * this page's Origin, and reloads to show the result or prints the API's coded error.
 * Money is typed in currency units and sent as micro-units; dates as UTC days.
 */
import type { AdsStore } from '../store.ts';
import type { Scope } from './access.ts';
import { h } from './html.ts';

const option = (value: string, label: string) => `<option value="${h(value)}">${h(label)}</option>`;

export function buyForms(store: AdsStore, scope: Scope): string {
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
<form class="stack" data-api="/ads/api/line-items" data-kind="line-item"><fieldset><legend>New line item</legend>
<label>Campaign <select name="campaignId" required>${campaignOptions}</select></label>
<label>Name <input name="name" required maxlength="200"></label>
<label>Priority <select name="priority">${option('standard', 'standard')}${option('sponsorship', 'sponsorship')}${option('house', 'house')}</select></label>
<label>Goal (impressions) <input name="impressions" type="number" min="1" step="1" required></label>
<label>CPM (price per 1,000) <input name="cpm" type="number" min="0" step="0.01" required></label>
<label>Creatives <select name="creativeIds" multiple>${creativeOptions}</select></label> <button>Create</button></fieldset></form>
<p id="buy-result" role="status"></p>
<script>${buyScript}</script>`;
}

// Kept small and dependency-free; every value it sends is checked again by the API.
const buyScript = `
const micros = (v) => Math.round(Number(v) * 1e6);
const day = (v) => Date.parse(v + 'T00:00:00Z');
const bodies = {
  advertiser: (f) => ({ name: f.get('name') }),
  campaign: (f) => ({ advertiserId: f.get('advertiserId'), name: f.get('name'), startsAt: day(f.get('startsAt')),
    endsAt: day(f.get('endsAt')), currency: f.get('currency'), totalBudgetMicros: micros(f.get('totalBudget')),
    dailyBudgetMicros: micros(f.get('dailyBudget') || 0) }),
  'line-item': (f) => ({ campaignId: f.get('campaignId'), name: f.get('name'), priority: f.get('priority'),
    goal: { kind: 'impressions', impressions: Number(f.get('impressions')) }, cpmMicros: micros(f.get('cpm')),
    creativeIds: f.getAll('creativeIds') }),
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
