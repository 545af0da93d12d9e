import type { EpisodeDetail, FeedSettings, Person, Show } from '@swarmcast/catalog';
import { type Html, html } from '@swarmcast/platform';
import { enc } from '../portal/fragments.ts';
import { type FormBody, one } from './form.ts';

/**
 * The dashboard's feed settings (issue 16): owner e-mail, show type, lock, move, persons,
 * location, funding, license, and the episode features. Markup and form parsing live here,
 * apart from routes.ts, so the site layout work there and this change independently.
 */

/** "Name | role | link" per line -> persons (the catalog validates them). */
function personsFromText(text: string): Array<Record<string, string>> {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [name = '', role = '', href = ''] = l.split('|').map((p) => p.trim());
      return { name, role, href };
    });
}

function personsToText(persons: readonly Person[] | undefined): string {
  return (persons ?? [])
    .map((p) => [p.name, p.role ?? '', p.href ?? ''].join(' | ').replace(/( \| )+$/, ''))
    .join('\n');
}

/** The settings form's fields as the catalog's FeedSettings input. */
export function feedSettingsFromForm(f: FormBody): Record<string, unknown> {
  const funding = one(f, 'funding')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [url = '', text = ''] = l.split('|').map((p) => p.trim());
      return { url, text };
    });
  return {
    ownerName: one(f, 'ownerName'),
    ownerEmail: one(f, 'ownerEmail'),
    showType: one(f, 'showType'),
    locked: one(f, 'locked') === '1',
    newFeedUrl: one(f, 'newFeedUrl'),
    redirectFeed: one(f, 'redirectFeed') === '1',
    persons: personsFromText(one(f, 'persons')),
    location: { name: one(f, 'locationName'), geo: one(f, 'locationGeo'), osm: one(f, 'locationOsm') },
    funding,
    license: { identifier: one(f, 'license'), url: one(f, 'licenseUrl') },
  };
}

export function feedSettingsSection(show: Show): Html {
  const s: FeedSettings = show.settings ?? {};
  return html`<section aria-labelledby="feed-settings-h"><h2 id="feed-settings-h">Feed settings</h2>
<form class="stack" method="post" action="/dashboard/shows/${enc(show.slug)}/settings">
<label>Owner name <input name="ownerName" maxlength="200" value="${s.ownerName ?? ''}"></label>
<label>Owner e-mail <input name="ownerEmail" type="email" maxlength="254" value="${s.ownerEmail ?? ''}"><span class="hint">In the feed as itunes:owner; Apple and Spotify send verification codes there.</span></label>
<label>Show type <select name="showType"><option value="episodic" ${s.showType !== 'serial' ? 'selected' : ''}>Episodic (newest first)</option><option value="serial" ${s.showType === 'serial' ? 'selected' : ''}>Serial (in order)</option></select></label>
<label><input type="checkbox" name="locked" value="1" ${s.locked ? 'checked' : ''}> Locked: other hosts may not import this feed (podcast:locked)</label>
<label>People <textarea name="persons" rows="3" maxlength="4000" placeholder="Ada Lovelace | host | https://example.org/ada">${personsToText(s.persons)}</textarea><span class="hint">One per line: name | role | link.</span></label>
<label>Location <input name="locationName" maxlength="128" value="${s.location?.name ?? ''}"></label>
<label>Location geo URI <input name="locationGeo" maxlength="80" placeholder="geo:52.52,13.40" value="${s.location?.geo ?? ''}"></label>
<label>OpenStreetMap id <input name="locationOsm" maxlength="40" placeholder="R62422" value="${s.location?.osm ?? ''}"></label>
<label>Funding <textarea name="funding" rows="2" maxlength="4000" placeholder="https://example.org/donate | Support the show">${(s.funding ?? []).map((x) => `${x.url} | ${x.text}`).join('\n')}</textarea><span class="hint">One per line: URL | text.</span></label>
<label>License <input name="license" maxlength="128" placeholder="CC-BY-4.0" value="${s.license?.identifier ?? ''}"></label>
<label>License URL <input name="licenseUrl" maxlength="2048" value="${s.license?.url ?? ''}"></label>
<fieldset><legend>Moving to another host</legend>
<label>New feed URL <input name="newFeedUrl" type="url" maxlength="2048" value="${s.newFeedUrl ?? ''}"><span class="hint">Written as itunes:new-feed-url: apps move their subscribers there.</span></label>
<label><input type="checkbox" name="redirectFeed" value="1" ${s.redirectFeed ? 'checked' : ''}> Also answer this feed's address with a permanent redirect (301) to the new feed</label>
</fieldset>
<div><button type="submit">Save feed settings</button></div>
</form></section>`;
}

/** Season, number, type, explicit and people of an episode (inside the episode edit form). */
export function episodeFeatureFields(e: EpisodeDetail): Html {
  return html`<label>Season <input name="season" inputmode="numeric" pattern="[0-9]*" maxlength="6" value="${e.season ?? ''}"></label>
<label>Episode number <input name="episodeNumber" inputmode="numeric" pattern="[0-9]*" maxlength="7" value="${e.episodeNumber ?? ''}"></label>
<label>Episode type <select name="episodeType">${(['full', 'trailer', 'bonus'] as const).map((t) => html`<option value="${t}" ${e.episodeType === t ? 'selected' : ''}>${t}</option>`)}</select></label>
<label>Explicit <select name="explicit"><option value="" ${e.explicit === null ? 'selected' : ''}>As the show</option><option value="true" ${e.explicit === true ? 'selected' : ''}>Yes</option><option value="false" ${e.explicit === false ? 'selected' : ''}>No</option></select></label>
<label>People <textarea name="persons" rows="2" maxlength="4000" placeholder="Grace Hopper | guest">${personsToText(e.persons)}</textarea><span class="hint">One per line: name | role | link.</span></label>`;
}

export function episodeFeaturesFromForm(f: FormBody): Record<string, unknown> {
  if (!('episodeType' in f)) return {};
  return {
    season: one(f, 'season'),
    episodeNumber: one(f, 'episodeNumber'),
    episodeType: one(f, 'episodeType'),
    explicit: one(f, 'explicit'),
    persons: personsFromText(one(f, 'persons')),
  };
}
