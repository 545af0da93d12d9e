import { fail, ok, type Result } from '../errors.ts';
import { cleanText } from '../slug.ts';

/** podcast:person (Podcasting 2.0 person taxonomy: role and group are lower-case words). */
export interface Person {
  name: string;
  role?: string;
  group?: string;
  img?: string;
  href?: string;
}

/** podcast:location: a place name with an optional RFC 5870 geo URI and OpenStreetMap id. */
export interface PlaceInfo {
  name: string;
  geo?: string;
  osm?: string;
}

/** podcast:funding: where listeners can support the show. */
export interface Funding {
  url: string;
  text: string;
}

/** podcast:license: an SPDX identifier (or a name) with an optional URL to its text. */
export interface License {
  identifier: string;
  url?: string;
}

/**
 * A show's feed settings beside its core fields (stored as jsonb in catalog_shows.settings;
 * every field optional so a show without settings renders as before).
 */
export interface FeedSettings {
  /** itunes:owner: Apple writes to this address to verify the show; never shown on pages. */
  ownerName?: string;
  ownerEmail?: string;
  /** itunes:type. */
  showType?: 'episodic' | 'serial';
  /** podcast:locked yes: other hosts must not import the feed without the owner's consent. */
  locked?: boolean;
  /** itunes:new-feed-url: the show has moved; apps update their subscription. */
  newFeedUrl?: string;
  /** Answer the feed URL with a 301 to newFeedUrl (set only once the new host serves it). */
  redirectFeed?: boolean;
  persons?: Person[];
  location?: PlaceInfo;
  funding?: Funding[];
  license?: License;
}

const emailPattern = /^[^\s@<>"]{1,64}@[^\s@<>"]{1,190}\.[^\s@<>"]{2,}$/;
const geoPattern =
  /^geo:-?\d{1,3}(\.\d{1,10})?,-?\d{1,3}(\.\d{1,10})?(,-?\d{1,6}(\.\d{1,6})?)?(;u=\d{1,7}(\.\d{1,3})?)?$/;
const osmPattern = /^[NWR]\d{1,15}(#\d{1,15})?$/;
const wordPattern = /^[a-z][a-z &-]{0,40}$/;
const licensePattern = /^[A-Za-z0-9.+-]{1,128}$/;

/** An absolute http(s) URL of at most 2048 characters, or null. */
export function httpUrl(text: unknown): string | null {
  const s = cleanText(text);
  if (!s || s.length > 2048) return null;
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

function text(v: unknown, max: number, field: string): Result<string> {
  const s = cleanText(v);
  if (s.length > max) return fail('CAT_BAD_INPUT', `${field}: at most ${max} characters`);
  return ok(s);
}

function optionalUrl(v: unknown, field: string): Result<string | undefined> {
  if (v === undefined || v === null || cleanText(v) === '') return ok(undefined);
  const u = httpUrl(v);
  return u ? ok(u) : fail('CAT_BAD_INPUT', `${field}: an http or https URL`);
}

/** Checks podcast:person entries (at most 20). */
export function validatePersons(input: unknown, field = 'persons'): Result<Person[]> {
  if (input === undefined || input === null) return ok([]);
  if (!Array.isArray(input) || input.length > 20)
    return fail('CAT_BAD_INPUT', `${field}: a list of at most 20`);
  const out: Person[] = [];
  for (const raw of input) {
    const p = (raw ?? {}) as Record<string, unknown>;
    const name = text(p.name, 128, `${field}.name`);
    if (!name.ok) return name;
    if (!name.value) return fail('CAT_BAD_INPUT', `${field}.name: required`);
    const person: Person = { name: name.value };
    for (const k of ['role', 'group'] as const) {
      const v = cleanText(p[k]).toLowerCase();
      if (!v) continue;
      if (!wordPattern.test(v)) return fail('CAT_BAD_INPUT', `${field}.${k}: a word of the person taxonomy`);
      person[k] = v;
    }
    for (const k of ['img', 'href'] as const) {
      const u = optionalUrl(p[k], `${field}.${k}`);
      if (!u.ok) return u;
      if (u.value) person[k] = u.value;
    }
    out.push(person);
  }
  return ok(out);
}

/** Checks a podcast:location. */
export function validateLocation(input: unknown): Result<PlaceInfo | undefined> {
  if (input === undefined || input === null) return ok(undefined);
  const l = input as Record<string, unknown>;
  const name = text(l.name, 128, 'location.name');
  if (!name.ok) return name;
  if (!name.value) return ok(undefined);
  const out: PlaceInfo = { name: name.value };
  const geo = cleanText(l.geo);
  if (geo) {
    if (!geoPattern.test(geo))
      return fail('CAT_BAD_INPUT', 'location.geo: a geo URI such as geo:30.2672,-97.7431');
    out.geo = geo;
  }
  const osm = cleanText(l.osm);
  if (osm) {
    if (!osmPattern.test(osm))
      return fail('CAT_BAD_INPUT', 'location.osm: an OpenStreetMap id such as R113314');
    out.osm = osm;
  }
  return ok(out);
}

/** Checks a show's feed settings; a pure function. Unknown keys are dropped. */
export function validateFeedSettings(input: unknown): Result<FeedSettings> {
  const s = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  const out: FeedSettings = {};
  const ownerName = text(s.ownerName, 200, 'ownerName');
  if (!ownerName.ok) return ownerName;
  if (ownerName.value) out.ownerName = ownerName.value;
  const email = cleanText(s.ownerEmail).toLowerCase();
  if (email) {
    if (!emailPattern.test(email) || email.length > 254)
      return fail('CAT_BAD_INPUT', 'ownerEmail: an e-mail address');
    out.ownerEmail = email;
  }
  if (s.showType !== undefined && s.showType !== '') {
    if (s.showType !== 'episodic' && s.showType !== 'serial')
      return fail('CAT_BAD_INPUT', 'showType: episodic or serial');
    out.showType = s.showType;
  }
  if (s.locked) out.locked = true;
  const newFeed = optionalUrl(s.newFeedUrl, 'newFeedUrl');
  if (!newFeed.ok) return newFeed;
  if (newFeed.value) out.newFeedUrl = newFeed.value;
  if (s.redirectFeed) {
    if (!out.newFeedUrl) return fail('CAT_BAD_INPUT', 'redirectFeed: needs newFeedUrl');
    out.redirectFeed = true;
  }
  const persons = validatePersons(s.persons);
  if (!persons.ok) return persons;
  if (persons.value.length) out.persons = persons.value;
  const location = validateLocation(s.location);
  if (!location.ok) return location;
  if (location.value) out.location = location.value;
  if (s.funding !== undefined && s.funding !== null) {
    if (!Array.isArray(s.funding) || s.funding.length > 5) return fail('CAT_BAD_INPUT', 'funding: at most 5');
    const funding: Funding[] = [];
    for (const raw of s.funding) {
      const f = (raw ?? {}) as Record<string, unknown>;
      const url = httpUrl(f.url);
      if (!url) return fail('CAT_BAD_INPUT', 'funding.url: an http or https URL');
      const t = text(f.text, 128, 'funding.text');
      if (!t.ok) return t;
      funding.push({ url, text: t.value || 'Support the show' });
    }
    if (funding.length) out.funding = funding;
  }
  if (s.license !== undefined && s.license !== null) {
    const l = s.license as Record<string, unknown>;
    const id = cleanText(l.identifier);
    if (id) {
      if (!licensePattern.test(id))
        return fail('CAT_BAD_INPUT', 'license.identifier: an SPDX identifier such as CC-BY-4.0');
      const url = optionalUrl(l.url, 'license.url');
      if (!url.ok) return url;
      out.license = url.value ? { identifier: id, url: url.value } : { identifier: id };
    }
  }
  return ok(out);
}
