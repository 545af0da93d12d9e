import { RTCPeerConnection } from 'node-datachannel/polyfill';
import WebSocket from 'ws';
import type { RtcFactory, RtcPeerConnectionLike } from '../webrtc/rtc-types.ts';
import type { WebSocketFactory, WebSocketLike } from '../webrtc/websocket-tracker-client.ts';

export interface NodeRtcOptions {
  /**
   * Address ICE binds to. Tests pass 127.0.0.1 so that only loopback candidates are offered
   * (and nothing leaves the machine); a node serving the internet leaves it unset.
   */
  bindAddress?: string;
  /** STUN/TURN URLs; none by default (host candidates only). */
  iceServers?: string[];
}

/** WebRTC peer connections in Node, through libdatachannel (node-datachannel >= 0.33, no downloads). */
export function nodeRtcFactory(options: NodeRtcOptions = {}): RtcFactory {
  const config = {
    iceServers: (options.iceServers ?? []).map((urls) => ({ urls })),
    ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
  };
  return () => new RTCPeerConnection(config) as unknown as RtcPeerConnectionLike;
}

/** WebSockets in Node 20 (which has no global WebSocket), through `ws`. */
export const nodeWebSocket: WebSocketFactory = (url) => new WebSocket(url) as unknown as WebSocketLike;
