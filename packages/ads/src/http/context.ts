/** What the ads routes share: the store, the ports, and settings, resolved once by the plugin. */
import type { Clock, Db, ViewerOf } from '@swarmcast/platform';
import type { FastifyRequest } from 'fastify';
import type { DecideDeps, EpisodeLookup } from '../decide.ts';
import type { MeasuredFeedback } from '../measured-feedback.ts';
import type { Creative } from '../model.ts';
import type { OpportunityPublisher } from '../opportunities.ts';
import type { DeliveryFigures } from '../report.ts';
import type { KeyRing } from '../signing-keys.ts';
import type { AdsStore } from '../store.ts';
import type { AdsAuth } from './access.ts';

/**
 * Publishes a stored creative file as a torrent; `url` is the node-relative media path
 * ("/ads/media/<file>"), made absolute (and added as web seed) when served.
 */
export type PublishCreative = (file: {
  path: string;
  url: string;
  name: string;
}) => Promise<NonNullable<Creative['torrent']> | null>;

/** A show an advertiser may target: its id, title and categories. */
export interface TargetableShow {
  id: string;
  title: string;
  categories: readonly string[];
}
export type ShowLookup = () => Promise<readonly TargetableShow[]>;

export interface AdsContext {
  store: AdsStore;
  episodes: EpisodeLookup;
  shows: ShowLookup;
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
  /** Tells the node's other processes that the model changed (they reload it). */
  modelChanged?: () => void;
  /** The catalog account behind a request (session or API token); absent: admin token only. */
  auth?: AdsAuth | undefined;
  /** Where the dashboard sends visitors who are not logged in. */
  loginUrl: string;
  /** The logged-in account for the site header. */
  viewer: ViewerOf<FastifyRequest>;
  /** Fill-rate events for measurement, when the node gives a stream. */
  opportunities?: OpportunityPublisher;
  /** The measured-delivery consumer, when the node gives a stream. */
  feedback?: MeasuredFeedback;
  /** Creatives that could not be prepared for a podcast episode's encoding (DAI), with why. */
  stitchFailures?: () => ReadonlyArray<{ creativeId: string; profileKey: string; reason: string }>;
  /** The creative with its URLs made absolute against the current public URL. */
  present(c: Creative): Creative;
  /** The delivery the reports of these campaigns show (shared by every process when the node runs N). */
  figures(campaignIds: readonly string[]): Promise<DeliveryFigures>;
}
