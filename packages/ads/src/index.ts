export {
  type DecisionClaims,
  type TrackingEvent,
  trackingEvents,
  trackingPathPrefix,
} from './tracking-contract.ts';
