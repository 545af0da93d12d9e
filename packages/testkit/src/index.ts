export { chromiumLaunchOptions } from './chromium.ts';
export { type Coturn, type CoturnOptions, coturnArgs, startCoturn } from './coturn.ts';
export { fileServer } from './file-server.ts';
export { gatedStream } from './gated-stream.ts';
export {
  createNatLab,
  type HomeSpec,
  type LabHome,
  type NatKind,
  type NatLab,
  natLabPrerequisite,
} from './netns.ts';
export { type Nginx, type NginxOptions, startNginx } from './nginx.ts';
export { type OwnNats, ownNats } from './own-nats.ts';
export { type OwnPostgres, ownPostgres, postgresBinDir } from './own-postgres.ts';
export { scratchPostgres } from './postgres.ts';
export {
  type Prerequisite,
  requireBinaries,
  requireServices,
  type Service,
  serviceUrl,
  which,
} from './prerequisites.ts';
export { prng } from './prng.ts';
export { cpuSeconds } from './proc-cpu.ts';
export { type QbittorrentPorts, writeQbittorrentProfile } from './qbittorrent.ts';
export { freePort, scratchDir, waitFor } from './scratch.ts';
export { type TransmissionDaemon, transmissionDaemon, writeTransmissionSettings } from './transmission.ts';
