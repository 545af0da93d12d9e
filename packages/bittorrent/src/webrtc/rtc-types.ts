/**
 * The slice of the W3C WebRTC API the engine uses, as structural types, so that the
 * browser's RTCPeerConnection and node-datachannel's polyfill both fit without casts.
 */
export interface RtcSessionDescription {
  type: 'offer' | 'answer' | 'pranswer' | 'rollback';
  sdp?: string;
}

export interface RtcDataChannelLike {
  binaryType: string;
  readonly readyState: string;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onbufferedamountlow: ((ev: unknown) => void) | null;
  send(data: ArrayBufferView | ArrayBuffer): void;
  close(): void;
}

export interface RtcPeerConnectionLike {
  readonly iceGatheringState: string;
  readonly connectionState: string;
  readonly localDescription: RtcSessionDescription | null;
  onicegatheringstatechange: ((ev: unknown) => void) | null;
  onconnectionstatechange: ((ev: unknown) => void) | null;
  ondatachannel: ((ev: { channel: RtcDataChannelLike }) => void) | null;
  createDataChannel(label: string, init?: { ordered?: boolean }): RtcDataChannelLike;
  createOffer(): Promise<RtcSessionDescription>;
  createAnswer(): Promise<RtcSessionDescription>;
  setLocalDescription(description: RtcSessionDescription): Promise<void>;
  setRemoteDescription(description: RtcSessionDescription): Promise<void>;
  close(): void;
}

/** A STUN or TURN server (the W3C RTCIceServer dictionary). */
export interface RtcIceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** Makes peer connections: the browser's constructor, or node-datachannel's polyfill in Node. */
export type RtcFactory = () => RtcPeerConnectionLike;
