import { type MappingProtocol, type NatPmpOptions, natPmpMap, type PortMapping } from './nat-pmp.ts';

export interface PortMappingOptions extends NatPmpOptions {
  /** Seconds asked for each mapping (renewed at half; default 3600, RFC 6886's advice). */
  lifetimeSeconds?: number;
}

/**
 * Keeps ports forwarded on the home router while a node runs: asks by NAT-PMP (RFC 6886),
 * renews each mapping at half its lifetime, and removes them on `close`. Failures are
 * values (`errors`), never fatal: a node behind no such router still works outbound.
 */
export class PortMapper {
  readonly mappings: PortMapping[] = [];
  readonly errors: string[] = [];
  private timers: ReturnType<typeof setTimeout>[] = [];
  private closed = false;
  /** Settles when the last `map` call's requests were answered or failed. */
  ready: Promise<void> = Promise.resolve();

  constructor(private readonly options: PortMappingOptions = {}) {}

  /** Maps each port; resolves once every request was answered or failed. */
  map(ports: readonly { protocol: MappingProtocol; port: number }[]): Promise<void> {
    this.ready = Promise.all(ports.map((p) => this.mapOne(p.protocol, p.port))).then(() => undefined);
    return this.ready;
  }

  private async mapOne(protocol: MappingProtocol, port: number): Promise<void> {
    const lifetime = this.options.lifetimeSeconds ?? 3600;
    try {
      const m = await natPmpMap(protocol, port, lifetime, this.options);
      if (this.closed) return;
      const at = this.mappings.findIndex((x) => x.protocol === protocol && x.internalPort === port);
      if (at >= 0) this.mappings[at] = m;
      else this.mappings.push(m);
      const t = setTimeout(() => void this.mapOne(protocol, port), Math.max(1, m.lifetime / 2) * 1000);
      t.unref?.();
      this.timers.push(t);
    } catch (e) {
      this.errors.push(`${protocol} ${port}: ${(e as Error).message}`);
    }
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
      all.map((m) =>
        natPmpMap(m.protocol, m.internalPort, 0, { ...this.options, gateway: m.gateway, attempts: 2 }).catch(
          () => undefined,
        ),
      ),
    );
  }
}
