import { describe, expect, it } from 'vitest';
import { detectContainer } from '../src/index.ts';
import { concat, frames, id3v2 } from './synth.ts';

const ascii = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));

describe('detectContainer', () => {
  it('MP3, with or without ID3v2 in front, is stitchable', () => {
    expect(detectContainer(frames(4))).toEqual({ container: 'mp3', stitchable: true });
    expect(detectContainer(concat(id3v2(500), frames(4)))).toEqual({ container: 'mp3', stitchable: true });
  });

  it('names what is served plain, with a reason that starts "unsupported:"', () => {
    const cases: Array<[string, Uint8Array]> = [
      ['mp4', concat(new Uint8Array([0, 0, 0, 0x20]), ascii('ftypM4A '), new Uint8Array(40))],
      ['ogg', concat(ascii('OggS'), new Uint8Array(60))],
      ['flac', concat(ascii('fLaC'), new Uint8Array(60))],
      ['wav', concat(ascii('RIFF'), new Uint8Array(4), ascii('WAVE'), new Uint8Array(60))],
      ['aac-adts', concat(new Uint8Array([0xff, 0xf1, 0x50, 0x80, 0x02, 0x1f, 0xfc]), new Uint8Array(200))],
      ['unknown', ascii('<html><body>not audio</body></html>')],
      ['unknown', new Uint8Array(0)],
    ];
    for (const [container, head] of cases) {
      const d = detectContainer(head);
      expect(d.container).toBe(container);
      expect(d.stitchable).toBe(false);
      if (!d.stitchable) expect(d.reason).toMatch(/^unsupported: /);
    }
    const m4a = detectContainer(
      concat(new Uint8Array([0, 0, 0, 0x20]), ascii('ftypM4A '), new Uint8Array(40)),
    );
    expect(!m4a.stitchable && m4a.reason).toContain('MP4/M4A');
  });

  it('MPEG Layer II is named, not called MP3', () => {
    const layer2 = frames(4);
    for (let i = 0; i < 4; i++) {
      layer2[i * 417 + 1] = 0xfd;
      layer2[i * 417 + 2] = 0x80;
    }
    expect(detectContainer(layer2).container).toBe('mpeg-layer12');
  });
});
