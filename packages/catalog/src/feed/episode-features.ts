import { fail, ok, type Result } from '../errors.ts';
import { type Person, validatePersons } from './settings.ts';

export type EpisodeType = 'full' | 'trailer' | 'bonus';

/** What apps show beside an episode's title: itunes:season/episode/episodeType/explicit, podcast:person. */
export interface EpisodeFeatures {
  season: number | null;
  episodeNumber: number | null;
  episodeType: EpisodeType;
  /** null: as the show. */
  explicit: boolean | null;
  persons: Person[];
}

function count(v: unknown, field: string, min: number, max: number): Result<number | null> {
  if (v === undefined || v === null || v === '') return ok(null);
  const n =
    typeof v === 'number' ? v : /^\d{1,7}$/.test(String(v).trim()) ? Number(String(v).trim()) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    return fail('CAT_BAD_INPUT', `${field}: a whole number ${min} to ${max}`);
  return ok(n);
}

/** Checks an episode's features; missing fields take `base` (the stored values) or defaults. */
export function validateEpisodeFeatures(
  input: Record<string, unknown>,
  base?: EpisodeFeatures,
): Result<EpisodeFeatures> {
  const has = (k: string) => Object.hasOwn(input, k);
  const season = has('season') ? count(input.season, 'season', 1, 100_000) : ok(base?.season ?? null);
  if (!season.ok) return season;
  const number = has('episodeNumber')
    ? count(input.episodeNumber, 'episodeNumber', 0, 1_000_000)
    : ok(base?.episodeNumber ?? null);
  if (!number.ok) return number;
  let episodeType: EpisodeType = base?.episodeType ?? 'full';
  if (has('episodeType') && input.episodeType !== '' && input.episodeType !== undefined) {
    if (input.episodeType !== 'full' && input.episodeType !== 'trailer' && input.episodeType !== 'bonus')
      return fail('CAT_BAD_INPUT', 'episodeType: full, trailer or bonus');
    episodeType = input.episodeType;
  }
  let explicit: boolean | null = base?.explicit ?? null;
  if (has('explicit')) {
    const e = input.explicit;
    explicit = e === null || e === '' || e === undefined ? null : e === true || e === 'true' || e === '1';
  }
  const persons = has('persons') ? validatePersons(input.persons) : ok(base?.persons ?? []);
  if (!persons.ok) return persons;
  return ok({
    season: season.value,
    episodeNumber: number.value,
    episodeType,
    explicit,
    persons: persons.value,
  });
}
