/** What the ads routes share: the store, the ports, and settings, resolved once by the plugin. */
import type { Clock, Db } from '@swarmcast/platform';
import type { DecideDeps, EpisodeLookup } from '../decide.ts';
import type { Creative } from '../model.ts';
import type { KeyRing } from '../signing-keys.ts';
import type { AdsStore } from '../store.ts';

/** Publishes a stored creative file as a torrent (web seed = our media URL); the torrent part provides it. */
export type PublishCreative = (file: {
  path: string;
  url: string;
  name: string;
}) => Promise<NonNullable<Creative['torrent']> | null>;

export interface AdsContext {
  store: AdsStore;
  episodes: EpisodeLookup;
  keys: () => KeyRing;
  clock: Clock;
  publicUrl: string;
  collector: string;
  countryHeader: string;
  adminToken: string;
  mediaDir: string;
  maxCreativeBytes: number;
  newId: () => string;
  version: string;
  decide: DecideDeps;
  publishCreative?: PublishCreative;
  db?: Db;
}
