// topology.ts — the benchmark's own network: four namespaces (gen, sink, mon, dut) and three
// veth pairs, every name carrying a prefix unique to the run, all of it removed by dispose()
// (called in finally and on SIGINT/SIGTERM), so a failed run leaves nothing behind and two
// runs never collide. The devices under test only ever see the dut namespace and its three
// ports (pgen, psink, pmon); the root namespace's settings are never touched.
import { exec, execOk } from './exec.js';
import { PLAN, type BenchTopology, type Endpoint } from './types.js';

/** 'syb' + 4 base-36 characters: unique enough between concurrent runs on one machine. */
export function benchPrefix(): string {
  return 'syb' + ((process.pid * 7919 + Date.now()) % 1679616).toString(36).padStart(4, '0');
}

const ipn = (ns: string, ...a: string[]): Promise<string> => execOk('ip', ['-n', ns, ...a]);
const inNs = (ns: string, cmd: string, ...a: string[]): Promise<string> => execOk('ip', ['netns', 'exec', ns, cmd, ...a]);

async function newNs(name: string, made: string[]): Promise<string> {
  await execOk('ip', ['netns', 'add', name]);
  made.push(name);
  await ipn(name, 'link', 'set', 'lo', 'up');
  // no IPv6: router solicitations, DAD and MLD reports would be frames nobody asked for
  await inNs(name, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
  return name;
}

async function macOf(ns: string, ifname: string): Promise<string> {
  return JSON.parse(await ipn(ns, '-j', 'link', 'show', 'dev', ifname))[0].address as string;
}

/**
 * Drop the generated UDP (dport PLAN.dport) at ingress, right after the AF_PACKET tap the sink
 * counts with, so the sink namespace's IP stack costs nothing. Without nft the stack drops it
 * itself (a rate-limited port unreachable): slower, still correct.
 */
async function dropAtIngress(ns: string): Promise<boolean> {
  const script = `table netdev sybench {\n chain in {\n  type filter hook ingress device eth0 priority 0;\n  udp dport ${PLAN.dport} drop\n }\n}\n`;
  const r = await exec('sh', ['-c', `printf '%s' "$1" | ip netns exec ${ns} nft -f -`, 'sh', script]);
  return r.status === 0;
}

export class BenchNet implements BenchTopology {
  readonly prefix: string;
  readonly dutNs: string;
  readonly ports = { gen: 'pgen', sink: 'psink', mon: 'pmon' };
  gen!: Endpoint;
  sink!: Endpoint;
  mon!: Endpoint;
  /** whether the gen/sink namespaces drop the generated traffic with nft (else their stacks do) */
  nftDrop = false;
  private readonly made: string[] = [];

  private constructor(prefix: string) {
    this.prefix = prefix;
    this.dutNs = `${prefix}-dut`;
  }

  static async create(prefix = benchPrefix()): Promise<BenchNet> {
    const t = new BenchNet(prefix);
    try {
      await t.build();
    } catch (e) {
      await t.dispose();
      throw e;
    }
    return t;
  }

  private async build(): Promise<void> {
    const p = this.prefix;
    await newNs(this.dutNs, this.made);
    const end = async (role: 'gen' | 'sink' | 'mon', cidr: string | null): Promise<Endpoint> => {
      const ns = await newNs(`${p}-${role}`, this.made);
      const port = this.ports[role];
      await ipn(this.dutNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      await ipn(this.dutNs, 'link', 'set', port, 'up');
      if (cidr) await ipn(ns, 'addr', 'add', cidr, 'dev', 'eth0');
      await ipn(ns, 'link', 'set', 'eth0', 'up');
      return { ns, ifname: 'eth0', mac: await macOf(ns, 'eth0'), ip: cidr ? cidr.split('/')[0] : '' };
    };
    this.gen = await end('gen', PLAN.genCidr);
    this.sink = await end('sink', PLAN.sinkCidr);
    this.mon = await end('mon', null);
    // routers are the gateways of both sides (the reverse direction needs the sink's)
    await ipn(this.gen.ns, 'route', 'add', 'default', 'via', PLAN.dutGenIp);
    await ipn(this.sink.ns, 'route', 'add', 'default', 'via', PLAN.dutSinkIp);
    this.nftDrop = (await dropAtIngress(this.gen.ns)) && (await dropAtIngress(this.sink.ns));
  }

  /** Remove everything (never throws; deleting a namespace deletes its veth ends and kills nothing). */
  async dispose(): Promise<void> {
    for (const ns of this.made.splice(0).reverse()) {
      // processes left in a namespace keep it alive: kill them first
      const pids = (await exec('ip', ['netns', 'pids', ns])).out.split(/\s+/).filter(Boolean);
      for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
      await exec('ip', ['netns', 'del', ns]);
    }
  }
}
