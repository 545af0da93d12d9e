export { PeerConnection } from './peer-connection.ts';
export { type LinkExtensionOptions, PeerConnectionLink } from './peer-connection-link.ts';
export { PeerErrorCode } from './peer-errors.ts';
export { type PeerEvents, peerEvents, type RequestEndReason } from './peer-events.ts';
export type { BlockRequest, PeerConnectionOptions, PieceLayout } from './peer-options.ts';
export { RateMeter } from './rate-meter.ts';
