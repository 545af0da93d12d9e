import { cappedRtcFactory, type RtcPeerConnectionLike } from '@swarmcast/bittorrent';
import { describe, expect, it } from 'vitest';
import { hasRelay, readIceServers } from '../src/p2p/ice-config.ts';

describe("the node's ICE servers (outside input)", () => {
  it('keeps STUN and TURN with credentials, in the W3C shape', () => {
    const body = {
      iceServers: [
        { urls: ['stun:192.0.2.7:8080'] },
        { urls: ['turn:192.0.2.8:3478?transport=udp'], username: '1700000000:abc', credential: 'c2VjcmV0' },
      ],
      ttlSeconds: 3600,
    };
    const servers = readIceServers(body);
    expect(servers).toEqual(body.iceServers);
    expect(hasRelay(servers)).toBe(true);
    expect(hasRelay(readIceServers({ iceServers: [{ urls: 'stun:x' }] }))).toBe(false);
  });

  it.each([
    null,
    'text',
    [],
    { iceServers: 'stun:x' },
    {
      iceServers: [null, 5, 'stun:x', { urls: 5 }, { urls: ['http://x', 'javascript:alert(1)', 'stun:a b'] }],
    },
    // TURN without credentials would make the RTCPeerConnection constructor throw.
    { iceServers: [{ urls: ['turn:x'] }, { urls: ['turn:x'], username: 'u', credential: 7 }] },
    { iceServers: [{ urls: ['turn:x'], username: 'u'.repeat(300), credential: 'p' }] },
  ])('drops what is not an ICE server: %j', (body) => {
    expect(readIceServers(body)).toEqual([]);
  });

  it('bounds the list', () => {
    const many = { iceServers: Array.from({ length: 50 }, () => ({ urls: Array(50).fill('stun:x') })) };
    const out = readIceServers(many);
    expect(out.length).toBe(8);
    expect(out[0]?.urls.length).toBe(8);
  });
});

describe('the cap on peer connections per page', () => {
  const fake = () => {
    const pc = { connectionState: 'new', close() {} } as unknown as RtcPeerConnectionLike & {
      connectionState: string;
    };
    return pc;
  };
  it('refuses beyond the cap and counts closed or failed connections out', () => {
    const made: (RtcPeerConnectionLike & { connectionState: string })[] = [];
    const f = cappedRtcFactory(() => {
      const pc = fake();
      made.push(pc);
      return pc;
    }, 3);
    f();
    f();
    f();
    expect(() => f()).toThrow(/cap of 3/);
    expect(f.live()).toBe(3);
    made[0]?.close();
    expect(f.live()).toBe(2);
    (made[1] as { connectionState: string }).connectionState = 'failed';
    expect(f.live()).toBe(1);
    f();
    f();
    expect(() => f()).toThrow();
    expect(made.length).toBe(5);
  });
});
