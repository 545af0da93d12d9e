/**
 * The listener's sharing limits (polite peers), as a pure value stored in localStorage:
 * whether to upload at all, the upload cap, and how long to keep sharing after playback
 * ends while the page stays open. Stored text is outside input: anything unreadable gives
 * the defaults.
 */

export interface SharingSettings {
  /** Upload to other listeners at all. */
  share: boolean;
  /** Upload cap in bytes/s; 0 = no cap. */
  uploadLimit: number;
  /** Minutes to keep sharing after playback ends (page open). */
  keepMinutes: number;
}

export const sharingKey = 'swarmcast.sharing';
export const defaultSharing: SharingSettings = { share: true, uploadLimit: 512 * 1024, keepMinutes: 10 };
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
  return JSON.stringify({ share: s.share, uploadLimit: s.uploadLimit, keepMinutes: s.keepMinutes });
}

/** The engine's upload cap for these settings: undefined = none, 0 = no uploads. */
export function uploadCapOf(s: SharingSettings): number | undefined {
  if (!s.share) return 0;
  return s.uploadLimit > 0 ? s.uploadLimit : undefined;
}

/** "1 MB/s", "512 KB/s", "No limit". */
export function rateLabel(bytesPerSecond: number): string {
  if (bytesPerSecond <= 0) return 'No limit';
  return bytesPerSecond >= 1024 * 1024
    ? `${Math.round(bytesPerSecond / (1024 * 1024))} MB/s`
    : `${Math.round(bytesPerSecond / 1024)} KB/s`;
}
