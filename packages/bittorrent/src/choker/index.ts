export {
  type ChokerPeer,
  type ChokerSettings,
  type ChokerState,
  INITIAL_CHOKER_STATE,
  type UnchokeDecision,
  unchokeOrder,
} from './unchoke-order.ts';
