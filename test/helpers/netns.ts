// netns.ts — disposable test topologies: network namespaces and veth pairs with a prefix
// unique to this run, always removed by dispose() (call it in a finally/after), so a failed
// run leaves nothing behind and two runs never collide. Also: run commands inside a
// namespace, and wait for conditions without sleeping blindly.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { exec as run, waitFor } from '../../src/bench/exec.ts';

let counter = 0;

/** A short unique prefix for this process: 'sy' + 4 base-36 chars (interface names ≤ 15). */
export function runPrefix(): string {
  counter++;
  return 'sy' + ((process.pid * 7 + counter * 7919 + Date.now()) % 1679616).toString(36).padStart(4, '0');
}

export function sh(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 30000, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Like sh, but never throws: exit status and both streams. */
export function shStatus(cmd: string, args: string[], timeoutMs = 30000): { status: number; out: string; err: string } {
  try {
    return { status: 0, out: sh(cmd, args, { timeoutMs }), err: '' };
  } catch (e) {
    const x = e as { status?: number; stdout?: string; stderr?: string };
    return { status: x.status ?? -1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

// run (async: never blocks the event loop, a switch may run in this very process; never
// throws) and waitFor are the benchmark harness's, shared
export { run, waitFor };

export interface Host { ns: string; ifname: string; rootIf: string; ip: string; mac: string }

export class Topology {
  readonly prefix = runPrefix();
  private readonly namespaces: string[] = [];
  private readonly links: string[] = [];
  private readonly children: ChildProcess[] = [];

  /** A namespace `<prefix>-<name>` with lo up. */
  ns(name: string): string {
    const ns = `${this.prefix}-${name}`;
    sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * A host: namespace + veth pair; eth0 inside with `cidr` (or none: DHCP), the root end `<prefix><name>`
   * up and left for the switch. Offloads are left at the kernel's defaults on purpose.
   */
  host(name: string, cidr: string | null, opts: { mtu?: number } = {}): Host {
    const ns = this.ns(name);
    const rootIf = `${this.prefix}${name}`;
    sh('ip', ['link', 'add', rootIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    this.links.push(rootIf);
    if (opts.mtu) {
      sh('ip', ['link', 'set', rootIf, 'mtu', String(opts.mtu)]);
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'mtu', String(opts.mtu)]);
    }
    // no IPv6 on either end: router solicitations and DAD would add noise to counters
    sh('sysctl', ['-qw', `net.ipv6.conf.${rootIf}.disable_ipv6=1`]);
    this.exec(ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
    sh('ip', ['link', 'set', rootIf, 'up']);
    if (cidr) sh('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', 'eth0']);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    const mac = JSON.parse(sh('ip', ['-j', '-n', ns, 'link', 'show', 'eth0']))[0].address as string;
    return { ns, ifname: 'eth0', rootIf, ip: cidr ? cidr.split('/')[0] : '', mac };
  }

  /** Remember an interface created by someone else (a TAP) so dispose() removes it if it lingers. */
  own(ifname: string): void { this.links.push(ifname); }

  exec(ns: string, cmd: string, ...args: string[]): string {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  /** Run inside ns without blocking the event loop; never throws. */
  run(ns: string, cmd: string, ...args: string[]): Promise<{ status: number; out: string; err: string }> {
    return run('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  /** Run inside ns; throws with stderr when it fails. */
  async runOk(ns: string, cmd: string, ...args: string[]): Promise<string> {
    const r = await this.run(ns, cmd, ...args);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${ns}: exit ${r.status}: ${r.err || r.out}`);
    return r.out;
  }

  /** A background process inside ns, killed by dispose(). */
  spawn(ns: string, cmd: string, ...args: string[]): ChildProcess {
    const c = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(c);
    return c;
  }

  track(c: ChildProcess): ChildProcess { this.children.push(c); return c; }

  dispose(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const l of this.links) shStatus('ip', ['link', 'del', l]);
    for (const ns of this.namespaces) shStatus('ip', ['netns', 'del', ns]);
  }
}

/** Ping from ns to ip; returns the number of replies. */
export async function ping(topo: Topology, ns: string, ip: string, count = 2, extra: string[] = []): Promise<number> {
  const r = await topo.run(ns, 'ping', '-n', '-q', '-c', String(count), '-i', '0.2', '-W', '1', ...extra, ip);
  const m = /(\d+) (?:packets )?received/.exec(r.out);
  return m ? Number(m[1]) : 0;
}

/** Collect a child's stdout as lines. */
export function lines(c: ChildProcess): string[] {
  const out: string[] = [];
  let buf = '';
  c.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { out.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
  });
  return out;
}
