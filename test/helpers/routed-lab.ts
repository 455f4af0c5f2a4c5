// routed-lab.ts — a Dataplane with in-memory ports and a fake clock, its routed networks
// configured the way the Switch does it: a config object through parseConfig (src/config.ts),
// then Routing.configure with a RoutingPorts adapter over the in-memory ports. Used by the
// routed node tests and the routed golden test.
//
// The MemoryPorts have no interface MAC of their own; `macs` gives the ones the adapter
// reports (an uplink's MAC is what the LAN sees; VM ports use the switch MAC whatever it says).
import { PacketPool } from '../../src/engine/pool.ts';
import { Dataplane } from '../../src/dataplane.ts';
import { MemoryPort } from '../../src/io/memory-port.ts';
import { FakeClock } from '../../src/engine/clock.ts';
import { parseConfig } from '../../src/config.ts';
import { Routing, type RoutingPorts } from '../../src/routing.ts';
import type { Config } from '../../src/types.ts';

export interface RoutedLabOptions {
  /** interface MACs the adapter reports, by port name (default: none) */
  macs?: Record<string, string>;
  slots?: number;
}

export class RoutedLab {
  readonly pool: PacketPool;
  readonly clock = new FakeClock();
  readonly dp: Dataplane;
  readonly cfg: Config;
  readonly routing: Routing;
  readonly io = new Map<string, MemoryPort>();
  readonly ids = new Map<string, number>();

  constructor(raw: unknown, opts: RoutedLabOptions = {}) {
    this.cfg = parseConfig(raw);
    this.pool = new PacketPool(opts.slots ?? 4096);
    this.dp = new Dataplane(this.pool, { clock: this.clock });
    const dp = this.dp;
    const cfg = this.cfg;
    const mtuOf = (name: string): number => cfg.ports[name].mtu ?? 1500;
    for (const name of Object.keys(cfg.ports)) {
      const io = new MemoryPort(this.pool);
      this.io.set(name, io);
      this.ids.set(name, dp.addPort(name, io, mtuOf(name)));
    }
    for (const net of Object.values(cfg.networks)) {
      if (net.mode !== 'bridged' && net.mode !== 'routed') throw new Error(`routed lab: mode ${net.mode} is not supported`);
      const n = dp.addNetwork(net.name, net.mode, net.fdb);
      for (const p of net.ports) dp.joinNetwork(this.ids.get(p)!, n);
      if (net.uplink) dp.joinNetwork(this.ids.get(net.uplink.port)!, n);
    }
    const macs = opts.macs ?? {};
    const ports: RoutingPorts = {
      id: (name) => this.ids.get(name) ?? -1,
      name: (id) => dp.ports.names[id] || `#${id}`,
      mac: (name) => macs[name] ?? null,
      mtu: mtuOf,
    };
    this.routing = new Routing(dp.ip4, ports);
    this.routing.configure(cfg);
  }

  id(port: string): number { return this.ids.get(port)!; }

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

  /** Advance the fake clock and run the neighbour timers. */
  advance(seconds: number): void {
    this.clock.advance(seconds);
    this.dp.neighborTick();
  }

  /** Let every pending resolution fail (the timers run a minute in 200 ms steps, like the Switch's). */
  settle(): void {
    for (let i = 0; i < 300; i++) this.advance(0.2);
  }

  /** Every non-zero drop and informational counter of the graph, summed by name. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of this.dp.graph.stats()) for (const [k, v] of Object.entries(n.counters)) if (v) out[k] = (out[k] ?? 0) + v;
    return out;
  }

  /** Drop counters only (informational counters left out). */
  drops(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of this.dp.graph.nodes) n.dropNames.forEach((r, i) => { if (n.drops[i]) out[r] = (out[r] ?? 0) + n.drops[i]; });
    return out;
  }

  portDrops(port: string): Record<string, number> {
    return this.dp.graph.portDropsOf(this.id(port));
  }
}

export interface GoldenEvent { t: number; port: string; data: Uint8Array }
export interface RoutedGoldenResult { outputs: Record<string, { timeNs: bigint; data: Uint8Array }[]>; counters: Record<string, number> }

/**
 * Replay input events (t in ms) through a RoutedLab in time order. Before each event (and
 * once after the last, up to `endMs`) the neighbour timers run every `tickMs` of fake time,
 * as the Switch runs them; every frame sent is recorded with the time it left.
 */
export function replayRouted(lab: RoutedLab, events: GoldenEvent[], endMs: number, tickMs = 200): RoutedGoldenResult {
  const outputs: RoutedGoldenResult['outputs'] = {};
  for (const p of lab.io.keys()) outputs[p] = [];
  const collect = (ms: number): void => {
    for (const [p, io] of lab.io) for (const d of io.take()) outputs[p].push({ timeNs: BigInt(Math.round(ms * 1e6)), data: d });
  };
  const sorted = events.slice().sort((a, b) => a.t - b.t);
  let next = tickMs;
  const runTimers = (until: number): void => {
    while (next <= until) {
      lab.clock.ms = next;
      lab.dp.neighborTick();
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
  counters.poolInFlight = lab.pool.inFlight;
  counters.doubleFrees = lab.pool.doubleFrees;
  return { outputs, counters };
}
