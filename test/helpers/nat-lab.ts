// nat-lab.ts — a Dataplane with in-memory ports and a fake clock, its nat (and isolated,
// bridged, routed) networks built the way the Switch builds them (src/switch.ts): a config
// object through parseConfig, a nat/isolated network as a bridged segment plus the switch's
// router interface on a patch pair (Dataplane.addSegment), its VM ports joined to the
// segment, its uplink joined to the router only (joinRouter), then Routing.configure with a
// RoutingPorts adapter that also knows the patch ports by name ("router:NAME"). DHCP
// servers are attached like the Switch does (no lease file, a fake wall clock) when asked.
// Used by the NAT node tests, the NAT golden test and nothing else.
//
// `conntrack` replaces each nat network's connection table after configure with one built
// from these options (and the network's forwards re-added): the configuration has no knob
// for the table's bound or timeouts (routing.ts: CONNTRACK_MAX), and the tests need tiny ones.
import { PacketPool } from '../../src/engine/pool.ts';
import { Dataplane } from '../../src/dataplane.ts';
import { MemoryPort } from '../../src/io/memory-port.ts';
import { FakeClock } from '../../src/engine/clock.ts';
import { parseConfig } from '../../src/config.ts';
import { Routing, type RoutingPorts } from '../../src/routing.ts';
import { Conntrack, type ConntrackOptions } from '../../src/tables/conntrack.ts';
import { DhcpServer } from '../../src/dhcp/server.ts';
import { parseIp4, parseMac } from '../../src/wire/addr.ts';
import type { Config } from '../../src/types.ts';

export interface NatLabOptions {
  /** interface MACs the adapter reports, by port name (an uplink's is what its LAN sees) */
  macs?: Record<string, string>;
  slots?: number;
  /** attach the configured DHCP servers (as the Switch does) */
  dhcp?: boolean;
  /** rebuild every nat network's table with these options (forwards re-added) */
  conntrack?: ConntrackOptions;
}

export class NatLab {
  readonly pool: PacketPool;
  readonly clock = new FakeClock();
  readonly dp: Dataplane;
  readonly cfg: Config;
  readonly routing: Routing;
  readonly io = new Map<string, MemoryPort>();
  readonly ids = new Map<string, number>();
  readonly dhcp = new Map<string, DhcpServer>();

  constructor(raw: unknown, opts: NatLabOptions = {}) {
    this.cfg = parseConfig(raw);
    this.pool = new PacketPool(opts.slots ?? 4096);
    this.dp = new Dataplane(this.pool, { clock: this.clock });
    const dp = this.dp, cfg = this.cfg;
    const switchMac = parseMac(cfg.mac);
    const mtuOf = (name: string): number => cfg.ports[name]?.mtu ?? 1500;
    const nets = new Map<string, ReturnType<Dataplane['addNetwork']>>();
    for (const net of Object.values(cfg.networks)) {
      if (net.mode === 'bridged' || net.mode === 'routed') nets.set(net.name, dp.addNetwork(net.name, net.mode, net.fdb));
      else nets.set(net.name, dp.addSegment(net.name, net.fdb, switchMac).net);
    }
    for (const name of Object.keys(cfg.ports)) {
      const io = new MemoryPort(this.pool);
      this.io.set(name, io);
      const id = dp.addPort(name, io, mtuOf(name));
      this.ids.set(name, id);
      const net = Object.values(cfg.networks).find((n) => n.ports.includes(name) || n.uplink?.port === name);
      if (!net) continue;
      if (net.mode === 'nat' && net.uplink?.port === name) dp.joinRouter(id, nets.get(net.name)!);
      else dp.joinNetwork(id, nets.get(net.name)!);
    }
    const macs = opts.macs ?? {};
    const ports: RoutingPorts = {
      id: (name) => this.ids.get(name) ?? dp.ports.id(name),
      name: (id) => dp.ports.names[id] || `#${id}`,
      mac: (name) => macs[name] ?? null,
      mtu: mtuOf,
    };
    this.routing = new Routing(dp.ip4, ports);
    this.routing.configure(cfg);
    if (opts.conntrack) {
      const natNets = Object.values(cfg.networks).filter((n) => n.mode === 'nat' && n.address && n.uplink);
      natNets.forEach((net, i) => {
        const old = dp.ip4.nats[i];
        const ct = new Conntrack({ ...opts.conntrack!, externalIp: old.externalIp });
        for (const f of old.forwards()) ct.addForward(f.proto, f.extPort, f.insideIp, f.insidePort);
        dp.ip4.nats[i] = ct;
      });
    }
    if (opts.dhcp) {
      for (const net of Object.values(cfg.networks)) {
        if (!net.dhcp || !net.address) continue;
        const [ip, len] = net.address.split('/');
        const serverIp = parseIp4(ip), plen = Number(len);
        const mask = plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
        const server = new DhcpServer({
          network: net.name, serverMac: switchMac, serverIp,
          subnet: { net: (serverIp & mask) >>> 0, len: plen },
          range: [parseIp4(net.dhcp.range[0]), parseIp4(net.dhcp.range[1])],
          leaseSeconds: net.dhcp.leaseSeconds, dns: net.dhcp.dns.map(parseIp4), domain: net.dhcp.domain,
          static: Object.entries(net.dhcp.static).map(([m, a]) => ({ mac: parseMac(m), ip: parseIp4(a) })),
          router: net.mode === 'isolated' ? null : serverIp,
          wallClock: () => 1_700_000_000_000 + this.clock.ms,
        });
        const router = dp.ports.id(`router:${net.name}`);
        dp.ip4.dhcpOfPort[router] = dp.ip4.dhcp.length;
        dp.ip4.dhcp.push(server);
        this.dhcp.set(net.name, server);
      }
    }
  }

  id(port: string): number { return this.ids.get(port)!; }

  /** The connection table of a nat network (the first by default). */
  ct(index = 0): Conntrack { return this.dp.ip4.nats[index]; }

  /** Frames enter `port`; run until quiet. */
  send(port: string, ...frames: Uint8Array[]): void {
    const io = this.io.get(port)!;
    io.push(...frames);
    while (io.pending > 0) this.dp.service(this.id(port));
  }

  /** What each port sent since the last call, as hex (ports that sent nothing left out). */
  sent(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [name, io] of this.io) {
      const f = io.take();
      if (f.length) out[name] = f.map((b) => Buffer.from(b).toString('hex'));
    }
    return out;
  }

  /** What one port sent since the last call (and forget what the others sent). */
  sentOn(port: string): Uint8Array[] {
    let mine: Uint8Array[] = [];
    for (const [name, io] of this.io) {
      const f = io.take();
      if (name === port) mine = f;
    }
    return mine;
  }

  /** Advance the fake clock; run the neighbour timers and the once-a-second timers (flow expiry, MAC aging). */
  advance(seconds: number): void {
    this.clock.advance(seconds);
    this.dp.neighborTick();
    this.dp.age();
  }

  /** Let every pending resolution fail (a minute of timers in 200 ms steps, like the Switch's). */
  settle(): void {
    for (let i = 0; i < 300; i++) this.advance(0.2);
  }

  /** Every non-zero drop and informational counter of the graph, summed by name. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of this.dp.graph.stats()) for (const [k, v] of Object.entries(n.counters)) if (v) out[k] = (out[k] ?? 0) + v;
    return out;
  }

  /** Drop counters only. */
  drops(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of this.dp.graph.nodes) n.dropNames.forEach((r, i) => { if (n.drops[i]) out[r] = (out[r] ?? 0) + n.drops[i]; });
    return out;
  }

  portDrops(port: string): Record<string, number> {
    return this.dp.graph.portDropsOf(this.id(port));
  }
}

export interface NatGoldenEvent { t: number; port: string; data: Uint8Array }
export interface NatGoldenResult { outputs: Record<string, { timeNs: bigint; data: Uint8Array }[]>; counters: Record<string, number> }

/**
 * Replay input events (t in ms) through a NatLab in time order, the timers run as the Switch
 * runs them: the neighbour timers every 200 ms of fake time, flow expiry and MAC aging every
 * second; every frame sent is recorded with the time it left.
 */
export function replayNat(lab: NatLab, events: NatGoldenEvent[], endMs: number, tickMs = 200): NatGoldenResult {
  const outputs: NatGoldenResult['outputs'] = {};
  for (const p of lab.io.keys()) outputs[p] = [];
  const collect = (ms: number): void => {
    for (const [p, io] of lab.io) for (const d of io.take()) outputs[p].push({ timeNs: BigInt(Math.round(ms * 1e6)), data: d });
  };
  const sorted = events.slice().sort((a, b) => a.t - b.t);
  let next = tickMs, ticks = 0;
  const runTimers = (until: number): void => {
    while (next <= until) {
      lab.clock.ms = next;
      lab.dp.neighborTick();
      if (++ticks % Math.round(1000 / tickMs) === 0) lab.dp.age();
      collect(next);
      next += tickMs;
    }
  };
  for (const e of sorted) {
    runTimers(e.t);
    lab.clock.ms = e.t;
    lab.send(e.port, e.data);
    collect(e.t);
  }
  runTimers(endMs);
  const counters = lab.counters();
  counters.unresolved = lab.dp.unresolved;
  counters.neighbors = lab.dp.ip4.neighbors.size;
  lab.dp.ip4.nats.forEach((ct, i) => {
    const k = lab.routing.natNames[i];
    counters[`${k}.flows`] = ct.size;
    counters[`${k}.created`] = ct.created;
    counters[`${k}.expired`] = ct.expired;
    counters[`${k}.mappings`] = ct.mappings;
  });
  counters.poolInFlight = lab.pool.inFlight;
  counters.doubleFrees = lab.pool.doubleFrees;
  return { outputs, counters };
}
