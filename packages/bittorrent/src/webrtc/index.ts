export { type CappedRtcFactory, cappedRtcFactory } from './capped-rtc-factory.ts';
export { DataChannelTransport } from './data-channel-transport.ts';
export {
  answerOffer,
  createOffer,
  type PendingAnswer,
  type PendingOffer,
  type SignallingOptions,
} from './rtc-signalling.ts';
export type {
  RtcDataChannelLike,
  RtcFactory,
  RtcIceServer,
  RtcPeerConnectionLike,
  RtcSessionDescription,
} from './rtc-types.ts';
export {
  type WebSocketFactory,
  type WebSocketLike,
  WebSocketTrackerClient,
  type WebSocketTrackerOptions,
  type WsTrackerEvent,
} from './websocket-tracker-client.ts';
