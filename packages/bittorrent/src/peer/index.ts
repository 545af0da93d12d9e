export {
  type BlockRequest,
  PeerConnection,
  type PeerConnectionOptions,
  type PieceLayout,
} from './peer-connection.ts';
export { PeerConnectionLink } from './peer-connection-link.ts';
export { PeerErrorCode } from './peer-errors.ts';
export type { PeerEvents, RequestEndReason } from './peer-events.ts';
export { RateMeter } from './rate-meter.ts';
