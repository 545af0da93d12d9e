import { type ChildProcess, spawn } from 'node:child_process';
import { waitFor, writeQbittorrentProfile } from '@swarmcast/testkit';

/**
 * qbittorrent-nox (seeding or downloading) with a throwaway profile on loopback (see INTEROP.md): no DHT, LSD,
 * PEX, UPnP or encryption, TCP only, several connections per IP, Web API without login from
 * 127.0.0.1. The torrent is added through the Web API and checked (no skip_checking: a
 * libtorrent "seed mode" torrent hashes lazily and never dials).
 */
export async function qbittorrent(
  profile: string,
  savePath: string,
  o: { requireEncryption?: boolean; allowEncryption?: boolean; protocol?: 'TCP' | 'UTP' | 'Both' } = {},
) {
  const { webui, port } = await writeQbittorrentProfile(profile, savePath, o);
  const child: ChildProcess = spawn('qbittorrent-nox', [`--profile=${profile}`, `--webui-port=${webui}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, QT_QPA_PLATFORM: 'offscreen' },
  });
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + String(d)).slice(-10_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const api = `http://127.0.0.1:${webui}/api/v2`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`qbittorrent-nox exited ${child.exitCode}: ${log}`);
      try {
        const r = await fetch(`${api}/app/version`);
        await r.arrayBuffer();
        return r.ok;
      } catch {
        return false;
      }
    },
    30_000,
    'the qBittorrent Web API',
    200,
  );
  return {
    port,
    api,
    /** The qbittorrent-nox process id (for CPU time from /proc). */
    pid: child.pid ?? 0,
    log: () => log,
    async add(torrent: Uint8Array): Promise<void> {
      const form = new FormData();
      form.append('torrents', new Blob([Buffer.from(torrent)]), 'x.torrent');
      form.append('savepath', savePath);
      const r = await fetch(`${api}/torrents/add`, { method: 'POST', body: form });
      const text = await r.text();
      if (!r.ok || text.trim() !== 'Ok.') throw new Error(`torrents/add: ${r.status} ${text}`);
    },
    /** Adds a magnet link (the torrent's metadata must then come from peers). */
    async addMagnet(magnet: string, into: string): Promise<void> {
      const form = new FormData();
      form.append('urls', magnet);
      form.append('savepath', into);
      const r = await fetch(`${api}/torrents/add`, { method: 'POST', body: form });
      const text = await r.text();
      if (!r.ok || text.trim() !== 'Ok.') throw new Error(`torrents/add: ${r.status} ${text}`);
    },
    async addPeer(hash: string, peer: string): Promise<void> {
      const body = new URLSearchParams({ hashes: hash, peers: peer });
      const r = await fetch(`${api}/torrents/addPeers`, { method: 'POST', body });
      await r.arrayBuffer();
    },
    /**
     * Waits until the torrent is complete, adding `peer` again every `everyMs` while it is
     * not: qBittorrent drops a peer added before the torrent has loaded, and does not soon
     * retry a refused first dial (a loaded machine).
     */
    async completeFrom(hash: string, peer: string, timeoutMs: number, what: string, everyMs = 5000) {
      let dialled = 0;
      await waitFor(
        async () => {
          const i = await this.info(hash);
          if (i && i.progress < 1 && Date.now() - dialled > everyMs) {
            dialled = Date.now();
            await this.addPeer(hash, peer);
          }
          return i?.progress === 1;
        },
        timeoutMs,
        what,
        250,
      );
    },
    async info(hash: string): Promise<{ progress: number; state: string } | undefined> {
      // By v1 hash: qBittorrent names a hybrid torrent by its truncated v2 hash.
      const r = await fetch(`${api}/torrents/info`);
      const list = (await r.json()) as { progress: number; state: string; infohash_v1: string }[];
      return list.find((t) => t.infohash_v1 === hash);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
