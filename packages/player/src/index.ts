// The public surface of @swarmcast/player (see README.md beside this folder).
export {
  type BreakCue,
  type BreakPosition,
  breakForMove,
  breakToPrefetch,
  parseTimeOffset,
  type ResolveResult,
  resolveBreaks,
  type ScheduledBreak,
  type TimelineMove,
  type TimeOffset,
  type VmapBreak,
} from './ad-schedule.ts';
export {
  type AdTrackers,
  type AdView,
  type Beacon,
  type BeaconEvent,
  canSkip,
  initialTracking,
  type LinearEvent,
  linearEvents,
  type MediaSignal,
  type TrackingState,
  track,
} from './ad-tracking.ts';
export {
  type PieceSource,
  parseRange,
  pieceSources,
  piecesForRange,
  type RangeRequest,
} from './delivery/byte-range.ts';
export {
  type KeyValueStore,
  listenerId,
  listenerIdKey,
  newListenerId,
  type PrivacySignals,
  privacyWithholds,
  utcMonthOf,
  withListenerId,
} from './listener-id.ts';
export {
  maxStepMs,
  newPlaySession,
  type PlayBeacon,
  type PlayEvent,
  type PlaySession,
  type PlaySignal,
  playEvents,
  playStep,
} from './play-beacons.ts';
export {
  type BreakContext,
  type BreakEnv,
  type BreakUi,
  fetchPod,
  runAdBreak,
} from './ui/ad-break-runner.ts';
export { adLabel, clockLabel, p2pStatus, skipLabel } from './ui/labels.ts';
export { mountPlayer, type PlayerHandle, type PlayerOptions, type TransferStats } from './ui/mount-player.ts';
export { mediaErrorToVast, type VastErrorCode, vastErrors } from './vast-errors.ts';
export {
  type BreakPositionCode,
  cacheBuster,
  fillMacros,
  type MacroContext,
  vastClock,
} from './vast-macros.ts';
export {
  type LinearAd,
  linearAdsOf,
  type MediaFileChoice,
  pickMediaFile,
  readVast,
  type VastReadResult,
} from './vast-read.ts';
export { readVmap } from './vmap-read.ts';
