import { createRequire } from 'node:module';
import type * as Datachannel from 'node-datachannel';
import type { IceServer as NativeIceServer } from 'node-datachannel';
import type * as DatachannelPolyfill from 'node-datachannel/polyfill';
import type WebSocket from 'ws';
import type { RtcFactory, RtcIceServer, RtcPeerConnectionLike } from '../webrtc/rtc-types.ts';
import type { WebSocketFactory, WebSocketLike } from '../webrtc/websocket-tracker-client.ts';

export interface NodeRtcOptions {
  /**
   * Address ICE binds to. Tests pass 127.0.0.1 so that only loopback candidates are offered
   * (and nothing leaves the machine); a node serving the internet leaves it unset.
   */
  bindAddress?: string;
  /**
   * STUN/TURN servers (W3C RTCIceServer shape, or bare URLs); none by default (host
   * candidates only). A function is asked at each new connection, so TURN credentials that
   * expire are minted fresh.
   */
  iceServers?: readonly (string | RtcIceServer)[] | (() => readonly (string | RtcIceServer)[]);
  /** 'relay': only TURN-relayed candidates (peers never see this host's address). */
  iceTransportPolicy?: 'all' | 'relay';
}

// stun:host[:port], turn:host[:port][?transport=udp|tcp], host may be [IPv6].
const ICE_URL = /^(stuns?|turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/;

/**
 * One W3C ICE server as libdatachannel's: objects for TURN, so that a TURN REST username
 * ("expiry:id") and a base64 password reach it intact (its URL form splits on ':' and '@').
 */
export function nativeIceServers(servers: readonly (string | RtcIceServer)[]): (string | NativeIceServer)[] {
  const out: (string | NativeIceServer)[] = [];
  for (const s of servers) {
    const server = typeof s === 'string' ? { urls: s } : s;
    for (const url of typeof server.urls === 'string' ? [server.urls] : server.urls) {
      const m = ICE_URL.exec(url);
      if (!m) continue;
      const [, scheme, host = '', port, transport] = m;
      const hostname = host.startsWith('[') ? host.slice(1, -1) : host;
      if (scheme === 'stun' || scheme === 'stuns') {
        out.push({ hostname, port: Number(port ?? (scheme === 'stuns' ? 5349 : 3478)) });
        continue;
      }
      if (!server.username || !server.credential) continue;
      out.push({
        hostname,
        port: Number(port ?? (scheme === 'turns' ? 5349 : 3478)),
        username: server.username,
        password: server.credential,
        relayType: scheme === 'turns' ? 'TurnTls' : transport === 'tcp' ? 'TurnTcp' : 'TurnUdp',
      });
    }
  }
  return out;
}

/**
 * node-datachannel (a native addon) and ws are loaded on first use, not with this module:
 * every command that imports `@swarmcast/bittorrent/node` used to load them at start
 * (~90 ms of CPU for `swarmcast get`, which never uses WebRTC). The factories below are
 * synchronous, so this is a CommonJS `require` (both packages ship CommonJS builds; the
 * native binary is one per process either way).
 */
const load = createRequire(import.meta.url);
let datachannel: { native: typeof Datachannel; polyfill: typeof DatachannelPolyfill } | undefined;
let ws: typeof WebSocket | undefined;

let made = 0;

/** WebRTC peer connections in Node, through libdatachannel (node-datachannel >= 0.33, no downloads). */
export function nodeRtcFactory(options: NodeRtcOptions = {}): RtcFactory {
  const servers = options.iceServers;
  return () => {
    datachannel ??= {
      native: load('node-datachannel') as typeof Datachannel,
      polyfill: load('node-datachannel/polyfill') as typeof DatachannelPolyfill,
    };
    const { PeerConnection } = datachannel.native;
    const { RTCPeerConnection } = datachannel.polyfill;
    const list = typeof servers === 'function' ? servers() : (servers ?? []);
    // The polyfill takes a native connection built here, with the ICE servers as objects.
    const native = new PeerConnection(`peer-${++made}`, {
      iceServers: nativeIceServers(list),
      ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
      ...(options.iceTransportPolicy ? { iceTransportPolicy: options.iceTransportPolicy } : {}),
    });
    return new RTCPeerConnection({
      iceServers: [],
      peerConnection: native,
    } as unknown as RTCConfiguration) as unknown as RtcPeerConnectionLike;
  };
}

/** WebSockets in Node 20 (which has no global WebSocket), through `ws`. */
export const nodeWebSocket: WebSocketFactory = (url) => {
  ws ??= load('ws') as typeof WebSocket;
  return new ws(url) as unknown as WebSocketLike;
};
