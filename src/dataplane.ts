// dataplane.ts — the packet engine assembled: pool, ports, the graph of nodes, the tables.
//
// A breath (service): pull bursts from a ready port into eth-input's queue, run the graph
// until every queue is empty (port-output transmits in bursts on the way), and repeat a
// few times while the port still has frames — bounded, so one busy port cannot starve the
// event loop, the others, the timers or the control socket. Then return to the event loop,
// which calls again when a port is readable (uv_poll), so an idle switch sleeps.
//
// Nothing here knows about configuration files or native handles: ports are PortIo, and
// the Switch (switch.ts) wires real ones in. Tests and the in-process benchmark use
// in-memory ports through the same path.
import { PacketPool } from './engine/pool.js';
import { Graph } from './engine/graph.js';
import { PortTable, MAX_PORTS, Mode, type PortIo } from './engine/ports.js';
import { realClock, type Clock } from './engine/clock.js';
import { L2Domains } from './nodes/l2-domains.js';
import { EthInput } from './nodes/eth-input.js';
import { L2Learn } from './nodes/l2-learn.js';
import { L2Fwd } from './nodes/l2-fwd.js';
import { L2Flood } from './nodes/l2-flood.js';
import { PortOutput } from './nodes/port-output.js';
import { MacTable } from './tables/mac-table.js';
import { Neighbors, NeighState, neighborTimers } from './tables/neighbors.js';
import { arpRequestSlot } from './nodes/arp-request.js';
import { Ip4Context } from './nodes/ip4-context.js';
import { ArpInput } from './nodes/arp-input.js';
import { Ip4Input } from './nodes/ip4-input.js';
import { Ip4Lookup, icmpAux } from './nodes/ip4-lookup.js';
import { IcmpType, UnreachCode } from './wire/icmp4.js';
import { Ip4Rewrite } from './nodes/ip4-rewrite.js';
import { Ip4Local } from './nodes/ip4-local.js';
import { Ip4IcmpError } from './nodes/ip4-icmp-error.js';
import { Nat44In2Out } from './nodes/nat44-in2out.js';
import { Nat44Out2In } from './nodes/nat44-out2in.js';
import { DhcpServerNode } from './nodes/dhcp-server.js';
import type { NodeQueue } from './engine/node.js';

export const RX_BURST = 256;
const HOST_UNREACH = icmpAux(IcmpType.destUnreachable, UnreachCode.host);
/** bursts per port per breath */
export const MAX_BURSTS = 4;

export interface BridgeNetwork {
  id: number;
  name: string;
  mode: number;
  members: number[];
  table: MacTable;
}

export class Dataplane {
  readonly pool: PacketPool;
  readonly ports: PortTable;
  readonly domains = new L2Domains();
  readonly ip4 = new Ip4Context(new Neighbors());
  readonly graph: Graph;
  readonly networks: (BridgeNetwork | null)[] = [];
  readonly clock: Clock;
  readonly startMs: number;
  private readonly entry: NodeQueue;
  private readonly rxSlots = new Uint32Array(RX_BURST);
  private readonly timerOut = neighborTimers();
  private readonly routerMacs: { table: MacTable; hi: number; lo: number; port: number }[] = [];
  /** packets dropped because their next hop never answered ARP */
  unresolved = 0;
  /** ARP requests sent by the timers (retries, probes of stale entries) */
  arpRetries = 0;

  constructor(pool: PacketPool, opts: { clock?: Clock; timed?: boolean } = {}) {
    this.pool = pool;
    this.clock = opts.clock ?? realClock;
    this.startMs = this.clock.nowMs();
    this.ports = new PortTable(pool);
    const eth = new EthInput(pool, this.ports);
    this.graph = new Graph(pool, [
      eth,
      new L2Learn(pool, this.domains),
      new L2Fwd(pool, this.domains),
      new L2Flood(pool, this.ports, this.domains),
      new ArpInput(pool, this.ip4),
      new Ip4Input(pool, this.ip4),
      new DhcpServerNode(pool, this.ip4),
      new Nat44Out2In(pool, this.ip4),
      new Ip4Lookup(pool, this.ip4),
      new Nat44In2Out(pool, this.ip4),
      new Ip4Local(pool, this.ip4),
      new Ip4IcmpError(pool, this.ip4),
      new Ip4Rewrite(pool, this.ip4),
      new PortOutput(pool, this.ports),
    ], 'eth-input', MAX_PORTS, { timed: opts.timed });
    this.entry = eth.input;
    this.tick();
  }

  /** Add a network; its ports are attached later with joinNetwork. */
  addNetwork(name: string, mode: 'bridged' | 'routed', fdb: { agingSeconds: number; maxEntries: number }): BridgeNetwork {
    const net: BridgeNetwork = { id: this.networks.length, name, mode: Mode[mode], members: [], table: new MacTable(fdb.maxEntries, fdb.agingSeconds) };
    this.networks.push(net);
    return net;
  }

  /**
   * A nat or isolated network: a bridged segment (its VM ports join it with joinNetwork)
   * plus the switch's router interface, linked by a patch pair: `bridgeSide` is a member of
   * the segment, `routerSide` takes the frames for the router (eth-input sends its ARP and
   * IPv4 to the routed nodes, where Routing gives it the `inside` role).
   */
  addSegment(name: string, fdb: { agingSeconds: number; maxEntries: number }, routerMac: number): { net: BridgeNetwork; bridgeSide: number; routerSide: number } {
    const net = this.addNetwork(name, 'bridged', fdb);
    const [bridgeSide, routerSide] = this.ports.addPatch(`switch:${name}`, `router:${name}`, 1500 + 14);
    this.joinNetwork(bridgeSide, net);
    this.ports.setMode(routerSide, Mode.routed);
    this.ports.network[routerSide] = net.id;
    this.routerMacs.push({ table: net.table, hi: Math.floor(routerMac / 4294967296), lo: routerMac % 4294967296, port: bridgeSide });
    this.refreshRouterMacs();
    return { net, bridgeSide, routerSide };
  }

  /** The router's MAC is a static entry of its segment: kept fresh so it never ages out. */
  private refreshRouterMacs(): void {
    for (const r of this.routerMacs) r.table.learn(r.hi, r.lo, r.port, this.graph.nowSec);
  }

  addPort(name: string, io: PortIo, mtu: number): number {
    return this.ports.add(name, io, mtu + 14);
  }

  joinNetwork(port: number, net: BridgeNetwork): void {
    this.ports.network[port] = net.id;
    this.ports.setMode(port, net.mode);
    net.members.push(port);
    if (net.mode === Mode.bridged) this.domains.setNetwork(net.members, net.table);
  }

  /** A port that talks to the switch's router only (a nat network's uplink): routed ingress, in no segment. */
  joinRouter(port: number, net: BridgeNetwork): void {
    this.ports.network[port] = net.id;
    this.ports.setMode(port, Mode.routed);
  }

  /** A port lost its device: forget what was learned behind it (MACs, neighbours), keep the port. */
  forgetPort(port: number): void {
    const id = this.ports.network[port];
    const net = id >= 0 ? this.networks[id] : null;
    if (net) net.table.flushPort(port);
    this.ip4.neighbors.flushPort(port);
  }

  /** Detach a port: its learned MACs are forgotten, the rest of its network keeps its state. */
  removePort(port: number): void {
    const id = this.ports.network[port];
    const net = id >= 0 ? this.networks[id] : null;
    if (net) {
      net.members = net.members.filter((p) => p !== port);
      this.domains.setNetwork(net.members, net.table);
      net.table.flushPort(port);
    }
    this.domains.clearPort(port);
    this.ip4.neighbors.flushPort(port);
    this.ports.remove(port);
  }

  /** Update the per-breath clock reading. */
  tick(): void {
    const ms = this.clock.nowMs() - this.startMs;
    this.graph.nowMs = ms;
    this.graph.nowSec = Math.floor(ms / 1000);
  }

  /** One burst from port into the graph's entry queue (not yet run). Returns frames read. */
  receive(port: number): number {
    const io = this.ports.io[port];
    if (io === null || this.ports.up[port] !== 1) return 0;
    const pool = this.pool;
    const slots = this.rxSlots;
    const k = pool.allocBurst(slots, RX_BURST);
    if (k === 0) return 0;
    const n = io.rx(slots, k);
    if (n < k) pool.freeRange(slots, n, k);
    if (n === 0) return 0;
    if (this.ports.capturing[port] === 1) this.ports.tapFrames(port, 'rx', slots, 0, n);
    const q = this.entry;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      pool.rxPort[s] = port;
      bytes += pool.length[s];
      q.slots[q.count++] = s;
    }
    this.ports.rxPackets[port] += n;
    this.ports.rxBytes[port] += bytes;
    return n;
  }

  /** A breath for one ready port: bounded bursts, each run through the graph. */
  service(port: number): number {
    this.tick();
    let total = 0;
    for (let b = 0; b < MAX_BURSTS; b++) {
      const n = this.receive(port);
      if (n === 0) break;
      total += n;
      this.graph.run();
      if (n < RX_BURST) break;
    }
    return total;
  }

  /**
   * Neighbour timers (ARP retries, unicast probes of stale entries, failures): requests go
   * out through port-output, packets whose next hop never answered are freed and counted.
   * Called a few times a second while routed networks exist.
   */
  neighborTick(): void {
    if (this.ip4.tables.length === 0) return;
    this.tick();
    const neigh = this.ip4.neighbors;
    const out = this.timerOut;
    const q = this.graph.node('port-output').input;
    for (let more = true; more;) {
      more = !neigh.tick(this.graph.nowMs, out);
      for (let i = 0; i < out.arpCount; i++) {
        const e = out.arp[i];
        const probe = neigh.state(e) === NeighState.probe;
        const s = arpRequestSlot(this.pool, this.ip4, neigh.port(e), neigh.ip(e), probe ? neigh.macHi(e) : -1, neigh.macLo(e));
        if (s >= 0) { q.slots[q.count++] = s; this.arpRetries++; }
      }
      // packets whose next hop never answered: ICMP host unreachable to their source
      // (ip4-icmp-error applies the RFC 1812 rules and the rate limit, or drops them)
      const icmp = this.graph.node('ip4-icmp-error').input;
      for (let i = 0; i < out.dropCount; i++) {
        const s = out.drop[i];
        this.pool.aux[s] = HOST_UNREACH;
        icmp.slots[icmp.count++] = s;
      }
      this.unresolved += out.dropCount;
    }
    this.graph.run();
  }

  /** Timers: MAC aging. Called about once a second. */
  age(): number {
    this.tick();
    this.refreshRouterMacs();
    for (const ct of this.ip4.nats) ct.expire(this.graph.nowSec);
    let n = 0;
    for (const net of this.networks) if (net) n += net.table.age(this.graph.nowSec);
    return n;
  }
}
