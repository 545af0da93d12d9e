import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { iceServersFor, parseIceSettings, turnCredentials } from '../src/index.ts';

describe('ICE settings', () => {
  it('defaults to the node itself, "none" to nothing, and keeps the operator order', () => {
    expect(parseIceSettings(undefined, undefined, undefined).urls).toEqual(['self']);
    expect(parseIceSettings('none', undefined, undefined).urls).toEqual([]);
    const s = parseIceSettings(
      'stun:stun.example.org, self turn:turn.example.org:3478?transport=udp,turns:[2001:db8::1]:5349',
      'a-long-enough-secret',
      '600',
    );
    expect(s).toEqual({
      urls: [
        'stun:stun.example.org',
        'self',
        'turn:turn.example.org:3478?transport=udp',
        'turns:[2001:db8::1]:5349',
      ],
      turnSecret: 'a-long-enough-secret',
      turnTtlSeconds: 600,
    });
  });

  it('mints per-peer TURN credentials that expire (coturn use-auth-secret)', () => {
    const s = parseIceSettings('self,turn:10.0.0.1:3478', 'a-long-enough-secret', '600');
    const servers = iceServersFor(s, 'page-1', 1_000_000_000, { host: '192.0.2.7', port: 8080 });
    expect(servers[0]).toEqual({ urls: ['stun:192.0.2.7:8080'] });
    const turn = servers[1];
    expect(turn?.urls).toEqual(['turn:10.0.0.1:3478']);
    expect(turn?.username).toBe(`${1_000_000 + 600}:page-1`);
    expect(turn?.credential).toBe(
      createHmac('sha1', 'a-long-enough-secret')
        .update(`${1_000_000 + 600}:page-1`)
        .digest('base64'),
    );
    // IPv6 is bracketed once; `self` is left out while the node's address is unknown.
    expect(iceServersFor(s, 'x', 0, { host: '[::1]', port: 1 })[0]?.urls).toEqual(['stun:[::1]:1']);
    expect(iceServersFor(s, 'x', 0, { host: '::1', port: 1 })[0]?.urls).toEqual(['stun:[::1]:1']);
    expect(iceServersFor(s, 'x', 0, null).map((v) => v.urls)).toEqual([['turn:10.0.0.1:3478']]);
  });

  it('keeps the username separator out of the id', () => {
    expect(turnCredentials('a-long-enough-secret', 'a:b/c', 5).username).toBe('5:abc');
    expect(turnCredentials('a-long-enough-secret', '::', 5).username).toBe('5:peer');
  });
});
