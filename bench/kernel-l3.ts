// kernel-l3.ts — routed and NAT forwarding through the kernel, switchyard against Linux, in
// one run on one topology:
//
//   gen namespace                  dut namespace                   sink namespace
//   traffic.ts gen  eth0 ==veth== <p>gen  [DUT]  <p>sink ==veth== eth0  traffic.ts sink
//   10.99.0.1                      (device under test)             10.99.1.2/24
//
// Devices, one after the other, on the same two DUT-side veth ends (moved into a namespace of
// their own, so the root namespace's sysctls and netfilter rules play no part):
//
//   kernel router         10.99.0.254/24 and 10.99.1.1/24 on the two ends, ip_forward=1, the
//                         sink's neighbour entry static (ip neigh replace ... nud permanent);
//   nftables masquerade   the same plus `table ip nat`, a postrouting nat chain, `oifname
//                         <p>sink masquerade` (conntrack and NAT in the DUT namespace only);
//   switchyard routed     gen end: a routed VM port (hosts: 10.99.0.1 -> it, gateway
//                         169.255.30.1, antiSpoof on); sink end: the uplink, 10.99.1.1/24;
//   switchyard nat        gen end: the VM port of a nat network whose address 10.99.0.254/24 is
//                         the generator's gateway (10.99.0.0/24 rather than a 192.168 subnet:
//                         traffic.ts's source address is fixed); sink end: the uplink, 10.99.1.1/24;
//   switchyard bridged    both ends in one bridged network: the reference for "through veths
//                         within 10 % of bridged".
// The switchyard devices run Switch.start in a child process (bench/dut-l3.ts) inside the DUT
// namespace, with the addresses removed from the ends and ip_forward back to 0.
//
// Traffic (bench/traffic.ts, the addon's generate() / sink(), as bench/kernel.ts uses them):
// 64-byte frames (60 + FCS), IPv4/UDP 10.99.0.1:10000-10015 -> 10.99.1.2:9000 (16 flows, so
// both NATs track 16 warm flows), sent to the DUT's MAC (the gen-side end's for the kernel, the
// switch's router MAC for routed and nat, the sink's MAC for bridged). The sink answers
// nothing and its stack costs as little as possible: an nft netdev ingress rule in the sink
// namespace drops udp dport 9000 right after the AF_PACKET tap the sink counts with (falls
// back to the stack's own "port unreachable" drop if nft is missing). Before a switchyard
// device is measured the sink speaks first: an ARP request for 10.99.1.1 (routed, nat: the
// switch learns 10.99.1.2) or learning frames (bridged); then the generator sends a slow
// trickle (which also creates the NAT flows).
//
// Per device: (a) flat out: offered Mpps (sent / generator time), delivered Mpps (frames the
// sink counted / its first-to-last-frame time), loss; (b) the no-drop rate: paced trials for
// the highest offered rate with < 0.1 % loss, from 0.95 x the flat-out delivered rate down by
// 0.7 x per failure until one passes, then bisecting (5 trials of 2 s; 3 of 1 s with --quick).
// A device that loses nothing flat out — the kernel's, whose whole forwarding runs in the
// generator's own sendto() — gets its flat-out rate. For switchyard, the flat-out trial also records the per-node ns/packet of
// that trial alone, the child's CPU time per packet, and the drop counters (kernel-ring-full:
// the switch's RX ring overflowed; tx-full: a TX ring had no room). Trials during which other
// processes used more than 15 % of a CPU are repeated once (the cores are shared). "CPU per
// frame" is the CPU time of the generator, the sink, the switch child and ksoftirqd over the
// flat-out trial divided by the frames delivered: the kernel's devices forward inside the
// generator's sendto() on the generator's core, switchyard on a core of its own, so delivered
// Mpps compares what the machine does, CPU per frame what it costs.
//
// The sink counts with rx() bursts every millisecond (traffic.ts sinkPoll, default) or with the
// addon's sink() (--sink native), which is woken every frame or two — a wakeup paid inside the
// transmitter's sendto(), i.e. by the generator for the kernel's devices and by the switch
// child for switchyard.
//
//   node --import tsx bench/kernel-l3.ts [--quick] [-v] [--sink poll|native] [--devices kernel-router,nft-masq,routed,nat,bridged]
//        [--ring FRAMES] [--trial SECONDS] [--steps N] [--quiet-budget SECONDS] [--no-json]
//
// --ring sets the switch's afpacket RX rings (the ports' ring:, default 4096 frames).
//
// Prints a table with the ratios routed / kernel router, nat / nftables, routed / bridged and
// nat / bridged, and writes everything to bench/results/<timestamp>-l3.json. Everything it
// creates carries a unique prefix and is removed in finally, also on SIGINT/SIGTERM.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Topology, sh, shStatus, waitFor, type Host } from '../test/helpers/netns.ts';
import { Agent, diff, softnetDrops, searchNoDrop, type Counters } from './agent.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const LOSS_OK = 0.001;
const FLOWS = 16;
const GEN_IP = '10.99.0.1'; // traffic.ts's fixed source address
const SINK_IP = '10.99.1.2';
const DUT_GEN_CIDR = '10.99.0.254/24';
const DUT_SINK_CIDR = '10.99.1.1/24';
const ROUTER_MAC = '02:00:5e:99:00:01';
/** CPU use (% of one CPU) by processes that are not ours above which a trial is repeated. */
const DISTURBED_PCT = 15;
const TICK = 100; // USER_HZ

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// child processes speaking one JSON object per line (as in bench/kernel.ts)


function startAgent(topo: Topology, name: string, script: string, args: string[], ns: string): Agent {
  const argv = ['ip', 'netns', 'exec', ns, process.execPath, '--import', 'tsx', join(here, script), ...args];
  const proc = spawn(argv[0], argv.slice(1), { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  topo.track(proc);
  return new Agent(name, proc);
}

// ---------------------------------------------------------------------------------------
// CPU use: the machine, our processes, everyone else (the cores are shared)

interface CpuSnap { t: number; busy: number; steal: number; ticks: Record<string, number>; wait: Record<string, number>; ksoftirqd: number }

function procTicks(pid: number | string): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch { return 0; }
}

function cpuSnapshot(ours: Record<string, number | undefined>): CpuSnap {
  const all = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = all[0] + all[1] + all[2] + all[5] + all[6];
  const ticks: Record<string, number> = { self: procTicks(process.pid) };
  const wait: Record<string, number> = {};
  for (const [k, pid] of Object.entries(ours)) {
    if (!pid) continue;
    ticks[k] = procTicks(pid);
    // the main thread's time runnable but waiting for a CPU (ns)
    try { wait[k] = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]); } catch { /* gone */ }
  }
  let ksoftirqd = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try { if (readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('ksoftirqd')) ksoftirqd += procTicks(pid); } catch { /* gone */ }
  }
  return { t: performance.now(), busy, steal: all[7] ?? 0, ticks, wait, ksoftirqd };
}

/**
 * % of one CPU between two snapshots: each of ours, ksoftirqd, and everyone else ("others");
 * and how long our main threads waited on a run queue while runnable ("<name>Wait", % of the time).
 */
function cpuUse(a: CpuSnap, b: CpuSnap): Counters {
  const secs = (b.t - a.t) / 1000;
  const pct = (t: number): number => Math.round((t / TICK / secs) * 100);
  const out: Counters = {};
  let ours = 0;
  for (const k of Object.keys(b.ticks)) {
    const d = Math.max(0, b.ticks[k] - (a.ticks[k] ?? b.ticks[k]));
    ours += d;
    if (k !== 'self') out[k] = pct(d);
  }
  const ks = Math.max(0, b.ksoftirqd - a.ksoftirqd);
  out.ksoftirqd = pct(ks);
  out.busy = pct(b.busy - a.busy);
  out.steal = pct(b.steal - a.steal);
  out.others = Math.max(0, pct(b.busy - a.busy - ours - ks));
  for (const k of Object.keys(b.wait)) if (k in a.wait) out[`${k}Wait`] = Math.round(((b.wait[k] - a.wait[k]) / 1e9 / secs) * 100);
  return out;
}

let quietBudget = 0;

/** Wait (at most maxMs, while the run's budget lasts) until others use < DISTURBED_PCT of a CPU. */
async function waitQuiet(maxMs: number, log: (l: string) => void): Promise<void> {
  const t0 = Date.now();
  let said = false;
  try {
    for (;;) {
      const a = cpuSnapshot({});
      await sleep(250);
      const others = cpuUse(a, cpuSnapshot({})).others;
      if (others <= DISTURBED_PCT || Date.now() - t0 > Math.min(maxMs, quietBudget)) return;
      if (!said) { log(`    (waiting for a quieter machine: other processes use ${others} % of a CPU)`); said = true; }
    }
  } finally {
    quietBudget = Math.max(0, quietBudget - (Date.now() - t0));
  }
}



function linkStats(ns: string, ifname: string): { rxDropped: number; txDropped: number } {
  const r = shStatus('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', ifname]);
  if (r.status !== 0) return { rxDropped: 0, txDropped: 0 };
  const s = JSON.parse(r.out)[0].stats64;
  return { rxDropped: s.rx.dropped, txDropped: s.tx.dropped };
}

// ---------------------------------------------------------------------------------------
// devices under test

interface NodeView { name: string; calls: number; packets: number; vectorSize: number; nsPerPacket: number; counters: Counters }
interface SwitchStats {
  ports: { name: string; drops: Counters; counters: Counters }[];
  nodes: NodeView[];
  drops: Counters;
  pool: { inUse: number; allocFailures: number };
  loop: { maxMs: number };
}

interface Device {
  key: string;
  label: string;
  up(): Promise<void>;
  /** the MAC the generator addresses its frames to */
  dstMac(): string;
  /** the sink speaks first; resolves once the DUT knows where the sink is */
  prepare(): Promise<void>;
  /** monotonic drop / forwarding counters, the process's loop delay */
  sample(): Promise<{ counters: Counters; loopMaxMs?: number }>;
  pid(): number | undefined;
  /** start per-node timing afresh (switchyard) */
  resetNodes?(): Promise<void>;
  /** per-node times since resetNodes (switchyard) */
  nodes?(): Promise<NodeView[]>;
  details(): Promise<unknown>;
  down(): Promise<void>;
}

interface Env { topo: Topology; dut: string; genIf: string; sinkIf: string; gen: Host; sink: Host; log: (l: string) => void }

const dutIp = (env: Env, ...a: string[]): string => sh('ip', ['-n', env.dut, ...a]);
const dutSysctl = (env: Env, kv: string): string => sh('ip', ['netns', 'exec', env.dut, 'sysctl', '-qw', kv]);

function kernelRouter(env: Env, masquerade: boolean): Device {
  const { dut, genIf, sinkIf, sink } = env;
  let mac = '';
  const nft = (...a: string[]): { status: number; out: string; err: string } => shStatus('ip', ['netns', 'exec', dut, 'nft', ...a]);
  return {
    key: masquerade ? 'nft-masq' : 'kernel-router',
    label: masquerade ? 'nftables masquerade' : 'kernel router',
    async up() {
      dutIp(env, 'addr', 'add', DUT_GEN_CIDR, 'dev', genIf);
      dutIp(env, 'addr', 'add', DUT_SINK_CIDR, 'dev', sinkIf);
      dutSysctl(env, 'net.ipv4.ip_forward=1');
      dutIp(env, 'neigh', 'replace', SINK_IP, 'lladdr', sink.mac, 'dev', sinkIf, 'nud', 'permanent');
      if (masquerade) {
        for (const args of [
          ['add', 'table', 'ip', 'nat'],
          ['add', 'chain', 'ip', 'nat', 'post', '{ type nat hook postrouting priority 100 ; }'],
          ['add', 'rule', 'ip', 'nat', 'post', 'oifname', sinkIf, 'masquerade'],
        ]) {
          const r = nft(...args);
          if (r.status !== 0) throw new Error(`nft ${args.join(' ')}: ${r.err.trim() || `exit ${r.status}`} (apt-get install -y nftables; this kernel needs CONFIG_NFT_NAT / NFT_MASQ)`);
        }
      }
      mac = JSON.parse(dutIp(env, '-j', 'link', 'show', genIf))[0].address;
    },
    dstMac() { return mac; },
    async prepare() { /* the sink's neighbour entry is static */ },
    async sample() {
      const g = linkStats(dut, genIf), s = linkStats(dut, sinkIf);
      return { counters: { genPortRxDropped: g.rxDropped, sinkPortTxDropped: s.txDropped } };
    },
    pid() { return undefined; },
    async details() {
      const rd = (k: string): string => shStatus('ip', ['netns', 'exec', dut, 'sysctl', '-n', k]).out.trim();
      return {
        rpFilter: { all: rd('net.ipv4.conf.all.rp_filter'), gen: rd(`net.ipv4.conf.${genIf}.rp_filter`) },
        ...(masquerade ? { ruleset: nft('list', 'ruleset').out, conntrackCount: rd('net.netfilter.nf_conntrack_count') } : {}),
      };
    },
    async down() {
      if (masquerade) nft('delete', 'table', 'ip', 'nat');
      shStatus('ip', ['netns', 'exec', dut, 'sysctl', '-qw', 'net.ipv4.ip_forward=0']);
      shStatus('ip', ['-n', dut, 'neigh', 'flush', 'dev', sinkIf]);
      for (const i of [genIf, sinkIf]) shStatus('ip', ['-n', dut, 'addr', 'flush', 'dev', i]);
    },
  };
}

type SyMode = 'routed' | 'nat' | 'bridged';

function switchyard(env: Env, mode: SyMode, ring?: number): Device {
  const { topo, dut, genIf, sinkIf, gen, sink, log } = env;
  const name = `${topo.prefix}${mode}`;
  const runDir = `/tmp/${topo.prefix}-l3-${mode}`;
  const r = ring ? { ring } : {};
  const ports = { gen: { afpacket: genIf, ...r }, sink: { afpacket: sinkIf, ...r } };
  const networks = mode === 'routed'
    ? { pub: { mode: 'routed', ports: ['gen'], gateway: '169.255.30.1', antiSpoof: true, hosts: { [GEN_IP]: 'gen' }, uplink: { port: 'sink', address: DUT_SINK_CIDR } } }
    : mode === 'nat'
      ? { priv: { mode: 'nat', ports: ['gen'], address: DUT_GEN_CIDR, uplink: { port: 'sink', address: DUT_SINK_CIDR } } }
      : { lan: { mode: 'bridged', ports: ['gen', 'sink'] } };
  const config = { name, mac: ROUTER_MAC, runDir, stateDir: runDir, ports, networks };
  let agent: Agent | null = null;
  return {
    key: mode,
    label: `switchyard ${mode}${ring ? ` (ring ${ring})` : ''}`,
    async up() {
      agent = startAgent(topo, `switchyard ${mode}`, 'dut-l3.ts', [JSON.stringify(config)], dut);
      const r = await agent.next<{ ready?: boolean }>(30000);
      if (!r.ready) throw new Error(`switchyard ${mode}: did not come up`);
    },
    dstMac() { return mode === 'bridged' ? sink.mac : ROUTER_MAC; },
    async prepare() {
      if (mode === 'bridged') {
        // learning frames from the sink's MAC; then the fdb must have it on the sink port
        await waitFor('switchyard bridged: the sink\'s MAC learned', async () => {
          await sinkAgent!.ask({ op: 'learn', dst: gen.mac, count: 4 });
          await sleep(30);
          const fdb = await agent!.ask<{ mac: string; port: string }[]>('fdb');
          return fdb.some((e) => e.mac === sink.mac && e.port === 'sink');
        }, 5000, 50);
        return;
      }
      // the sink asks for the uplink address: the switch learns the sender (10.99.1.2)
      await waitFor(`switchyard ${mode}: ${SINK_IP} resolved`, async () => {
        await topo.run(sink.ns, 'arping', '-c', '1', '-w', '1', '-I', 'eth0', DUT_SINK_CIDR.split('/')[0]);
        const n = await agent!.ask<{ address: string; hwaddress: string; iface: string }[]>('neigh');
        return n.some((e) => e.address === SINK_IP && e.hwaddress === sink.mac && e.iface === 'sink');
      }, 8000, 100);
      log(`  ${SINK_IP} is resolved on the switch before any generated frame`);
    },
    async sample() {
      const st = await agent!.ask<SwitchStats>('stats');
      const g = st.ports.find((p) => p.name === 'gen')!, s = st.ports.find((p) => p.name === 'sink')!;
      const c: Counters = { genRx: g.counters.rxPackets, forwarded: s.counters.txPackets };
      for (const [k, v] of Object.entries(g.drops)) c[`genPort:${k}`] = v;
      for (const [k, v] of Object.entries(s.drops)) c[`sinkPort:${k}`] = v;
      for (const [k, v] of Object.entries(st.drops)) if (!(k in g.drops) && !(k in s.drops)) c[`switch:${k}`] = v;
      c.poolAllocFailures = st.pool.allocFailures;
      return { counters: c, loopMaxMs: st.loop.maxMs };
    },
    pid() { return agent?.proc.pid; },
    async resetNodes() { await agent!.ask('reset'); },
    async nodes() { return (await agent!.ask<SwitchStats>('stats')).nodes; },
    async details() {
      const st = await agent!.ask<SwitchStats>('stats');
      return {
        config,
        poolInUse: st.pool.inUse,
        drops: st.drops,
        ports: st.ports,
        neighbors: mode === 'bridged' ? undefined : await agent!.ask('neigh'),
      };
    },
    async down() {
      if (agent) await agent.quit();
      agent = null;
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

// the sink agent, for the bridged device's learning frames
let sinkAgent: Agent | null = null;

// ---------------------------------------------------------------------------------------
// trials

export interface Trial {
  targetMpps: number;
  sent: number;
  received: number;
  offeredMpps: number;
  deliveredMpps: number;
  loss: number;
  seconds: number;
  /** where the lost frames went, and (switchyard) what it forwarded */
  drops: Counters;
  /** % of one CPU during the trial */
  cpu: Counters;
  loopMaxMs?: number;
  disturbed?: boolean;
  /** CPU time of the generator, the sink, the switch child and ksoftirqd per delivered frame (ns) */
  cpuNsPerPacket: number;
  /**
   * switchyard, flat-out trial: per-node times of this trial alone; nsPerFrame = the node's
   * time per frame the switch received from the generator (nat frames pass eth-input and
   * port-output twice: the segment's hop to the router port)
   */
  nodes?: { name: string; packets: number; vectorSize: number; nsPerPacket: number; nsPerFrame: number; counters: Counters }[];
  /** switchyard, flat-out trial: the child's CPU time per packet it received (ns) */
  dutCpuNsPerPacket?: number;
}

export interface DeviceResult {
  key: string;
  label: string;
  max: Trial | null;
  noDrop: Trial | null;
  /** no search trial passed: the lowest rate tried (Mpps), which lost frames */
  noDropBelow?: number;
  search: Trial[];
  details: unknown;
  error?: string;
}

interface Traffic { gen: Agent; sink: Agent; sinkOp: 'sink' | 'sinkPoll' }

async function runTrial(t: Traffic, dev: Device, pps: number, count: number, withNodes: boolean): Promise<Trial> {
  if (withNodes && dev.resetNodes) await dev.resetNodes();
  const c0 = (await dev.sample()).counters;
  const k0 = softnetDrops();
  const pids = { gen: t.gen.proc.pid, sink: t.sink.proc.pid, dut: dev.pid() };
  const s0 = await t.sink.ask<Counters>({ op: 'stats' });
  const expectSec = pps > 0 ? count / pps : count / 5e5;
  t.sink.send({ op: t.sinkOp, durationMs: Math.ceil(expectSec * 3000) + 5000, idleMs: 300, intervalMs: 1 });
  await t.sink.next(10000); // armed
  // CPU use over the generator's run only (not the sink's idle tail)
  const cpu0 = cpuSnapshot(pids);
  const g = await t.gen.ask<{ sent: number; ns: number }>({ op: 'gen', dst: dev.dstMac(), dstIp: SINK_IP, flows: FLOWS, count, pps }, Math.ceil(expectSec * 4000) + 20000);
  const cpu1 = cpuSnapshot(pids);
  const s = await t.sink.next<{ frames: number; ns: number }>(Math.ceil(expectSec * 3000) + 10000);
  const d1 = await dev.sample();
  const s1 = await t.sink.ask<Counters>({ op: 'stats' });
  const drops = diff(c0, d1.counters);
  const kd = softnetDrops() - k0;
  if (kd) drops.kernelBacklog = kd;
  const sd = s1.rxKernelDrops - s0.rxKernelDrops;
  if (sd) drops.sinkRing = sd;
  const tr: Trial = {
    targetMpps: pps / 1e6,
    sent: g.sent,
    received: s.frames,
    offeredMpps: g.ns > 0 ? (g.sent / g.ns) * 1e3 : 0,
    deliveredMpps: s.ns > 0 ? (s.frames / s.ns) * 1e3 : 0,
    loss: g.sent > 0 ? Math.max(0, 1 - s.frames / g.sent) : 1,
    seconds: g.ns / 1e9,
    drops,
    cpu: cpuUse(cpu0, cpu1),
    cpuNsPerPacket: 0,
    loopMaxMs: d1.loopMaxMs,
  };
  let work = cpu1.ksoftirqd - cpu0.ksoftirqd;
  for (const k of ['gen', 'sink', 'dut']) work += (cpu1.ticks[k] ?? 0) - (cpu0.ticks[k] ?? 0);
  tr.cpuNsPerPacket = s.frames > 0 ? Math.round(((work / TICK) * 1e9) / s.frames) : 0;
  if (withNodes && dev.nodes) {
    const frames = drops.genRx || 1;
    tr.nodes = (await dev.nodes()).filter((n) => n.packets > 0).map((n) => ({
      name: n.name, packets: n.packets, vectorSize: +n.vectorSize.toFixed(1), nsPerPacket: +n.nsPerPacket.toFixed(1),
      nsPerFrame: +((n.nsPerPacket * n.packets) / frames).toFixed(1), counters: n.counters,
    }));
    const dutTicks = (cpu1.ticks.dut ?? 0) - (cpu0.ticks.dut ?? 0);
    if (drops.genRx) tr.dutCpuNsPerPacket = Math.round(((dutTicks / TICK) * 1e9) / drops.genRx);
  }
  return tr;
}

async function trial(t: Traffic, dev: Device, pps: number, count: number, log: (l: string) => void, withNodes = false): Promise<Trial> {
  await waitQuiet(8000, log);
  let tr = await runTrial(t, dev, pps, count, withNodes);
  if (tr.cpu.others > DISTURBED_PCT && quietBudget > 0) {
    log(`    (disturbed: other processes used ${tr.cpu.others} % of a CPU; again)`);
    await waitQuiet(8000, log);
    tr = await runTrial(t, dev, pps, count, withNodes);
  }
  if (tr.cpu.others > DISTURBED_PCT) tr.disturbed = true;
  return tr;
}

let verbose = false;

function fmtTrial(t: Trial): string {
  const target = t.targetMpps ? `${t.targetMpps.toFixed(3)} Mpps` : 'flat out';
  const d = Object.entries(t.drops).filter(([k]) => k !== 'genRx' && k !== 'forwarded').map(([k, v]) => `${k}=${v}`).join(' ');
  const c = Object.entries(t.cpu).map(([k, v]) => `${k} ${v}`).join(' ');
  const l = t.loopMaxMs !== undefined ? ` loop-max ${t.loopMaxMs.toFixed(1)} ms` : '';
  return `target ${target.padStart(11)}: offered ${t.offeredMpps.toFixed(3)}, delivered ${t.deliveredMpps.toFixed(3)} Mpps, loss ${(t.loss * 100).toFixed(3)} %${d ? `  [${d}]` : ''}${t.disturbed ? '  DISTURBED' : ''}${verbose ? `\n      cpu% ${c}${l}` : ''}`;
}

interface Options { ring?: number; sink?: 'native' | 'poll'; quick?: boolean; verbose?: boolean; trialSeconds?: number; searchSteps?: number; devices?: string[]; quietBudgetSeconds?: number; log?: (l: string) => void }

async function measure(t: Traffic, dev: Device, opts: Options, log: (l: string) => void): Promise<DeviceResult> {
  const secs = opts.trialSeconds ?? (opts.quick ? 1 : 2);
  const steps = opts.searchSteps ?? (opts.quick ? 3 : 5);
  await dev.prepare();
  // a slow trickle: the NATs create their 16 flows, everything is warm
  await t.gen.ask({ op: 'gen', dst: dev.dstMac(), dstIp: SINK_IP, flows: FLOWS, count: 2000, pps: 200000 });
  await sleep(50);
  // (a) flat out: a short calibration run sizes a trial of `secs` seconds
  const cal = await trial(t, dev, 0, opts.quick ? 150000 : 300000, log);
  if (cal.received < cal.sent * 0.05) {
    throw new Error(`${dev.label} delivered ${cal.received} of ${cal.sent} frames flat out: not forwarding [${Object.entries(cal.drops).map(([k, v]) => `${k}=${v}`).join(' ')}]`);
  }
  const max = await trial(t, dev, 0, Math.max(100000, Math.round(cal.offeredMpps * 1e6 * secs)), log, true);
  log(`  ${fmtTrial(max)}`);
  // (b) no-drop rate: bisection over paced trials
  const { noDrop, search } = await searchNoDrop(max, {
    steps, start: 0.95, stepDown: 0.7, lossOk: LOSS_OK,
    run: (pps) => trial(t, dev, pps, Math.round(pps * secs), log),
    show: (tr) => log(`  ${fmtTrial(tr)}${tr.loss < LOSS_OK ? '  ok' : ''}`),
  });
  const noDropBelow = noDrop ? undefined : Math.min(...search.map((x) => x.offeredMpps));
  return { key: dev.key, label: dev.label, max, noDrop, noDropBelow, search, details: await dev.details() };
}

// ---------------------------------------------------------------------------------------

export const DEVICE_KEYS = ['kernel-router', 'nft-masq', 'routed', 'nat', 'bridged'] as const;

export interface L3Report {
  when: string;
  host: { cpus: number; kernel: string; node: string };
  options: Options;
  frameBytes: number;
  flows: number;
  sinkDrop: string;
  devices: DeviceResult[];
  ratios: { name: string; maxDelivered: number | null; noDrop: number | null }[];
  seconds: number;
}

export async function l3Bench(opts: Options = {}): Promise<L3Report> {
  const log = opts.log ?? ((l: string) => process.stdout.write(l + '\n'));
  verbose = !!opts.verbose;
  quietBudget = (opts.quietBudgetSeconds ?? (opts.quick ? 10 : 30)) * 1000;
  const t0 = Date.now();
  const keys = opts.devices ?? [...DEVICE_KEYS];
  for (const k of keys) if (!(DEVICE_KEYS as readonly string[]).includes(k)) throw new Error(`unknown device "${k}" (known: ${DEVICE_KEYS.join(', ')})`);
  const topo = new Topology();
  let current: Device | null = null;
  let disposed = false;
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    topo.dispose(); // children (SIGKILL), veths, namespaces (the DUT's ends go with its namespace)
    for (const m of ['routed', 'nat', 'bridged']) rmSync(`/tmp/${topo.prefix}-l3-${m}`, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`\n${sig}: removing the ${topo.prefix} topology`);
    dispose();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const gen = topo.host('gen', `${GEN_IP}/24`);
    const sink = topo.host('sink', `${SINK_IP}/24`);
    sh('ip', ['-n', sink.ns, 'route', 'add', 'default', 'via', DUT_SINK_CIDR.split('/')[0]]);
    // the DUT namespace gets both DUT-side ends
    const dut = topo.ns('dut');
    for (const k of ['all', 'default']) topo.exec(dut, 'sysctl', '-qw', `net.ipv6.conf.${k}.disable_ipv6=1`);
    topo.exec(dut, 'sysctl', '-qw', 'net.ipv4.ip_forward=0');
    for (const h of [gen, sink]) {
      sh('ip', ['link', 'set', h.rootIf, 'netns', dut]);
      shStatus('ip', ['netns', 'exec', dut, 'sysctl', '-qw', `net.ipv6.conf.${h.rootIf}.disable_ipv6=1`]);
      sh('ip', ['-n', dut, 'link', 'set', h.rootIf, 'up']);
    }
    // the sink's cheapest drop: nft netdev ingress, after the AF_PACKET tap
    let sinkDrop = 'nft netdev ingress: udp dport 9000 drop (after the AF_PACKET tap)';
    const nftSink = [
      ['add', 'table', 'netdev', 'sinkdrop'],
      ['add', 'chain', 'netdev', 'sinkdrop', 'in', '{ type filter hook ingress device "eth0" priority 0 ; }'],
      ['add', 'rule', 'netdev', 'sinkdrop', 'in', 'udp', 'dport', '9000', 'drop'],
    ];
    for (const a of nftSink) {
      const r = shStatus('ip', ['netns', 'exec', sink.ns, 'nft', ...a]);
      if (r.status !== 0) { sinkDrop = `the sink's stack (UDP port unreachable; nft failed: ${r.err.trim()})`; break; }
    }
    log(`topology ${topo.prefix}: gen ${gen.mac}, sink ${sink.mac}; sink drops with ${sinkDrop}`);
    const env: Env = { topo, dut, genIf: gen.rootIf, sinkIf: sink.rootIf, gen, sink, log };
    const genA = startAgent(topo, 'gen', 'traffic.ts', ['gen', 'eth0'], gen.ns);
    const sinkA = startAgent(topo, 'sink', 'traffic.ts', ['sink', 'eth0'], sink.ns);
    sinkAgent = sinkA;
    await genA.next(30000); await sinkA.next(30000);
    const t: Traffic = { gen: genA, sink: sinkA, sinkOp: opts.sink === 'native' ? 'sink' : 'sinkPoll' };
    const results: DeviceResult[] = [];
    for (const key of keys) {
      const dev = key === 'kernel-router' ? kernelRouter(env, false) : key === 'nft-masq' ? kernelRouter(env, true) : switchyard(env, key as SyMode, opts.ring);
      log(`${dev.label}:`);
      current = dev;
      try {
        await dev.up();
        results.push(await measure(t, dev, opts, log));
      } catch (e) {
        const msg = (e as Error).message;
        log(`  FAILED: ${msg}`);
        results.push({ key: dev.key, label: dev.label, max: null, noDrop: null, search: [], details: null, error: msg });
      } finally {
        current = null;
        await dev.down();
      }
    }
    await genA.quit({ op: 'quit' }); await sinkA.quit({ op: 'quit' });
    const by = (k: string): DeviceResult | undefined => results.find((r) => r.key === k && r.max);
    const ratio = (name: string, a?: DeviceResult, b?: DeviceResult): { name: string; maxDelivered: number | null; noDrop: number | null } => ({
      name,
      maxDelivered: a?.max && b?.max && b.max.deliveredMpps > 0 ? a.max.deliveredMpps / b.max.deliveredMpps : null,
      noDrop: a?.noDrop && b?.noDrop ? a.noDrop.offeredMpps / b.noDrop.offeredMpps : null,
    });
    const ratios = [
      ratio('routed / kernel router', by('routed'), by('kernel-router')),
      ratio('nat / nftables masquerade', by('nat'), by('nft-masq')),
      ratio('routed / bridged', by('routed'), by('bridged')),
      ratio('nat / bridged', by('nat'), by('bridged')),
    ];
    return {
      when: new Date(t0).toISOString(),
      host: { cpus: cpus().length, kernel: sh('uname', ['-r']).trim(), node: process.version },
      options: { ...opts, log: undefined },
      frameBytes: 64,
      flows: FLOWS,
      sinkDrop,
      devices: results,
      ratios,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    if (current) { try { await (current as Device).down(); } catch { /* dispose removes it anyway */ } }
    sinkAgent = null;
    dispose();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

export function l3Table(r: L3Report): string {
  const W = 32;
  const num = (v: number | null | undefined, d = 3): string => (v === null || v === undefined ? '-' : v.toFixed(d));
  const star = (tr: Trial | null | undefined): string => (tr?.disturbed ? '*' : ' ');
  const x = (v: number | null): string => (v === null ? '-' : `${v.toFixed(2)}x`);
  const lines = [
    `through the kernel, L3: gen -> veth -> DUT -> veth -> sink, 64-byte UDP/IPv4, ${r.flows} flows, ${r.host.cpus} CPUs, sink ${r.options.sink ?? 'poll'}, ${r.seconds.toFixed(0)} s`,
    `${''.padEnd(W)}${'flat out'.padStart(30)}   ${'no-drop'.padStart(9)}   ${'flat out: CPU'.padStart(13)}  ${'(% of one core)'.padStart(22)}`,
    `${'device'.padEnd(W)}${'offered'.padStart(10)}${'delivered'.padStart(11)}${'loss'.padStart(9)}   ${'offered'.padStart(9)}   ${'per frame'.padStart(13)}  ${'gen  sink   dut  ksirq'.padStart(22)}`,
    `${''.padEnd(W)}${'Mpps'.padStart(10)}${'Mpps'.padStart(11)}${'%'.padStart(9)}   ${'Mpps'.padStart(9)}   ${'us'.padStart(13)}`,
  ];
  for (const d of r.devices) {
    if (!d.max) { lines.push(`${d.label.padEnd(W)}  FAILED: ${d.error}`); continue; }
    const c = d.max.cpu;
    const cpu = `${String(c.gen ?? '-').padStart(4)} ${String(c.sink ?? '-').padStart(5)} ${String(c.dut ?? '-').padStart(5)} ${String(c.ksoftirqd ?? '-').padStart(6)}`;
    lines.push(`${d.label.padEnd(W)}${num(d.max.offeredMpps).padStart(10)}${num(d.max.deliveredMpps).padStart(11)}${(d.max.loss * 100).toFixed(2).padStart(9)}${star(d.max)}  ${(d.noDrop ? num(d.noDrop.offeredMpps) : d.noDropBelow !== undefined ? `<${num(d.noDropBelow)}` : '-').padStart(9)}${star(d.noDrop)}  ${(d.max.cpuNsPerPacket / 1000).toFixed(2).padStart(13)}  ${cpu}`);
  }
  lines.push(`${'ratio'.padEnd(W)}${''.padStart(10)}${'delivered'.padStart(11)}${''.padStart(9)}   ${'no-drop'.padStart(9)}`);
  for (const q of r.ratios) lines.push(`${q.name.padEnd(W)}${''.padStart(10)}${x(q.maxDelivered).padStart(11)}${''.padStart(9)}   ${x(q.noDrop).padStart(9)}`);
  if (r.devices.some((d) => d.max?.disturbed || d.noDrop?.disturbed)) lines.push('* other processes used more than 15 % of a CPU during that trial, even after a retry');
  if (r.devices.some((d) => d.max && !d.noDrop)) lines.push('<x: no search trial passed; the lowest rate tried, x Mpps, lost frames');
  const sy = r.devices.filter((d) => d.max?.nodes?.length);
  if (sy.length) {
    lines.push("switchyard, flat-out trial: wall ns per frame in each node (port-output includes tx(): the veth and the");
    lines.push("sink's receive softirq), the child's CPU ns per frame, its run-queue wait, and where frames were lost:");
    for (const d of sy) {
      const m = d.max!;
      const sum = m.nodes!.reduce((a, n) => a + n.nsPerFrame, 0);
      const drops = Object.entries(m.drops).filter(([k]) => k !== 'genRx' && k !== 'forwarded').map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
      lines.push(`  ${d.label}: vector ${m.nodes![0].vectorSize}, ${m.nodes!.map((n) => `${n.name} ${n.nsPerFrame.toFixed(0)}`).join(', ')}`);
      lines.push(`    graph ${sum.toFixed(0)} ns/frame, child CPU ${m.dutCpuNsPerPacket ?? '-'} ns/frame, run-queue wait ${m.cpu.dutWait ?? '-'} %, loop-max ${m.loopMaxMs?.toFixed(1) ?? '-'} ms; drops: ${drops}`);
    }
  }
  return lines.join('\n');
}

function parseFlags(argv: string[]): Options {
  const o: Options = {};
  const val = (i: number, f: string): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${f} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--verbose' || a === '-v') o.verbose = true;
    else if (a === '--sink') { const v = val(i++, a); if (v !== 'native' && v !== 'poll') throw new Error('--sink native|poll'); o.sink = v; }
    else if (a === '--ring') o.ring = Number(val(i++, a));
    else if (a === '--devices') o.devices = val(i++, a).split(',');
    else if (a === '--trial') o.trialSeconds = Number(val(i++, a));
    else if (a === '--steps') o.searchSteps = Number(val(i++, a));
    else if (a === '--quiet-budget') o.quietBudgetSeconds = Number(val(i++, a));
    else if (a !== '--no-json') throw new Error(`unknown flag ${a}`);
  }
  return o;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const opts = parseFlags(argv);
  const r = await l3Bench(opts);
  console.log('\n' + l3Table(r));
  if (!argv.includes('--no-json')) {
    const dir = join(here, 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-l3.json`);
    writeFileSync(file, JSON.stringify({ l3: r }, null, 2) + '\n');
    console.log(`\nJSON: ${file}`);
  }
}
