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
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { type Prerequisite, which } from './prerequisites.ts';

const run = promisify(execFile);

export type NatKind = 'full-cone' | 'port-restricted' | 'symmetric';

export interface HomeSpec {
  nat: NatKind;
  /** Drop all UDP from this home to the outside (TCP still passes). */
  blockUdp?: boolean;
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

function routerRules(kind: NatKind, homeIp: string, blockUdp: boolean): string {
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
  const net = `100.${a}.${b}`;
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
      await inNs(routerNs, 'nft', ['-f', '-'], routerRules(spec.nat, `${lan}.2`, spec.blockUdp ?? false));
      await inNs(ns, 'ip', ['addr', 'add', `${lan}.2/24`, 'dev', 'eth0']);
      await inNs(ns, 'ip', ['link', 'set', 'eth0', 'up']);
      await inNs(ns, 'ip', ['route', 'add', 'default', 'via', `${lan}.1`]);
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
