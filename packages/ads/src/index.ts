// The public surface of @swarmcast/ads (see README.md beside this folder).

export { adLoadFloorMs, adLoadShare, boundedBreak, breakAllowanceMs, episodeAdBudgetMs } from './ad-load.ts';
export {
  type Availability,
  availabilityWindowMs,
  InventoryLog,
  type InventoryRow,
  type InventoryShape,
} from './availability.ts';
export { BatchSigner } from './batch-signer.ts';
export { type CreativeTorrentOptions, creativeTorrentPublisher } from './creative-torrent.ts';
export { absoluteUrl, presentCreative } from './creative-urls.ts';
export {
  type BreakAnswer,
  type BreakRequest,
  type DecideDeps,
  decideBreak,
  decideBreakShared,
  type EpisodeLookup,
  findBreak,
  type PodSigner,
} from './decide.ts';
export {
  type PublicKeys,
  type SignatureMemo,
  type SigningKey,
  signDecision,
  signPod,
  signPods,
  type VerifyResult,
  verifyDecisionToken,
} from './decision-token.ts';
export { type AdsError, type AdsErrorCode, AdsFailure, adsErrors } from './errors.ts';
export { capsAllow } from './frequency-caps.ts';
export type { AdsAuth, AdsPrincipal } from './http/access.ts';
export type { PublishCreative, ShowLookup, TargetableShow } from './http/context.ts';
export { type AdsPluginDeps, adsPlugin } from './http/plugin.ts';
export { deviceFromUserAgent, parseCountry, parseListenerId } from './http/request-context.ts';
export {
  breakPositionMacro,
  clockTime,
  expandMacros,
  type MacroValue,
  macroValue,
  withheld,
} from './macros.ts';
export {
  type FeedbackStats,
  feedbackGroup,
  MeasuredFeedback,
  readMeasuredDelivery,
} from './measured-feedback.ts';
export { checkMedia, type SniffedMedia, sniffMedia } from './media-sniff.ts';
export type {
  Advertiser,
  ApprovalState,
  Campaign,
  CampaignSpend,
  Companion,
  Creative,
  DayPart,
  DeviceClass,
  FrequencyCap,
  Goal,
  LineItem,
  LineItemDelivery,
  PriorityClass,
  Targeting,
} from './model.ts';
export {
  type AdOpportunity,
  OpportunityPublisher,
  type OpportunityPublisherOptions,
  opportunitySubject,
} from './opportunities.ts';
export { type Pace, type PaceSettings, type PaceStatus, pace, plannedAt } from './pacing.ts';
export {
  adsMigrations,
  loadModel,
  loadStore,
  ownsAdvertiser,
  recordMeasured,
  saveAdvertiser,
  saveCampaign,
  saveCreative,
  saveDelivery,
  saveLineItem,
} from './persistence.ts';
export {
  type CampaignReport,
  campaignReport,
  type DayRow,
  type DeliveryFigures,
  type LineItemReport,
} from './report.ts';
export {
  type Candidate,
  eligibility,
  type Ineligible,
  type PodRequest,
  type PodSlot,
  type PodView,
  selectPod,
} from './select-pod.ts';
export { type ClaimLog, type ClaimRecord, dbClaimLog } from './shared-claims.ts';
export {
  type ClaimRequest,
  type RedisScripts,
  redisSharedDelivery,
  type SharedDelivery,
} from './shared-delivery.ts';
export { claimSharedPod, type SharedPod, type SharedPodAsk } from './shared-pod.ts';
export { sharedFigures } from './shared-report.ts';
export {
  type DeliverySeed,
  emptySeed,
  loadDeliverySeed,
  type SeedSource,
} from './shared-seed.ts';
export {
  dropRetiredBefore,
  exportPublicKey,
  exportSigningKey,
  generateSigningKey,
  importPublicKeys,
  importSigningKey,
  type KeyRing,
  keyRing,
  publicKeysOf,
  rotateKey,
  type SigningKeyJwk,
} from './signing-keys.ts';
export {
  decidePlan,
  decideStitchPlan,
  type PlanDeps,
  type PlannedAd,
  type PlannedBreak,
  type PlanRequest,
  plannedAds,
  type StitchPlan,
} from './stitch/decide-plan.ts';
export {
  defaultPlanLimits,
  type LookedUp,
  loadPlan,
  loadPlansById,
  lookupPlans,
  type PlanKey,
  type PlanLayout,
  type PlanLimits,
  type PlanToStore,
  prunePlans,
  type StoredPlan,
  type StoreOutcome,
  saveLayout,
  sharedPlanKey,
  shiftedMs,
  stitchPlanMigrations,
  storePlans,
} from './stitch/plan-store.ts';
export { type PlanAnswer, type PlanAsk, StitchPlanner, type StitchPlannerOptions } from './stitch/planner.ts';
export { type PreparedAd, PreparedAds, type PreparedAdsOptions } from './stitch/prepared-ads.ts';
export { AdsStore, defaultCapHoldMs, defaultReservationMs, type HourDelivery } from './store.ts';
export { inDayPart, matchesTargeting, type TargetingContext } from './targeting.ts';
export { formatTimeOffset, parseTimeOffset, type TimeOffset, type TimeOffsetForm } from './time-offset.ts';
export {
  type DecisionClaims,
  type MeasuredDelivery,
  measuredDeliveryId,
  measuredDeliverySubject,
  type TrackingEvent,
  trackingEvents,
  trackingPathPrefix,
} from './tracking-contract.ts';
export { trackingUrl } from './tracking-urls.ts';
export { renderVast, type VastAd } from './vast.ts';
export { renderEmptyVmap, renderVmap, vastTagUrl } from './vmap.ts';
