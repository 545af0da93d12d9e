import { createSocket } from 'node:dgram';
import type { MappingProtocol, PortMapping } from './nat-pmp.ts';

/**
 * UPnP Internet Gateway Device client (the port forwarding most home routers answer): SSDP
 * search for the gateway's description, its WANIPConnection (or WANPPPConnection) control URL,
 * then SOAP `AddPortMapping`, `GetExternalIPAddress` and `DeletePortMapping`.
 */

const SSDP_GROUP = '239.255.255.250';
const SSDP_PORT = 1900;
const IGD = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
const SERVICES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
];

export interface UpnpOptions {
  /** Send the search to this address too (the gateway), beside the multicast group. */
  gateway?: string;
  /** How long to wait for a search answer (default 3 s). */
  searchTimeoutMs?: number;
}

/** The control point of a gateway's WAN connection service. */
export interface IgdService {
  readonly controlUrl: string;
  readonly serviceType: string;
  /** Our address on the LAN, as the gateway's HTTP server saw it answering us. */
  readonly localAddress: string;
}

/** The LOCATION of an SSDP answer (HTTP/1.1 200 with headers), or undefined. */
export function ssdpLocation(text: string): string | undefined {
  if (!/^HTTP\/1\.[01] 200/i.test(text)) return undefined;
  const m = /^location:\s*(\S+)\s*$/im.exec(text);
  return m?.[1] && /^https?:\/\//i.test(m[1]) ? m[1] : undefined;
}

/** The first WAN connection service of a device description, with its absolute control URL. */
export function findWanService(
  xml: string,
  location: string,
): { controlUrl: string; serviceType: string } | undefined {
  const base = /<URLBase>\s*([^<\s]+)\s*<\/URLBase>/i.exec(xml)?.[1] ?? location;
  const services = [...xml.matchAll(/<service>([\s\S]*?)<\/service>/gi)].map((m) => m[1] as string);
  for (const wanted of SERVICES) {
    for (const s of services) {
      const type = /<serviceType>\s*([^<\s]+)\s*<\/serviceType>/i.exec(s)?.[1];
      const control = /<controlURL>\s*([^<\s]+)\s*<\/controlURL>/i.exec(s)?.[1];
      if (type === wanted && control) {
        try {
          return { controlUrl: new URL(control, base).href, serviceType: type };
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A SOAP request body for `action` with `args`, in order. */
export function soapBody(
  serviceType: string,
  action: string,
  args: readonly [string, string | number][],
): string {
  const inner = args.map(([k, v]) => `<${k}>${xmlEscape(String(v))}</${k}>`).join('');
  return `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:${action} xmlns:u="${serviceType}">${inner}</u:${action}></s:Body></s:Envelope>`;
}

/** Finds the gateway's WAN connection service by SSDP. Throws when none answers. */
export async function discoverIgd(o: UpnpOptions = {}): Promise<IgdService> {
  const socket = createSocket('udp4');
  const search = Buffer.from(
    `M-SEARCH * HTTP/1.1\r\nHOST: ${SSDP_GROUP}:${SSDP_PORT}\r\nMAN: "ssdp:discover"\r\nMX: 2\r\nST: ${IGD}\r\n\r\n`,
  );
  const locations: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => resolve());
    });
    socket.on('error', () => {});
    const found = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('UPnP: no Internet Gateway Device answered the SSDP search')),
        o.searchTimeoutMs ?? 3_000,
      );
      socket.on('message', (msg) => {
        const loc = ssdpLocation(msg.toString('latin1'));
        if (!loc) return;
        locations.push(loc);
        clearTimeout(timer);
        resolve(loc);
      });
    });
    socket.send(search, SSDP_PORT, SSDP_GROUP);
    if (o.gateway) socket.send(search, SSDP_PORT, o.gateway);
    const location = await found;
    const res = await fetch(location, { signal: AbortSignal.timeout(5_000) });
    const xml = await res.text();
    const svc = findWanService(xml, location);
    if (!svc) throw new Error(`UPnP: ${location} describes no WAN connection service`);
    return { ...svc, localAddress: await localAddressTowards(new URL(location).hostname) };
  } finally {
    socket.close();
  }
}

/** Our address on the interface that routes to `host` (a connected UDP socket's own end). */
function localAddressTowards(host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', (e) => {
      s.close();
      reject(e);
    });
    s.connect(SSDP_PORT, host, () => {
      const a = s.address().address;
      s.close();
      resolve(a);
    });
  });
}

async function soap(
  svc: IgdService,
  action: string,
  args: readonly [string, string | number][],
): Promise<string> {
  const res = await fetch(svc.controlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'text/xml; charset="utf-8"',
      soapaction: `"${svc.serviceType}#${action}"`,
    },
    body: soapBody(svc.serviceType, action, args),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  if (!res.ok) {
    const code = /<errorCode>\s*(\d+)\s*<\/errorCode>/i.exec(text)?.[1];
    const desc = /<errorDescription>\s*([^<]*)<\/errorDescription>/i.exec(text)?.[1];
    throw new Error(
      `UPnP ${action}: HTTP ${res.status}${code ? ` error ${code}` : ''}${desc ? ` ${desc}` : ''}`,
    );
  }
  return text;
}

/** Forwards `port` of the gateway's public address to the same port here, for `lifetime` s. */
export async function upnpMap(
  svc: IgdService,
  protocol: MappingProtocol,
  port: number,
  lifetimeSeconds: number,
): Promise<PortMapping> {
  await soap(svc, 'AddPortMapping', [
    ['NewRemoteHost', ''],
    ['NewExternalPort', port],
    ['NewProtocol', protocol.toUpperCase()],
    ['NewInternalPort', port],
    ['NewInternalClient', svc.localAddress],
    ['NewEnabled', 1],
    ['NewPortMappingDescription', 'swarmcast'],
    ['NewLeaseDuration', lifetimeSeconds],
  ]);
  const ip = await soap(svc, 'GetExternalIPAddress', []);
  const externalAddress =
    /<NewExternalIPAddress>\s*([^<\s]*)\s*<\/NewExternalIPAddress>/i.exec(ip)?.[1] ?? '';
  return {
    protocol,
    internalPort: port,
    externalPort: port,
    externalAddress,
    lifetime: lifetimeSeconds,
    gateway: new URL(svc.controlUrl).hostname,
    method: 'upnp',
  };
}

/** Removes a mapping made by {@link upnpMap}. */
export async function upnpUnmap(svc: IgdService, protocol: MappingProtocol, port: number): Promise<void> {
  await soap(svc, 'DeletePortMapping', [
    ['NewRemoteHost', ''],
    ['NewExternalPort', port],
    ['NewProtocol', protocol.toUpperCase()],
  ]);
}
