// The public surface of @swarmcast/catalog (see README.md beside this folder).
export {
  type Account,
  type ApiTokenInfo,
  apiTokenDefaultDays,
  apiTokenMaxDays,
  authenticate,
  changePassword,
  checkPassword,
  createAccount,
  createApiToken,
  createSession,
  listAccounts,
  listApiTokens,
  nodeAdminAccountId,
  type Role,
  registerNodeAdminToken,
  revokeApiToken,
  revokeCredential,
  type SignupInput,
  setRole,
  setSuspended,
} from './accounts.ts';
export { type AdBreakInput, type Chapter, normalizeAdBreaks } from './ad-break-rules.ts';
export type { AdBreak, BreakPosition, EpisodeForAds } from './ad-breaks.ts';
export { type ImageInfo, maxArtworkBytes, setEpisodeArtwork, setShowArtwork, sniffImage } from './artwork.ts';
export type { CatalogContext, MadeTorrent, TorrentTools } from './context.ts';
export { daiEnabled, daiOffEpisodes, episodeDaiEnabled, setDai, setEpisodeDai } from './dai-setting.ts';
export { demoMediaDir, seedDemo } from './demo.ts';
export {
  deleteEpisode,
  deleteShow,
  type ShowEdit,
  updateEpisode,
  updateFeedSettings,
  updateShow,
} from './edit.ts';
export {
  countView,
  type Episode,
  type EpisodeDetail,
  episodeForAds,
  episodeStatus,
  episodesOfShow,
  getEpisode,
  isLive,
  latestEpisodes,
  type MediaFile,
  setAdBreaks,
  type TorrentInfo,
  torrentFile,
} from './episodes.ts';
export { type CatalogErrorCode, catalogErrors, type Failure, type Result } from './errors.ts';
export { type AppleCategory, appleCategories, appleCategory } from './feed/apple-categories.ts';
export { artworkProblems, directoryEnclosureTypes, directoryProblems } from './feed/directory-rules.ts';
export { type EpisodeFeatures, type EpisodeType, validateEpisodeFeatures } from './feed/episode-features.ts';
export {
  type FeedSettings,
  type Funding,
  httpUrl,
  type License,
  type Person,
  type PlaceInfo,
  validateFeedSettings,
} from './feed/settings.ts';
export { escapeXml, type FeedUrls, podcastGuid, renderChapters, renderFeed } from './feed.ts';
export { parseChaptersJson } from './import/chapters-json.ts';
export {
  type ImportEvent,
  type ImportOptions,
  type ImportReport,
  type ImportSource,
  importFeed,
  importItems,
} from './import/import-feed.ts';
export { type FeedEpisode, type ParsedFeed, parseFeed } from './import/parse-feed.ts';
export { notesText, sanitizeNotes } from './import/sanitize.ts';
export { mp4HeaderBytes } from './media/mp4-boxes.ts';
export { type Probe, probeMedia } from './media/probe.ts';
export { catalogMigrations } from './migrations.ts';
export {
  type PageViewRecorder,
  type PageViewRecorderOptions,
  type PageViewStats,
  streamPageViews,
} from './page-view-recorder.ts';
export {
  type CountedViews,
  consumePageViews,
  countPageViews,
  decodePageViews,
  forgetPageViews,
  maxEpisodesPerFact,
  type PageViewConsumer,
  type PageViewConsumerOptions,
  type PageViews,
  pageViewGroup,
  pageViewKeepMs,
  pageViewSubject,
} from './page-views.ts';
export {
  adoptUpload,
  getUpload,
  type PublishInput,
  publishEpisode,
  type RecoveryReport,
  recoverPublishing,
  storeUpload,
  type Upload,
} from './publish.ts';
export {
  episodesWithAdBreaks,
  type PublishedEpisodeMedia,
  publishedEpisodeMedia,
  setRoleByEmail,
  showTitles,
  websubSubscriptions,
} from './reads-for-parts.ts';
export { episodesGoingLive, scheduleEpisode } from './schedule.ts';
export { type SearchHit, search } from './search.ts';
export {
  absentMedia,
  isEpisodeMedia,
  type MissingMedia,
  mediaPresent,
  missingMedia,
  type SeedableEpisode,
  seedableEpisodes,
  seedableTorrents,
} from './seedable.ts';
export { keyedShowSlugs, nextSeq, showKey, showPublicKey } from './show-key.ts';
export {
  createShow,
  getShow,
  getShowById,
  popularShows,
  publicShows,
  type Show,
  type ShowInput,
  showForEditing,
  showsOf,
} from './shows.ts';
export { isSlug, slugify } from './slug.ts';
export {
  isTakenDown,
  reinstateEpisode,
  reinstateShow,
  type TakenDown,
  type TakenDownShow,
  takeDownEpisode,
  takeDownShow,
  takenDownEpisodes,
  takenDownMediaPaths,
  takenDownShows,
} from './takedown.ts';
export { makeHybridTorrent } from './torrent-maker.ts';
export { setChapters } from './transcripts/chapters.ts';
export {
  type Cue,
  maxTranscriptBytes,
  parseTranscript,
  renderTranscript,
  type TranscriptFormat,
  toJsonTranscript,
  toSrt,
  toWebVtt,
  transcriptTypes,
} from './transcripts/parse-transcript.ts';
export { setTranscript, type Transcript } from './transcripts/transcripts.ts';
export { type V1Companion, v1Companion } from './v1-companion.ts';
