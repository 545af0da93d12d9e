// The public surface of @swarmcast/ads (see README.md beside this folder).
export {
  type PublicKeys,
  type SigningKey,
  signDecision,
  type VerifyResult,
  verifyDecisionToken,
} from './decision-token.ts';
export { type AdsError, type AdsErrorCode, adsErrors } from './errors.ts';
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
  type DecisionClaims,
  type TrackingEvent,
  trackingEvents,
  trackingPathPrefix,
} from './tracking-contract.ts';
