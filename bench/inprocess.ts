// inprocess.ts — in-process forwarding rate of the whole graph: memory ports in, the real
// nodes, memory ports out (bytes copied in as the native edge would), one core, 64-byte
// frames. Reports Mpps and heap growth per million packets.
import { PacketPool } from '../src/engine/pool.js';
import { Dataplane, RX_BURST } from '../src/dataplane.js';
import { MemoryPort } from '../src/io/memory-port.js';
import type { PortIo } from '../src/engine/ports.js';
import { parseConfig } from '../src/config.js';
import { Routing } from '../src/routing.js';
import { Conntrack } from '../src/tables/conntrack.js';

export interface InProcessResult { name: string; macs: number; mpps: number; packets: number; seconds: number; heapBytesPerMpkt: number; nsPerPacket: Record<string, number> }

/** Wall ns per packet of every node that handled packets since the graph's last resetRuntime(). */
function nsPerNode(dp: Dataplane): Record<string, number> {
  const ns: Record<string, number> = {};
  for (const n of dp.graph.stats()) if (n.packets) ns[n.name] = Math.round(n.nsPerPacket * 10) / 10;
  return ns;
}

/**
 * Service `ports` for `seconds` (64 rounds between clock reads) between two full GCs: the
 * packets `sent()` counts, the seconds, heap growth per million packets (needs --expose-gc)
 * and ns/packet per node.
 */
function timedRun(dp: Dataplane, ports: number[], seconds: number, sent: () => number): { packets: number; secs: number; heapBytesPerMpkt: number; ns: Record<string, number> } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('bench: run node with --expose-gc to measure heap growth');
  gc(); gc();
  const heap0 = process.memoryUsage().heapUsed;
  const before = sent();
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let k = 0; k < 64; k++) for (let i = 0; i < ports.length; i++) dp.service(ports[i]);
    t = performance.now();
  }
  const packets = sent() - before;
  gc(); gc();
  const heap1 = process.memoryUsage().heapUsed;
  return { packets, secs: (t - t0) / 1000, heapBytesPerMpkt: packets ? ((heap1 - heap0) / packets) * 1e6 : 0, ns: nsPerNode(dp) };
}

function frame(dst: number, src: number, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  const put = (o: number, m: number): void => { for (let i = 0; i < 6; i++) f[o + i] = Math.floor(m / 2 ** (8 * (5 - i))) & 255; };
  put(0, dst); put(6, src);
  f[12] = 0x08; f[13] = 0x00; // IPv4
  f[14] = 0x45; f[16] = 0; f[17] = 46; f[22] = 64; f[23] = 17;
  return f;
}

/** Bridged forwarding between two ports; `macs` distinct MAC pairs (flows) learned first. */
export function bridged(macs: number, seconds: number, opts: { copy?: boolean } = {}): InProcessResult {
  const pool = new PacketPool(16384);
  const dp = new Dataplane(pool, { timed: process.env.SY_TIMED !== "0" });
  const net = dp.addNetwork('br0', 'bridged', { agingSeconds: 300, maxEntries: Math.max(65536, macs * 4) });
  const a = new MemoryPort(pool, { keep: false });
  const b = new MemoryPort(pool, { keep: false });
  const pa = dp.addPort('a', a, 1500);
  const pb = dp.addPort('b', b, 1500);
  dp.joinNetwork(pa, net); dp.joinNetwork(pb, net);
  const half = Math.max(1, macs >> 1);
  const base = 0x020000000000;
  const fa: Uint8Array[] = [], fb: Uint8Array[] = [];
  for (let i = 0; i < half; i++) {
    fa.push(frame(base + 0x10000000 + i, base + i));
    fb.push(frame(base + i, base + 0x10000000 + i));
  }
  // learning: one frame from every MAC on its side
  b.generate(fb, opts); for (let i = 0; i < Math.ceil(half / RX_BURST) + 1; i++) dp.service(pb);
  a.generate(fa, opts); for (let i = 0; i < Math.ceil(half / RX_BURST) + 1; i++) dp.service(pa);
  const learned = net.table.size;
  dp.graph.resetRuntime();
  const { packets, secs, heapBytesPerMpkt, ns } = timedRun(dp, [pa, pb], seconds, () => b.txCount + a.txCount);
  if (pool.inFlight !== 0) throw new Error(`bench: ${pool.inFlight} slots leaked`);
  return { name: `bridged ${learned} MACs${opts.copy === false ? ', DMA-like rx' : ', JS copy per frame'}`, macs: learned, mpps: packets / secs / 1e6, packets, seconds: secs, heapBytesPerMpkt, nsPerPacket: ns };
}

/**
 * Routed forwarding from a VM port to an uplink through `routes` prefixes (1 = a default
 * route; more = random prefixes, BGP-like lengths, all via the uplink gateway). Frames carry
 * 4096 destinations spread over the table; the router rewrites them in place (TTL, checksum,
 * MACs), so each frame is copied in per packet (no DMA mode).
 */
export function routed(routes: number, seconds: number): InProcessResult {
  const pool = new PacketPool(16384);
  const dp = new Dataplane(pool, { timed: process.env.SY_TIMED !== '0' });
  const net = dp.addNetwork('pub', 'routed', { agingSeconds: 300, maxEntries: 1024 });
  const vm = new MemoryPort(pool, { keep: false });
  const up = new MemoryPort(pool, { keep: false });
  const pv = dp.addPort('vm', vm, 1500);
  const pu = dp.addPort('up', up, 1500);
  dp.joinNetwork(pv, net); dp.joinNetwork(pu, net);
  const ctx = dp.ip4;
  ctx.table('main');
  const switchMac = 0x02005e000101, uplinkMac = 0x02005e000102, gwMac = 0x02005e0001fe, vmMac = 0x525400000001;
  for (const [p, mac, addr, role] of [[pv, switchMac, 0xa9ff1e01, 1], [pu, uplinkMac, 0xc0a80040, 2]]) {
    ctx.role[p] = role; ctx.macHi[p] = Math.floor(mac / 2 ** 32); ctx.macLo[p] = mac % 2 ** 32; ctx.addr[p] = addr; ctx.mtu[p] = 1500;
  }
  const gw = 0xc0a80001;
  ctx.local = Uint32Array.from([0xa9ff1e01, 0xc0a80040]);
  ctx.tables[0].add(0xc0a80000, 24, ctx.nextHop(pu, 0));
  const nh = ctx.nextHop(pu, gw);
  ctx.neighbors.addStatic(gw, gwMac, pu);
  let seed = 42;
  const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed; };
  const dsts: number[] = [];
  if (routes <= 1) {
    ctx.tables[0].add(0, 0, nh);
    for (let i = 0; i < 4096; i++) dsts.push((0x0a000000 + i * 7919) >>> 0);
  } else {
    // roughly a BGP table: 60 % /24, most of the rest /16-/23, 1 % longer than /24
    const lens = [24, 24, 24, 24, 24, 24, 22, 23, 20, 16, 19, 21, 24, 24, 24, 24, 22, 23, 21, 20];
    const prefixes: number[] = [];
    for (let i = 0; i < routes; i++) {
      const len = rnd() % 100 === 0 ? 25 + (rnd() % 8) : lens[rnd() % lens.length];
      const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      // unicast destinations only (no 0/8, 127/8, 224/4+: martians are dropped), none in 192/8 (the uplink's)
      let first = 1 + (rnd() % 222);
      if (first === 127 || first === 192) first++;
      const p = (((rnd() & mask & 0x00ffffff) | (first << 24)) & mask) >>> 0;
      ctx.tables[0].add(p, len, nh);
      if (i % Math.floor(routes / 4096) === 0 && prefixes.length < 4096) prefixes.push((p | (rnd() & ~mask)) >>> 0);
    }
    dsts.push(...prefixes);
  }
  const frames = dsts.map((d) => {
    const f = frame(switchMac, vmMac);
    f[22] = 64; // TTL
    const put = (o: number, v: number): void => { f[o] = v >>> 24; f[o + 1] = (v >>> 16) & 255; f[o + 2] = (v >>> 8) & 255; f[o + 3] = v & 255; };
    put(26, 0xc0a8c8c9); put(30, d);
    let sum = 0; f[24] = 0; f[25] = 0;
    for (let i = 14; i < 34; i += 2) sum += (f[i] << 8) | f[i + 1];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const c = ~sum & 0xffff; f[24] = c >> 8; f[25] = c & 255;
    return f;
  });
  vm.generate(frames);
  for (let i = 0; i < 64; i++) dp.service(pv);
  dp.graph.resetRuntime();
  const { packets, secs, heapBytesPerMpkt, ns } = timedRun(dp, [pv], seconds, () => up.txCount);
  if (pool.inFlight !== 0) throw new Error(`bench: ${pool.inFlight} slots leaked`);
  const drops = dp.graph.stats().reduce((a, n) => a + Object.values(n.counters).reduce((x, y) => x + y, 0), 0);
  return { name: `routed ${ctx.tables[0].size} routes, JS copy per frame${drops ? ` (${drops} counted)` : ''}`, macs: 0, mpps: packets / secs / 1e6, packets, seconds: secs, heapBytesPerMpkt, nsPerPacket: ns };
}

// ---- NAT ----------------------------------------------------------------------------------

export interface NatResult extends InProcessResult {
  flows: number;
  /** Conntrack.memoryBytes() / size with the flows created */
  bytesPerFlow: number;
  /** a stream of distinct source ports through the graph: every packet opens a flow */
  newFlowsPerSec: number;
  /** packets per second of that stream (= new flows, every one was created) */
  newFlowsMpps: number;
  /** per-node ns per packet of the new-flow stream */
  nsPerPacketNew: Record<string, number>;
}

/**
 * A VM port that produces UDP/IPv4 frames of 60 bytes (64 on the wire) from per-flow
 * arrays, the way the native edge would copy them in: one 60-byte copy of a base frame,
 * then the addresses, source port and the two checksums (precomputed) written. `stride`
 * visits the flows with a large prime stride, so consecutive packets hit unrelated flows.
 */
class FlowGen implements PortIo {
  private readonly pool: PacketPool;
  private readonly base: Uint8Array;
  private readonly src: Uint32Array;
  private readonly dst: Uint32Array;
  private readonly sport: Uint16Array;
  private readonly ipCsum: Uint16Array;
  private readonly udpCsum: Uint16Array;
  private readonly stride: number;
  private j = 0;
  produced = 0;

  constructor(pool: PacketPool, base: Uint8Array, src: Uint32Array, dst: Uint32Array, sport: Uint16Array, stride: number) {
    this.pool = pool;
    this.base = base;
    this.src = src; this.dst = dst; this.sport = sport;
    const n = src.length;
    this.stride = stride % n;
    this.ipCsum = new Uint16Array(n);
    this.udpCsum = new Uint16Array(n);
    const f = base.slice();
    const dv = new DataView(f.buffer);
    for (let i = 0; i < n; i++) {
      dv.setUint32(26, src[i]); dv.setUint32(30, dst[i]); dv.setUint16(34, sport[i]);
      dv.setUint16(24, 0); dv.setUint16(40, 0);
      this.ipCsum[i] = fold(f, 14, 20, 0);
      // UDP: pseudo-header + header + data (the length is the UDP length, at 38)
      const ulen = dv.getUint16(38);
      const c = fold(f, 34, ulen, fold(f, 26, 8, 17 + ulen) ^ 0xffff);
      this.udpCsum[i] = c === 0 ? 0xffff : c;
    }
  }

  reset(): void { this.j = 0; }

  rx(slots: Uint32Array, n: number): number {
    const pool = this.pool, dv = pool.view, bytes = pool.bytes, base = this.base;
    const src = this.src, dst = this.dst, sport = this.sport, ipc = this.ipCsum, udc = this.udpCsum;
    const count = src.length, stride = this.stride;
    let j = this.j;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      const at = s * pool.slotSize + pool.headroom;
      bytes.set(base, at);
      dv.setUint32(at + 26, src[j]); dv.setUint32(at + 30, dst[j]); dv.setUint16(at + 34, sport[j]);
      dv.setUint16(at + 24, ipc[j]); dv.setUint16(at + 40, udc[j]);
      pool.start[s] = at;
      pool.length[s] = 60;
      j += stride; if (j >= count) j -= count;
    }
    this.j = j;
    this.produced += n;
    return n;
  }

  tx(_slots: Uint32Array, n: number): number { return n; }
}

/** RFC 1071 checksum (complemented) of b[o..o+len) plus a folded starting sum. */
function fold(b: Uint8Array, o: number, len: number, initial: number): number {
  let sum = initial;
  for (let i = 0; i < len; i += 2) sum += (b[o + i] << 8) | (i + 1 < len ? b[o + i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * NAT from a VM port to the uplink (masquerade), the network built like the Switch builds
 * it (parseConfig, a segment behind the router interface on a patch pair, Routing.configure),
 * so a packet crosses eth-input, l2-learn, l2-fwd, the patch, ip4-input, ip4-lookup,
 * nat44-in2out and ip4-rewrite. `flows` established UDP flows are created first (4096
 * inside endpoints, 4 VMs × 1024 source ports, times enough remote addresses), then the
 * frames visit them in a scattered order for `seconds`. Then a stream of distinct source
 * ports (63,488 of them per round: every packet opens a flow; the table is flushed between
 * rounds, outside the timing) for up to `seconds`. The connection table is replaced by one
 * big enough for `flows` (the configured one holds CONNTRACK_MAX). `opts` leaves out either
 * part (for profiling one at a time).
 */
export function nat(flows: number, seconds: number, opts: { established?: boolean; newFlows?: boolean } = {}): NatResult {
  const doEstablished = opts.established ?? true, doNew = opts.newFlows ?? true;
  const pool = new PacketPool(16384);
  const dp = new Dataplane(pool, { timed: process.env.SY_TIMED !== '0' });
  const cfg = parseConfig({
    name: 'bench', mac: '02:00:5e:00:53:01',
    ports: { vm: { afpacket: 'bench-vm' }, up: { afpacket: 'bench-up' } },
    networks: { private: { mode: 'nat', ports: ['vm'], address: '192.168.150.1/24', uplink: { port: 'up', address: '10.200.0.5/24', gateway: '10.200.0.1' } } },
  });
  const net = cfg.networks.private;
  const seg = dp.addSegment('private', net.fdb, 0x02005e005301);
  const base = new Uint8Array(60);
  {
    const put = (o: number, v: number, n: number): void => { for (let i = n - 1; i >= 0; i--) { base[o + i] = v & 255; v = Math.floor(v / 256); } };
    put(0, 0x02005e005301, 6); put(6, 0x525400000001, 6); put(12, 0x0800, 2);
    base[14] = 0x45; put(16, 46, 2); put(18, 0x1234, 2); put(20, 0x4000, 2); base[22] = 64; base[23] = 17;
    put(36, 53, 2); put(38, 26, 2); // dport 53, UDP length 26 (18 bytes of data, zeros)
  }
  const E = Math.min(flows, 4096);
  const src = new Uint32Array(flows), dst = new Uint32Array(flows), sport = new Uint16Array(flows);
  for (let i = 0; i < flows; i++) {
    const e = i % E;
    src[i] = 0xc0a89610 + (e >>> 10);          // 192.168.150.16..19
    sport[i] = 20000 + (e & 1023);
    dst[i] = 0x64400000 + Math.floor(i / E);    // 100.64.0.0/10
  }
  const gen = new FlowGen(pool, base, src, dst, sport, 1000003);
  const up = new MemoryPort(pool, { keep: false });
  const pv = dp.addPort('vm', gen, 1500);
  const pu = dp.addPort('up', up, 1500);
  dp.joinNetwork(pv, seg.net);
  dp.joinRouter(pu, seg.net);
  const ids = new Map([['vm', pv], ['up', pu]]);
  const routing = new Routing(dp.ip4, {
    id: (name) => ids.get(name) ?? dp.ports.id(name), name: (id) => dp.ports.names[id],
    mac: (name) => (name === 'up' ? '02:00:5e:00:01:02' : null), mtu: () => 1500,
  });
  routing.configure(cfg);
  dp.ip4.neighbors.addStatic(0x0ac80001, 0x02005e0001fe, pu);
  const ctx = dp.ip4;
  const table = (max: number): Conntrack => {
    const ct = new Conntrack({ maxEntries: max, externalIp: ctx.natAddr[0] });
    ctx.nats[0] = ct;
    return ct;
  };
  // the flows, established (a packet each way), as nat44-in2out and nat44-out2in would leave them
  const ct = table(Math.max(flows, 1024));
  for (let i = 0; i < flows; i++) {
    const f = ct.createOut(17, src[i], sport[i], dst[i], 53, 0);
    if (f < 0) throw new Error(`bench: flow ${i} not created (noPort ${ct.noPort}, full ${ct.full})`);
    ct.touch(f, true, 0); ct.touch(f, false, 0);
  }
  const bytesPerFlow = ct.memoryBytes() / ct.size;
  for (let i = 0; i < 64; i++) dp.service(pv);
  dp.graph.resetRuntime();
  const { packets, secs, heapBytesPerMpkt, ns } = timedRun(dp, [pv], doEstablished ? seconds : 0, () => up.txCount);
  dp.graph.resetRuntime();
  if (ct.size !== flows) throw new Error(`bench: ${ct.size} flows after the run, not ${flows}`);
  const newFlows = dp.graph.node('nat44-in2out').counters[1];
  if (newFlows !== 0) throw new Error(`bench: ${newFlows} flows created during the established run`);
  const dropped = dp.graph.nodes.reduce((a, n) => a + n.drops.reduce((x, y) => x + y, 0), 0);
  if (dropped !== 0) throw new Error(`bench: ${dropped} packets dropped`);

  // new flows: one VM, distinct source ports 1024..64511, one remote; every packet a flow
  const K = 62 * 1024;
  const nsrc = new Uint32Array(K).fill(0xc0a89610), ndst = new Uint32Array(K).fill(0x64400001), nsport = new Uint16Array(K);
  for (let i = 0; i < K; i++) nsport[i] = 1024 + i;
  const ngen = new FlowGen(pool, base, nsrc, ndst, nsport, 1);
  const pn = dp.addPort('vm2', ngen, 1500);
  dp.joinNetwork(pn, seg.net);
  const nct = table(65536);
  const created0 = dp.graph.node('nat44-in2out').counters[1];
  const sent0 = up.txCount;
  let busy = 0, rounds = 0;
  const calls = K / 1024; // service() takes 4 bursts of 256
  while (doNew && (rounds === 0 || busy < seconds * 1000)) {
    nct.flush();
    ngen.reset();
    const a = performance.now();
    for (let k = 0; k < calls; k++) dp.service(pn);
    busy += performance.now() - a;
    rounds++;
    if (nct.size !== K) throw new Error(`bench: ${nct.size} new flows in a round, not ${K}`);
  }
  const created = dp.graph.node('nat44-in2out').counters[1] - created0;
  if (created !== rounds * K || up.txCount - sent0 !== created) throw new Error(`bench: ${created} flows created, ${up.txCount - sent0} sent, for ${rounds * K} packets`);
  if (pool.inFlight !== 0) throw new Error(`bench: ${pool.inFlight} slots leaked`);
  const newFlowsPerSec = busy > 0 ? created / (busy / 1000) : 0;
  const nsNew = nsPerNode(dp);
  return {
    name: `nat ${flows} flows, VM -> uplink, UDP 64-byte frames`, macs: 0, flows,
    mpps: secs > 0 ? packets / secs / 1e6 : 0, packets, seconds: secs, heapBytesPerMpkt, nsPerPacket: ns,
    bytesPerFlow: Math.round(bytesPerFlow * 10) / 10, newFlowsPerSec: Math.round(newFlowsPerSec), newFlowsMpps: newFlowsPerSec / 1e6, nsPerPacketNew: nsNew,
  };
}
