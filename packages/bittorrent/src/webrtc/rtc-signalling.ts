import type { Timers } from '../timers.ts';
import { codedError, type DialResult, type RemoteInfo } from '../transport.ts';
import { DataChannelTransport } from './data-channel-transport.ts';
import type {
  RtcDataChannelLike,
  RtcFactory,
  RtcPeerConnectionLike,
  RtcSessionDescription,
} from './rtc-types.ts';

/**
 * Non-trickle signalling, as WebTorrent's tracker protocol expects: an offer or answer is
 * sent once, with every ICE candidate already inside its SDP. So each side waits for ICE
 * gathering to complete before its description leaves. (node-datachannel's polyfill never
 * emits the final null `icecandidate` event, so we watch `iceGatheringState` instead,
 * which both it and browsers update.)
 */
export interface SignallingOptions {
  factory: RtcFactory;
  timers: Timers;
  /** How long ICE gathering may take before we send what we have. */
  gatherTimeoutMs?: number;
  /** How long the data channel may take to open once both descriptions are set. */
  connectTimeoutMs?: number;
}

export interface PendingOffer {
  /** The complete offer (with candidates) to hand to the tracker. */
  readonly offer: RtcSessionDescription;
  /** Completes the connection with the remote answer. */
  accept(answer: RtcSessionDescription, remote?: Partial<RemoteInfo>): Promise<DialResult>;
  /** Drops an offer no one answered. */
  cancel(): void;
}

export interface PendingAnswer {
  readonly answer: RtcSessionDescription;
  /** Resolves once the offerer's data channel is open here. */
  readonly connected: Promise<DialResult>;
}

function gathered(pc: RtcPeerConnectionLike, timers: Timers, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const timer = timers.setTimeout(done, timeoutMs);
    function done() {
      timer.cancel();
      pc.onicegatheringstatechange = null;
      resolve();
    }
    pc.onicegatheringstatechange = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
  });
}

function opened(
  pc: RtcPeerConnectionLike,
  channel: Promise<RtcDataChannelLike>,
  timers: Timers,
  timeoutMs: number,
  remote: Partial<RemoteInfo> & { outgoing: boolean },
): Promise<DialResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: DialResult) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      pc.onconnectionstatechange = null;
      if (!result.ok) pc.close();
      resolve(result);
    };
    const timer = timers.setTimeout(
      () =>
        finish({
          ok: false,
          error: codedError('BT_WEBRTC_TIMEOUT', `no data channel within ${timeoutMs} ms`),
        }),
      timeoutMs,
    );
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
        finish({ ok: false, error: codedError('BT_WEBRTC_FAILED', `peer connection ${pc.connectionState}`) });
      }
    };
    channel.then((dc) => {
      const ready = () => finish({ ok: true, transport: new DataChannelTransport(dc, pc, remote) });
      if (dc.readyState === 'open') ready();
      else dc.onopen = ready;
    });
  });
}

/** Creates a peer connection with one data channel and a complete offer for it. */
export async function createOffer(options: SignallingOptions): Promise<PendingOffer> {
  const { factory, timers, gatherTimeoutMs = 5_000, connectTimeoutMs = 30_000 } = options;
  const pc = factory();
  const channel = pc.createDataChannel('swarmcast', { ordered: true });
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, timers, gatherTimeoutMs);
  const offer = pc.localDescription;
  if (!offer?.sdp) {
    pc.close();
    throw new Error('the WebRTC stack produced no local offer');
  }
  return {
    offer: { type: 'offer', sdp: offer.sdp },
    async accept(answer, remote = {}) {
      try {
        await pc.setRemoteDescription(answer);
      } catch (cause) {
        pc.close();
        return { ok: false, error: codedError('BT_WEBRTC_BAD_SDP', 'the remote answer was refused', cause) };
      }
      return opened(pc, Promise.resolve(channel), timers, connectTimeoutMs, { ...remote, outgoing: true });
    },
    cancel: () => pc.close(),
  };
}

/** Answers a remote offer; the result carries the complete answer and the coming connection. */
export async function answerOffer(
  offer: RtcSessionDescription,
  options: SignallingOptions,
  remote: Partial<RemoteInfo> = {},
): Promise<PendingAnswer | { error: ReturnType<typeof codedError> }> {
  const { factory, timers, gatherTimeoutMs = 5_000, connectTimeoutMs = 30_000 } = options;
  const pc = factory();
  const channel = new Promise<RtcDataChannelLike>((resolve) => {
    pc.ondatachannel = (ev) => resolve(ev.channel);
  });
  try {
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
  } catch (cause) {
    pc.close();
    return { error: codedError('BT_WEBRTC_BAD_SDP', 'the remote offer was refused', cause) };
  }
  await gathered(pc, timers, gatherTimeoutMs);
  const answer = pc.localDescription;
  if (!answer?.sdp) {
    pc.close();
    return { error: codedError('BT_WEBRTC_BAD_SDP', 'the WebRTC stack produced no local answer') };
  }
  return {
    answer: { type: 'answer', sdp: answer.sdp },
    connected: opened(pc, channel, timers, connectTimeoutMs, { ...remote, outgoing: false }),
  };
}
