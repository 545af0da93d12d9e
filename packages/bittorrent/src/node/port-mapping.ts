import {
  defaultGateway,
  type MappingProtocol,
  type NatPmpOptions,
  natPmpMap,
  type PortMapping,
} from './nat-pmp.ts';
import { type PcpOptions, pcpMap, pcpNonce } from './pcp.ts';
import { discoverIgd, type IgdService, type UpnpOptions, upnpMap, upnpUnmap } from './upnp-igd.ts';

export type PortMappingMethod = 'pcp' | 'natpmp' | 'upnp';

export interface PortMappingOptions extends NatPmpOptions, PcpOptions, UpnpOptions {
  /** Seconds asked for each mapping (renewed at half; default 3600, RFC 6886's advice). */
  lifetimeSeconds?: number;
  /** Methods tried in turn for each port (default PCP, then NAT-PMP, then UPnP IGD). */
  methods?: readonly PortMappingMethod[];
}

/**
 * Keeps ports forwarded on the home router while a node runs: asks by PCP (RFC 6887), else
 * NAT-PMP (RFC 6886, the same port: skipped when PCP got no answer at all), else UPnP IGD, renews each mapping at half its lifetime, and removes them on `close`.
 * Failures are values (`errors`), never fatal: a node behind no such router still works
 * outbound.
 */
export class PortMapper {
  readonly mappings: PortMapping[] = [];
  readonly errors: string[] = [];
  private timers: ReturnType<typeof setTimeout>[] = [];
  private closed = false;
  private igd: Promise<IgdService> | undefined;
  /** PCP nonces per mapping: a renewal or removal must repeat the one it was made with. */
  private readonly nonces = new Map<string, Uint8Array>();
  /** Settles when the last `map` call's requests were answered or failed. */
  ready: Promise<void> = Promise.resolve();

  constructor(private readonly options: PortMappingOptions = {}) {}

  /** Maps each port; resolves once every request was answered or failed. */
  map(ports: readonly { protocol: MappingProtocol; port: number }[]): Promise<void> {
    this.ready = Promise.all(ports.map((p) => this.mapOne(p.protocol, p.port))).then(() => undefined);
    return this.ready;
  }

  private async tryMethod(
    method: PortMappingMethod,
    protocol: MappingProtocol,
    port: number,
  ): Promise<PortMapping> {
    const lifetime = this.options.lifetimeSeconds ?? 3600;
    if (method === 'pcp') {
      const key = `${protocol}:${port}`;
      const nonce = this.nonces.get(key) ?? pcpNonce();
      this.nonces.set(key, nonce);
      return pcpMap(protocol, port, lifetime, nonce, this.options);
    }
    if (method === 'natpmp') return natPmpMap(protocol, port, lifetime, this.options);
    // The search goes to the SSDP group and, unicast, to the default gateway.
    this.igd ??= defaultGateway().then((gw) => {
      const gateway = this.options.gateway ?? gw;
      return discoverIgd({ ...this.options, ...(gateway ? { gateway } : {}) });
    });
    return upnpMap(await this.igd, protocol, port, lifetime);
  }

  private async mapOne(protocol: MappingProtocol, port: number): Promise<void> {
    const failures: string[] = [];
    for (const method of this.options.methods ?? ['pcp', 'natpmp', 'upnp']) {
      // PCP and NAT-PMP share the router's port 5351: silence to one is silence to both.
      if (method === 'natpmp' && failures.some((f) => f.startsWith('pcp: PCP: no answer'))) {
        failures.push('natpmp: skipped (no answer on port 5351 to PCP)');
        continue;
      }
      try {
        const m = await this.tryMethod(method, protocol, port);
        if (this.closed) return;
        const at = this.mappings.findIndex((x) => x.protocol === protocol && x.internalPort === port);
        if (at >= 0) this.mappings[at] = m;
        else this.mappings.push(m);
        const t = setTimeout(() => void this.mapOne(protocol, port), Math.max(1, m.lifetime / 2) * 1000);
        t.unref?.();
        this.timers.push(t);
        return;
      } catch (e) {
        failures.push(`${method}: ${(e as Error).message}`);
      }
    }
    this.errors.push(`${protocol} ${port}: ${failures.join('; ')}`);
  }

  /** The public address and port peers reach `protocol` `port` on, when mapped. */
  external(protocol: MappingProtocol, port: number): { host: string; port: number } | undefined {
    const m = this.mappings.find((x) => x.protocol === protocol && x.internalPort === port);
    return m ? { host: m.externalAddress, port: m.externalPort } : undefined;
  }

  /** Stops renewing and asks the router to remove every mapping (best effort, bounded). */
  async close(): Promise<void> {
    this.closed = true;
    await this.ready;
    for (const t of this.timers) clearTimeout(t);
    const all = this.mappings.splice(0);
    await Promise.all(
      all.map(async (m) => {
        try {
          const nonce = this.nonces.get(`${m.protocol}:${m.internalPort}`);
          if (m.method === 'pcp' && nonce)
            await pcpMap(m.protocol, m.internalPort, 0, nonce, {
              ...this.options,
              gateway: m.gateway,
              attempts: 2,
            });
          else if (m.method === 'natpmp')
            await natPmpMap(m.protocol, m.internalPort, 0, {
              ...this.options,
              gateway: m.gateway,
              attempts: 2,
            });
          else if (this.igd) await upnpUnmap(await this.igd, m.protocol, m.internalPort);
        } catch {
          // the router forgets it when the lifetime ends
        }
      }),
    );
  }
}
