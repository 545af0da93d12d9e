import { durationHint, windowedEnd } from '@swarmcast/bittorrent/media-window';
import { describe, expect, it } from 'vitest';
import { rangeHead } from '../src/p2p/range-responder.ts';
import {
  defaultSharing,
  rateLabel,
  readSharing,
  uploadCapOf,
  writeSharing,
} from '../src/p2p/sharing-settings.ts';
import {
  mediaTypeOf,
  p2pMediaUrl,
  streamKeyOf,
  streamKeyOfUrl,
  streamUrl,
} from '../src/p2p/stream-protocol.ts';

describe('sharing settings (stored text is outside input)', () => {
  it('round-trips the choices the player offers', () => {
    const s = { peers: 'relay' as const, share: false, uploadLimit: 128 * 1024, keepMinutes: 30 };
    expect(readSharing(writeSharing(s))).toEqual(s);
    expect(readSharing(writeSharing({ ...s, peers: 'off' })).peers).toBe('off');
  });
  it('keeps the other choices when the peer mode is unknown (an older or edited value)', () => {
    expect(readSharing('{"peers":"everyone","share":false,"uploadLimit":0,"keepMinutes":5}')).toEqual({
      peers: 'share',
      share: false,
      uploadLimit: 0,
      keepMinutes: 5,
    });
  });
  it.each([
    null,
    '',
    'not json',
    '[]',
    'null',
    '{"share":"yes","uploadLimit":-5,"keepMinutes":1e9}',
    '{"uploadLimit":{"valueOf":1}}',
    `{"share":true,"pad":"${'x'.repeat(2000)}"}`,
  ])('gives the defaults for %j', (text) => {
    expect(readSharing(text)).toEqual(defaultSharing);
  });
  it('maps to the engine cap: off = 0, no limit = none', () => {
    const base = { peers: 'share' as const, keepMinutes: 0 };
    expect(uploadCapOf({ ...base, share: false, uploadLimit: 0 })).toBe(0);
    expect(uploadCapOf({ ...base, peers: 'off', share: true, uploadLimit: 0 })).toBe(0);
    expect(uploadCapOf({ ...base, share: true, uploadLimit: 0 })).toBeUndefined();
    expect(uploadCapOf({ ...base, peers: 'relay', share: true, uploadLimit: 32 * 1024 })).toBe(32 * 1024);
    expect([0, 1024 * 1024, 512 * 1024].map(rateLabel)).toEqual(['No limit', '1 MB/s', '512 KB/s']);
  });
});

describe('range answers of the Service Worker stream', () => {
  it.each([
    [null, 200, '0-999', undefined],
    ['bytes=0-', 206, '0-999', 'bytes 0-999/1000'],
    ['bytes=100-199', 206, '100-199', 'bytes 100-199/1000'],
    ['bytes=-10', 206, '990-999', 'bytes 990-999/1000'],
    ['bytes=990-5000', 206, '990-999', 'bytes 990-999/1000'],
    ['bytes=1000-', 416, '0--1', 'bytes */1000'],
    ['bytes=5-1', 416, '0--1', 'bytes */1000'],
    ['items=0-1', 200, '0-999', undefined],
  ])('%s -> %i', (header, status, span, contentRange) => {
    const h = rangeHead(header, 1000, 'audio/mpeg');
    expect(h.status).toBe(status);
    expect(`${h.start}-${h.end}`).toBe(span);
    expect(h.headers['content-range']).toBe(contentRange);
    if (status !== 416) expect(Number(h.headers['content-length'])).toBe(h.end - h.start + 1);
  });
});

describe('stream URLs', () => {
  it('carry a hex key and the origin fallback; other paths are not ours', () => {
    const u = new URL(streamUrl('ab'.repeat(20), 'ep 1.mp3', 'http://h/media/ep%201.mp3'), 'http://h');
    expect(streamKeyOf(u.pathname)).toBe('ab'.repeat(20));
    expect(u.searchParams.get('origin')).toBe('http://h/media/ep%201.mp3');
    for (const p of ['/media/x.mp3', '/assets/stream/', '/assets/stream/zz/x', '/assets/stream/../x'])
      expect(streamKeyOf(p)).toBeNull();
    expect(mediaTypeOf('a.MP4')).toBe('video/mp4');
    expect(mediaTypeOf('noext')).toBe('application/octet-stream');
  });
});

describe('marked media URLs (origin first, swarm at the next window)', () => {
  it('carry the stream key on the origin URL; other URLs are not ours', () => {
    const u = new URL(p2pMediaUrl('https://cdn.example/media/ep%201.mp3?sig=x', 'ab'.repeat(8)));
    expect(u.origin + u.pathname).toBe('https://cdn.example/media/ep%201.mp3');
    expect(u.searchParams.get('sig')).toBe('x');
    expect(streamKeyOfUrl(u)).toBe('ab'.repeat(8));
    expect(streamKeyOfUrl(new URL('https://h/media/x.mp3'))).toBeNull();
    expect(streamKeyOfUrl(new URL('https://h/media/x.mp3?sc-p2p=../x'))).toBeNull();
    expect(streamKeyOfUrl(new URL(`https://h${streamUrl('cd'.repeat(8), 'x.mp3', 'https://h/x.mp3')}`))).toBe(
      'cd'.repeat(8),
    );
  });
  it('carry the duration in whole seconds when known (the origin sizes its start-up hold by it), and only then', () => {
    const key = 'ab'.repeat(8);
    expect(new URL(p2pMediaUrl('https://h/x.mp3', key, 1_234_567)).searchParams.get('sc-dur')).toBe('1235');
    expect(new URL(p2pMediaUrl('https://h/x.mp3', key)).searchParams.has('sc-dur')).toBe(false);
    expect(new URL(p2pMediaUrl('https://h/x.mp3', key, 400)).searchParams.has('sc-dur')).toBe(false);
    expect([
      durationHint('1235'),
      durationHint('0'),
      durationHint('-5'),
      durationHint('1e9'),
      durationHint('12345678'),
    ]).toEqual([1235, undefined, undefined, undefined, undefined]);
  });
  it.each([
    [true, 'bytes=0-', 0, 999_999, 524_287],
    [true, 'bytes=600000-', 600_000, 999_999, 999_999],
    [true, 'bytes = 100 - ', 100, 999_999, 524_387],
    [true, 'bytes=0-999999', 0, 999_999, 999_999],
    [false, 'bytes=0-', 0, 999_999, 999_999],
    [true, null, 0, 999_999, 999_999],
  ])('marked %s, %s, [%i, %i] -> ends at %i', (marked, header, start, end, want) => {
    expect(windowedEnd(marked, header, start, end)).toBe(want);
  });
});
