/**
 * The listener's sharing choices (polite peers), as a pure value stored in localStorage:
 * how to meet peers at all (share / relay-only / off), whether to upload, the upload cap,
 * and how long to keep sharing after playback ends while the page stays open. Stored text
 * is outside input: anything unreadable gives the defaults. The embed reads the same key
 * (it is served from the node's origin), so the choice holds there too.
 */
import { type PeerMode, peerModes } from './ice-config.ts';

export interface SharingSettings {
  /** How this page meets peers: share (default), relay (TURN only), off (web seed only). */
  peers: PeerMode;
  /** Upload to other listeners at all. */
  share: boolean;
  /** Upload cap in bytes/s; 0 = no cap. */
  uploadLimit: number;
  /** Minutes to keep sharing after playback ends (page open). */
  keepMinutes: number;
}

export const sharingKey = 'swarmcast.sharing';
export const defaultSharing: SharingSettings = {
  peers: 'share',
  share: true,
  uploadLimit: 512 * 1024,
  keepMinutes: 10,
};
/** The choices the player offers (bytes/s; 0 = no cap). */
export const uploadLimitChoices = [0, 1024 * 1024, 512 * 1024, 128 * 1024, 32 * 1024] as const;
export const keepMinutesChoices = [0, 5, 10, 30] as const;

export function readSharing(text: string | null): SharingSettings {
  if (!text || text.length > 1000) return { ...defaultSharing };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ...defaultSharing };
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const limit = o.uploadLimit;
  const keep = o.keepMinutes;
  return {
    peers: (peerModes as readonly unknown[]).includes(o.peers) ? (o.peers as PeerMode) : defaultSharing.peers,
    share: typeof o.share === 'boolean' ? o.share : defaultSharing.share,
    uploadLimit: (uploadLimitChoices as readonly unknown[]).includes(limit)
      ? (limit as number)
      : defaultSharing.uploadLimit,
    keepMinutes: (keepMinutesChoices as readonly unknown[]).includes(keep)
      ? (keep as number)
      : defaultSharing.keepMinutes,
  };
}

export function writeSharing(s: SharingSettings): string {
  return JSON.stringify({
    peers: s.peers,
    share: s.share,
    uploadLimit: s.uploadLimit,
    keepMinutes: s.keepMinutes,
  });
}

/** What the listener is told about each way of meeting peers (the disclosure). */
export const peerModeLabels: Record<PeerMode, { label: string; disclosure: string }> = {
  share: {
    label: 'Peer-to-peer',
    disclosure:
      'Listeners exchange the episode directly: peers you connect to see your IP address, as you see theirs.',
  },
  relay: {
    label: 'Peer-to-peer through a relay',
    disclosure:
      "Peers reach you only through this site's relay server: they never see your IP address. Needs the site to run a relay; else playback uses the web.",
  },
  off: { label: 'Off', disclosure: 'No peers: the episode plays from the web only.' },
};

/** The engine's upload cap for these settings: undefined = none, 0 = no uploads. */
export function uploadCapOf(s: SharingSettings): number | undefined {
  if (!s.share || s.peers === 'off') return 0;
  return s.uploadLimit > 0 ? s.uploadLimit : undefined;
}

/** "1 MB/s", "512 KB/s", "No limit". */
export function rateLabel(bytesPerSecond: number): string {
  if (bytesPerSecond <= 0) return 'No limit';
  return bytesPerSecond >= 1024 * 1024
    ? `${Math.round(bytesPerSecond / (1024 * 1024))} MB/s`
    : `${Math.round(bytesPerSecond / 1024)} KB/s`;
}
