import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { encodeBencode } from '../src/bencode.ts';

/**
 * Writes random files under `root/name/...` (or `root/name` for one file) and a v1 .torrent
 * for them, hashed here with node:crypto, independently of the engine.
 */
export async function makeV1Torrent(
  root: string,
  name: string,
  files: { path: string[]; length: number }[],
  pieceLength: number,
  extra: { announce?: string; urlList?: string[] } = {},
): Promise<{
  torrentPath: string;
  torrent: Uint8Array;
  content: Buffer;
  infoHash: string;
  dataPath: string;
}> {
  const single = files.length === 1 && files[0]!.path.length === 0;
  const parts: Buffer[] = [];
  for (const f of files) {
    const data = randomBytes(f.length);
    parts.push(data);
    const path = single ? join(root, name) : join(root, name, ...f.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
  }
  const content = Buffer.concat(parts);
  const hashes: Buffer[] = [];
  for (let o = 0; o < content.length; o += pieceLength) {
    hashes.push(
      createHash('sha1')
        .update(content.subarray(o, o + pieceLength))
        .digest(),
    );
  }
  const enc = (s: string) => new TextEncoder().encode(s);
  const info: Record<string, unknown> = {
    name: enc(name),
    'piece length': pieceLength,
    pieces: new Uint8Array(Buffer.concat(hashes)),
  };
  if (single) info.length = files[0]!.length;
  else info.files = files.map((f) => ({ length: f.length, path: f.path.map(enc) }));
  const top: Record<string, unknown> = { info };
  if (extra.announce) top.announce = enc(extra.announce);
  if (extra.urlList) top['url-list'] = extra.urlList.map(enc);
  const torrent = encodeBencode(top as never);
  const infoHash = createHash('sha1')
    .update(encodeBencode(info as never))
    .digest('hex');
  const torrentPath = join(root, `${name}.torrent`);
  await writeFile(torrentPath, torrent);
  return { torrentPath, torrent, content, infoHash, dataPath: join(root, name) };
}
