// The public surface of @swarmcast/measure (see README.md beside this folder).
export type {
  AdBeaconEvent,
  AdOpportunityEvent,
  EdgeInfo,
  PlayBeacon,
  PlayBeaconEvent,
  PlayEvent,
} from './beacon-types.ts';
export { playEvents, subjects } from './beacon-types.ts';
export {
  type CollectorOptions,
  type CollectorStats,
  collectorRoutes,
  type EdgeClassifier,
  playBeaconPath,
} from './collect/collector.ts';
export { edgeClassifier } from './collect/edge.ts';
export { type AdBeaconQuery, parseAdBeacon, parsePlayBeacon } from './collect/parse-beacons.ts';
export { type MeasureErrorCode, measureErrors } from './errors.ts';
export {
  adDeliveryMigrations,
  invalidateDelivery,
  type SettleOptions,
  type SettleResult,
  settleDeliveries,
} from './pipeline/deliveries.ts';
export { judgeExpiredHolds } from './pipeline/held-beacons.ts';
export { measureMigrations } from './pipeline/migrations.ts';
export { deliveryOf, enqueueDelivery, flushOutbox } from './pipeline/outbox.ts';
export {
  invalidateDecision,
  type PipelineStats,
  pipelineGroup,
  registerEpisode,
  startPipeline,
} from './pipeline/pipeline.ts';
export { type BatchResult, type PipelineOptions, processBatch } from './pipeline/process-batch.ts';
export { type MeasureDeps, type MeasureHandle, measurePlugin } from './plugin.ts';
export type { AdvertiserReport, CampaignFigures } from './reports/advertiser-report.ts';
export {
  type AudienceBreakdown,
  type AudienceCell,
  type AudienceDimension,
  audienceCsv,
  audienceDimensions,
  buildAudience,
} from './reports/audience.ts';
export {
  buildCreatorReport,
  type CreatorReport,
  type EpisodeFigures,
  type ShowFigures,
} from './reports/creator-report.ts';
export { adminCsv, advertiserCsv, creatorCsv, csvField } from './reports/csv.ts';
export { esc } from './reports/html.ts';
export { loadEpisodes, loadFacts, type Period } from './reports/load.ts';
export { type AdminReport, Reports } from './reports/reports.ts';
export {
  denyAllReports,
  parsePeriod,
  type ReportAccess,
  type ReportAuthorizer,
  type ReportScope,
  reportRoutes,
} from './reports/routes.ts';
export { type HeldAdBeacon, releaseHeldBeacons } from './rules/ad-hold.ts';
export {
  type AdDelivery,
  type AdEventRow,
  adDelivery,
  type BreakFill,
  fillRates,
} from './rules/ad-metrics.ts';
export {
  type AdRuleReason,
  type DecisionState,
  defaultAdTimingRules,
  judgeAdBeacon,
} from './rules/ad-sequence.ts';
export { type ByteRange, coveredBytes, mergeRanges } from './rules/byte-coverage.ts';
export {
  countDownloads,
  type DownloadCount,
  type DownloadFilterReason,
  type DownloadRules,
  defaultDownloadRules,
  filterDownload,
  isRangeProbe,
  type QualifiedDownload,
  torrentCompletions,
} from './rules/downloads.ts';
export { downloadThreshold, type EpisodeMedia } from './rules/episode-media.ts';
export { defaultHoldMs, type Held, maxHeldPerKey, releaseHeld } from './rules/hold.ts';
export { defaultIvtRules, type IvtReason, ivtReason } from './rules/ivt.ts';
export {
  corroborated,
  type Evidence,
  isAnnounceEvidence,
  isDownloadEvidence,
  listenThrough,
  type PlayRow,
  p2pOffload,
  uniqueListeners,
} from './rules/play-metrics.ts';
export {
  type HeldPlayBeacon,
  judgePlayBeacon,
  type PlayRuleReason,
  type PlaySession,
  releaseHeldPlays,
} from './rules/play-sequence.ts';
export { defaultK, suppress } from './rules/suppress.ts';
export { countedTimes, type WindowKind, windowKinds } from './rules/windows.ts';
export { inclusionProof, leafHash, merkleRoot, verifyInclusion } from './statements/merkle.ts';
export { statementRoutes } from './statements/routes.ts';
export {
  canonicalJson,
  type Statement,
  type StatementBundle,
  type StatementKeys,
  type StatementLeaf,
  signStatement,
  type Verification,
  verifyStatementBundle,
  wellKnownStatementKeys,
} from './statements/statement.ts';
export { dailyStatement, statementKeys } from './statements/store.ts';
