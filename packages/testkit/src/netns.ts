/**
 * A NAT lab in network namespaces (iproute2 + nftables), for proving that peers behind home
 * routers find each other:
 *
 *   test process (root ns) --veth--+
 *                                  |  "public" namespace: bridge `pubbr`, coturn runs here
 *   router 1 (ns) wan -------------+  100.X.Y.0/24 (the internet of the lab)
 *     lan 192.168.11.1 -- home 1 (ns) eth0 192.168.11.2, default via its router
 *   router 2 (ns) wan -------------+
 *     lan 192.168.12.1 -- home 2 (ns) 192.168.12.2
 *
 * The test process joins the public segment by a veth (`publicIp`), so a node started in it
 * (`startNode({ host: lab.publicIp })`) is a server on the public side. Homes reach each
 * other only through their routers and the public segment: no route between home LANs.
 *
 * Each router masquerades its home behind its public address and drops unsolicited inbound
 * packets on its public side before connection tracking records them (INTEROP.md: a probe
 * from outside otherwise leaves a conntrack entry that moves the mapping to another port):
 * - `port-restricted`: masquerade (Linux keeps the source port: endpoint-independent mapping),
 *   address-and-port-dependent filtering: what most home routers do.
 * - `full-cone`: the same, plus new inbound UDP forwarded to the home host (endpoint-
 *   independent filtering; ports are preserved, so the mapping is the host's port).
 * - `symmetric`: `masquerade fully-random`: a new public port per destination, so the port a
 *   STUN server saw is useless to a peer (TURN is needed).
 * `blockUdp` drops every UDP packet from the home to the outside (TCP still works).
 *
 * Names are unique per lab (prefix from the pid and a counter); `close()` deletes every
 * namespace and the root veth even after a failure half-way through building.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Prerequisite, which } from './prerequisites.ts';

const run = promisify(execFile);

export type NatKind = 'full-cone' | 'port-restricted' | 'symmetric';

export interface HomeSpec {
  nat: NatKind;
  /** Drop all UDP from this home to the outside (TCP still passes). */
  blockUdp?: boolean;
  /**
   * Run miniupnpd (UPnP IGD and NAT-PMP, nftables backend) on the router: the home host may
   * ask it for port mappings, which it installs as DNAT rules; unsolicited inbound traffic is
   * still dropped unless a mapping forwards it. Needs /usr/sbin/miniupnpd.
   */
  miniupnpd?: boolean;
}

export interface LabHome {
  /** Namespace of the home host. */
  ns: string;
  /** The host's LAN address (192.168.N.2). */
  ip: string;
  /** Namespace of its router. */
  routerNs: string;
  /** The router's public address. */
  publicIp: string;
  nat: NatKind;
}

export interface NatLab {
  /** Namespace of the public segment (where coturn runs). */
  publicNs: string;
  /** The test process's own address on the public segment (a node binds it). */
  publicIp: string;
  /** A second address on the public segment inside `publicNs` (for servers run there). */
  serviceIp: string;
  homes: LabHome[];
  /** Spawns `cmd args` inside namespace `ns` (stdio piped). */
  spawnIn(ns: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** Runs a command inside `ns` to completion (bounded by `timeoutMs`). */
  execIn(
    ns: string,
    cmd: string,
    args: string[],
    timeoutMs?: number,
  ): Promise<{ stdout: string; stderr: string }>;
  close(): Promise<void>;
}

/**
 * Whether this machine can build a lab: root (or CAP_NET_ADMIN), `ip` and `nft`. Skips with
 * a reason, or throws under SWARMCAST_REQUIRE_INTEROP=1 (CI runs as root).
 */
export function natLabPrerequisite(): Prerequisite {
  const missing: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    missing.push('root (ip netns needs it)');
  if (!which('ip')) missing.push('ip (iproute2)');
  if (!which('nft')) missing.push('nft (nftables)');
  if (missing.length === 0) return { skip: false, reason: '' };
  const reason = `NAT lab in network namespaces: missing ${missing.join(', ')}`;
  if (process.env.SWARMCAST_REQUIRE_INTEROP === '1') {
    throw new Error(`${reason}, and SWARMCAST_REQUIRE_INTEROP=1 makes it mandatory (CI runs as root).`);
  }
  console.warn(`[skip] ${reason} (set SWARMCAST_REQUIRE_INTEROP=1 to make this a failure)`);
  return { skip: true, reason };
}

let labs = 0;

function routerRules(kind: NatKind, homeIp: string, blockUdp: boolean, upnp = false): string {
  if (upnp) {
    // The guard moves to the forward hook, after DNAT: a new inbound connection passes only
    // when miniupnpd's prerouting rule rewrote it to the home (a mapping).
    return `table ip lab {
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "wan" ct state new ct status dnat accept
    iifname "wan" ct state new drop
    ${blockUdp ? 'iifname "lan" oifname "wan" meta l4proto udp drop' : ''}
  }
  chain outbound {
    type nat hook postrouting priority srcnat;
    oifname "wan" masquerade${kind === 'symmetric' ? ' fully-random' : ''}
  }
}
table inet filter {
  chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
`;
  }
  const dnat =
    kind === 'full-cone'
      ? `chain inbound { type nat hook prerouting priority dstnat; iifname "wan" meta l4proto udp dnat ip to ${homeIp}; }`
      : '';
  return `table ip lab {
  chain guard {
    type filter hook prerouting priority -150; policy accept;
    iifname "wan" ct state new ${kind === 'full-cone' ? 'meta l4proto != udp ' : ''}drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ${blockUdp ? 'iifname "lan" oifname "wan" meta l4proto udp drop' : ''}
  }
  ${dnat}
  chain outbound {
    type nat hook postrouting priority srcnat;
    oifname "wan" masquerade${kind === 'symmetric' ? ' fully-random' : ''}
  }
}
`;
}

/**
 * Starts miniupnpd in a router namespace (NAT-PMP on 5351 and UPnP IGD on the LAN side) and
 * waits until it answers. It dies with the namespace (`close` kills what runs inside).
 */
async function startMiniupnpd(routerNs: string, lan: string, wanIp: string, name: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `${name}-upnp-`));
  const conf = join(dir, 'miniupnpd.conf');
  await writeFile(
    conf,
    [
      'ext_ifname=wan',
      'listening_ip=lan',
      'http_port=0',
      'enable_natpmp=yes',
      'enable_upnp=yes',
      'secure_mode=yes',
      'system_uptime=yes',
      // Declared: the lab's "internet" is 100.64.0.0/10, which miniupnpd would take for a
      // private (double-NAT) address and refuse to map.
      `ext_ip=${wanIp}`,
      `uuid=${randomUUID()}`,
      `allow 1024-65535 ${lan}.0/24 1024-65535`,
      'deny 0-65535 0.0.0.0/0 0-65535',
      '',
    ].join('\n'),
  );
  const child = spawn(
    'ip',
    ['netns', 'exec', routerNs, '/usr/sbin/miniupnpd', '-d', '-f', conf, '-P', join(dir, 'pid')],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (d) => {
    log = (log + d).slice(-4000);
  });
  child.unref();
  // Ready when it listens for NAT-PMP on the LAN address.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`miniupnpd exited ${child.exitCode}: ${log}`);
    const { stdout } = await run('ip', ['netns', 'exec', routerNs, 'ss', '-uln'], { timeout: 10_000 });
    if (stdout.includes(':5351')) return;
    if (Date.now() > deadline) throw new Error(`miniupnpd did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Builds the lab; on any failure it removes what it made and rethrows. */
export async function createNatLab(specs: HomeSpec[]): Promise<NatLab> {
  if (specs.length < 1 || specs.length > 8) throw new Error('a lab has 1 to 8 homes');
  const tag = `${(process.pid % 4096).toString(36)}${(labs++).toString(36)}${randomBytes(2).toString('hex')}`;
  const p = `sc${tag}`;
  const publicNs = `${p}-pub`;
  const rootVeth = `${p}r`.slice(0, 15);
  // The lab's "internet": 100.64.0.0/10 (shared address space), one /24 per lab.
  const a = 64 + ((randomBytes(1)[0] as number) % 64);
  const b = randomBytes(1)[0] as number;
  // miniupnpd refuses to map on a reserved external address (100.64/10 among them): a lab
  // with it takes a /24 of 11.0.0.0/8 instead (routed nowhere but inside this lab).
  const net = specs.some((x) => x.miniupnpd) ? `11.${a}.${b}` : `100.${a}.${b}`;
  const publicIp = `${net}.1`;
  const serviceIp = `${net}.2`;
  const made: string[] = [];
  let rootLink = false;

  const ip = async (...args: string[]) => {
    await run('ip', args, { timeout: 20_000 });
  };
  const inNs = async (ns: string, cmd: string, args: string[], input?: string) => {
    if (input === undefined) {
      await run('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: 20_000 });
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
      });
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`${cmd} in ${ns}: ${err.trim()}`)),
      );
      child.stdin.end(input);
    });
  };
  const addNs = async (ns: string) => {
    await ip('netns', 'add', ns);
    made.push(ns);
    await inNs(ns, 'ip', ['link', 'set', 'lo', 'up']);
  };

  const close = async () => {
    if (rootLink) await ip('link', 'del', rootVeth).catch(() => undefined);
    rootLink = false;
    // Killing what still runs inside, then deleting: a namespace with live processes lingers.
    for (const ns of made.reverse()) {
      await run('ip', ['netns', 'pids', ns], { timeout: 10_000 })
        .then(({ stdout }) => {
          for (const pid of stdout.split(/\s+/).filter(Boolean)) {
            try {
              process.kill(Number(pid), 'SIGKILL');
            } catch {
              // already gone
            }
          }
        })
        .catch(() => undefined);
      await ip('netns', 'del', ns).catch(() => undefined);
    }
    made.length = 0;
  };

  try {
    await addNs(publicNs);
    await inNs(publicNs, 'ip', ['link', 'add', 'name', 'pubbr', 'type', 'bridge']);
    await inNs(publicNs, 'ip', ['addr', 'add', `${serviceIp}/24`, 'dev', 'pubbr']);
    await inNs(publicNs, 'ip', ['link', 'set', 'pubbr', 'up']);
    // The test process's leg on the public segment.
    await ip('link', 'add', 'name', rootVeth, 'type', 'veth', 'peer', 'name', 'up0', 'netns', publicNs);
    rootLink = true;
    await ip('addr', 'add', `${publicIp}/24`, 'dev', rootVeth);
    await ip('link', 'set', rootVeth, 'up');
    await inNs(publicNs, 'ip', ['link', 'set', 'up0', 'master', 'pubbr', 'up']);

    const homes: LabHome[] = [];
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i] as HomeSpec;
      const routerNs = `${p}-r${i}`;
      const ns = `${p}-h${i}`;
      const lan = `192.168.${11 + i}`;
      const wanIp = `${net}.${10 + i}`;
      await addNs(routerNs);
      await addNs(ns);
      // Router WAN on the public bridge; router LAN to the home host.
      await ip(
        'link',
        'add',
        'name',
        'wan',
        'netns',
        routerNs,
        'type',
        'veth',
        'peer',
        'name',
        `w${i}`,
        'netns',
        publicNs,
      );
      await inNs(publicNs, 'ip', ['link', 'set', `w${i}`, 'master', 'pubbr', 'up']);
      await inNs(routerNs, 'ip', ['addr', 'add', `${wanIp}/24`, 'dev', 'wan']);
      await inNs(routerNs, 'ip', ['link', 'set', 'wan', 'up']);
      await ip(
        'link',
        'add',
        'name',
        'lan',
        'netns',
        routerNs,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        ns,
      );
      await inNs(routerNs, 'ip', ['addr', 'add', `${lan}.1/24`, 'dev', 'lan']);
      await inNs(routerNs, 'ip', ['link', 'set', 'lan', 'up']);
      await inNs(routerNs, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
      await inNs(
        routerNs,
        'nft',
        ['-f', '-'],
        routerRules(spec.nat, `${lan}.2`, spec.blockUdp ?? false, spec.miniupnpd ?? false),
      );
      await inNs(ns, 'ip', ['addr', 'add', `${lan}.2/24`, 'dev', 'eth0']);
      await inNs(ns, 'ip', ['link', 'set', 'eth0', 'up']);
      await inNs(ns, 'ip', ['route', 'add', 'default', 'via', `${lan}.1`]);
      if (spec.miniupnpd) await startMiniupnpd(routerNs, lan, wanIp, `${p}-r${i}`);
      homes.push({ ns, ip: `${lan}.2`, routerNs, publicIp: wanIp, nat: spec.nat });
    }

    return {
      publicNs,
      publicIp,
      serviceIp,
      homes,
      spawnIn: (ns, cmd, args, env) =>
        spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'pipe', env: env ?? process.env }),
      execIn: (ns, cmd, args, timeoutMs = 30_000) =>
        run('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: timeoutMs }),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
