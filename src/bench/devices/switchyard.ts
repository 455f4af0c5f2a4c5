// devices/switchyard.ts — switchyard under test, in each of its modes, on the DUT namespace's
// ports, as a child process (dut-agent.ts) with a core of its own:
//
//   bridged  pgen, psink, pmon in one bridged network (MAC learning);
//   routed   pgen a routed VM port with a /32 host route for every source address the
//            generator uses (anti-spoofing on, as deployed), psink the uplink 10.99.1.1/24;
//   nat      pgen the VM port of a NAT network 10.99.0.254/24, psink the uplink 10.99.1.1/24
//            (the generator's flows become conntrack entries and are masqueraded);
//   forwarder  the minimal forwarder on the same addon I/O, no graph (a reference).
import { startAgent, type Agent } from '../agent.js';
import { exec, waitFor } from '../exec.js';
import { ipAdd } from '../frames.js';
import { PLAN, type Device, type DeviceEnv, type NodeTime } from '../types.js';

export type SwitchyardMode = 'bridged' | 'routed' | 'nat';

interface PortStats { name: string; drops: Record<string, number>; counters: Record<string, number> }
interface SwitchStats { ports: PortStats[]; drops: Record<string, number>; pool: { inUse: number; allocFailures: number }; loop: { maxMs: number } }

function configFor(mode: SwitchyardMode, env: DeviceEnv, ring?: number): object {
  const { prefix, ports } = env.topo;
  const r = ring ? { ring } : {};
  const hosts: Record<string, string> = {};
  for (let i = 0; i < PLAN.maxSourceAddresses; i++) hosts[ipAdd(PLAN.genIp, i)] = 'gen';
  const networks = mode === 'routed'
    ? { pub: { mode: 'routed', ports: ['gen'], antiSpoof: true, hosts, uplink: { port: 'sink', address: PLAN.dutSinkCidr } } }
    : mode === 'nat'
      ? { priv: { mode: 'nat', ports: ['gen'], address: PLAN.dutGenCidr, uplink: { port: 'sink', address: PLAN.dutSinkCidr } } }
      : { lan: { mode: 'bridged', ports: ['gen', 'sink', 'mon'] } };
  const runDir = `${env.workDir}/switchyard-${mode}`;
  return {
    name: `${prefix}${mode}`, mac: PLAN.routerMac, runDir, stateDir: runDir,
    ports: { gen: { afpacket: ports.gen, ...r }, sink: { afpacket: ports.sink, ...r }, ...(mode === 'bridged' ? { mon: { afpacket: ports.mon, ...r } } : {}) },
    networks,
  };
}

function flatten(st: SwitchStats): Record<string, number> {
  const c: Record<string, number> = {};
  for (const p of st.ports) {
    for (const [k, v] of Object.entries(p.drops)) c[`${p.name}:${k}`] = v;
  }
  for (const [k, v] of Object.entries(st.drops)) if (!st.ports.some((p) => k in p.drops)) c[`switch:${k}`] = v;
  c.poolAllocFailures = st.pool.allocFailures;
  return c;
}

export function switchyard(mode: SwitchyardMode, opts: { ring?: number } = {}): Device {
  let agent: Agent | null = null;
  let env: DeviceEnv | null = null;
  let config: object = {};
  return {
    key: mode,
    label: `switchyard ${mode}${opts.ring ? ` (ring ${opts.ring})` : ''}`,
    kind: mode === 'bridged' ? 'bridge' : mode === 'routed' ? 'router' : 'nat',
    async available() { return null; },
    async up(e) {
      env = e;
      config = configFor(mode, e, opts.ring);
      agent = startAgent(`switchyard ${mode}`, 'dut-agent', ['switch', JSON.stringify(config)], e.topo.dutNs, (c) => e.track(c));
      const r = await agent.next<{ ready?: boolean }>(30000);
      if (!r.ready) throw new Error(`switchyard ${mode} did not come up`);
    },
    nextHopMac(dir) {
      if (mode !== 'bridged') return PLAN.routerMac;
      return dir === 'forward' ? env!.topo.sink.mac : env!.topo.gen.mac;
    },
    async prepare(e) {
      if (mode === 'bridged') return;
      // the sink asks for the uplink's address: the switch learns 10.99.1.2 from the request
      await waitFor(`switchyard ${mode} to resolve ${PLAN.sinkIp}`, async () => {
        await exec('ip', ['netns', 'exec', e.topo.sink.ns, 'arping', '-c', '1', '-w', '1', '-I', 'eth0', PLAN.dutSinkIp]);
        const n = await agent!.ask<{ address: string; iface: string }[]>('neigh');
        return n.some((x) => x.address === PLAN.sinkIp && x.iface === 'sink');
      }, 8000, 100);
    },
    pids() { return agent ? [agent.pid] : []; },
    async counters() { return flatten(await agent!.ask<SwitchStats>('stats')); },
    async nodeTimes(reset) {
      if (reset) { await agent!.ask('reset'); return []; }
      const st = await agent!.ask<{ nodes: NodeTime[] }>('stats');
      return st.nodes.filter((n) => n.packets > 0).map((n) => ({ name: n.name, packets: n.packets, vectorSize: n.vectorSize, nsPerPacket: n.nsPerPacket }));
    },
    async details() {
      const st = await agent!.ask<SwitchStats & { loop: unknown }>('stats');
      return { config, pool: st.pool, drops: st.drops };
    },
    async down() {
      if (agent) await agent.quit('quit');
      agent = null;
    },
  };
}

/** The minimal forwarder: pgen <-> psink on the addon's I/O with no graph. */
export function forwarder(): Device {
  let agent: Agent | null = null;
  let env: DeviceEnv | null = null;
  return {
    key: 'forwarder',
    label: 'minimal forwarder (switchyard I/O, no graph)',
    kind: 'wire',
    async available() { return null; },
    async up(e) {
      env = e;
      agent = startAgent('forwarder', 'dut-agent', ['forwarder', e.topo.ports.gen, e.topo.ports.sink], e.topo.dutNs, (c) => e.track(c));
      const r = await agent.next<{ ready?: boolean }>(30000);
      if (!r.ready) throw new Error('the forwarder did not come up');
    },
    nextHopMac(dir) { return dir === 'forward' ? env!.topo.sink.mac : env!.topo.gen.mac; },
    async prepare() { /* nothing to learn */ },
    pids() { return agent ? [agent.pid] : []; },
    async counters() {
      const st = await agent!.ask<{ moved: { txShort: number }; a: { rxKernelDrops?: number }; b: { rxKernelDrops?: number } }>('stats');
      return { txShort: st.moved.txShort, 'gen:kernel-ring-full': st.a.rxKernelDrops ?? 0, 'sink:kernel-ring-full': st.b.rxKernelDrops ?? 0 };
    },
    async down() {
      if (agent) await agent.quit('quit');
      agent = null;
    },
  };
}
