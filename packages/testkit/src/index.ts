export { chromiumLaunchOptions } from './chromium.ts';
export { fileServer } from './file-server.ts';
export { scratchPostgres } from './postgres.ts';
export {
  type Prerequisite,
  requireBinaries,
  requireServices,
  type Service,
  serviceUrl,
  which,
} from './prerequisites.ts';
export { type QbittorrentPorts, writeQbittorrentProfile } from './qbittorrent.ts';
export { freePort, scratchDir, waitFor } from './scratch.ts';
export { type TransmissionDaemon, transmissionDaemon, writeTransmissionSettings } from './transmission.ts';
