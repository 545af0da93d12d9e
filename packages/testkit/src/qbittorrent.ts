import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './scratch.ts';

/** The ports a throwaway qbittorrent-nox profile listens on. */
export interface QbittorrentPorts {
  /** Its Web API: http://127.0.0.1:webui/api/v2 (no login from 127.0.0.1). */
  readonly webui: number;
  /** Its BitTorrent listen port on 127.0.0.1. */
  readonly port: number;
}

/**
 * Writes a qbittorrent-nox profile under `profile` for loopback tests (see INTEROP.md): no
 * DHT, LSD, PEX, UPnP or encryption, TCP only on `lo`, several connections per IP, and the
 * Web API without login from 127.0.0.1, on free ports. Start it with
 * `qbittorrent-nox --profile=<profile> --webui-port=<webui>` and QT_QPA_PLATFORM=offscreen.
 */
export async function writeQbittorrentProfile(
  profile: string,
  savePath: string,
  o: { requireEncryption?: boolean; allowEncryption?: boolean; protocol?: 'TCP' | 'UTP' | 'Both' } = {},
): Promise<QbittorrentPorts> {
  const [webui, port] = [await freePort(), await freePort()];
  const configDir = join(profile, 'qBittorrent', 'config');
  await mkdir(configDir, { recursive: true });
  await writeFile(
    join(configDir, 'qBittorrent.conf'),
    [
      '[LegalNotice]',
      'Accepted=true',
      '',
      '[BitTorrent]',
      'Session\\DHTEnabled=false',
      'Session\\LSDEnabled=false',
      'Session\\PeXEnabled=false',
      // TCP (default here), UTP (uTP only, BEP 29, on the UDP port of the same number) or Both.
      `Session\\BTProtocol=${o.protocol ?? 'TCP'}`,
      // 1 = require encryption (MSE/PE) both ways; 2 = off.
      // (0 = prefer: accept and offer both, as a seeder for every mode of a benchmark)
      `Session\\Encryption=${o.requireEncryption ? 1 : o.allowEncryption ? 0 : 2}`,
      'Session\\MultiConnectionsPerIp=true',
      `Session\\Port=${port}`,
      'Session\\Interface=lo',
      'Session\\InterfaceName=lo',
      'Session\\InterfaceAddress=127.0.0.1',
      'Session\\AnonymousModeEnabled=false',
      `Session\\DefaultSavePath=${savePath}`,
      '',
      '[Network]',
      'PortForwardingEnabled=false',
      '',
      '[Preferences]',
      'Connection\\ResolvePeerCountries=false',
      'WebUI\\LocalHostAuth=false',
      `WebUI\\Port=${webui}`,
      'WebUI\\Address=127.0.0.1',
      '',
    ].join('\n'),
  );
  return { webui, port };
}
