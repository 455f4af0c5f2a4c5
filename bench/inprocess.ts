// inprocess.ts — in-process forwarding rate of the whole graph: memory ports in, the real
// nodes, memory ports out (bytes copied in as the native edge would), one core, 64-byte
// frames. Reports Mpps and heap growth per million packets.
import { PacketPool } from '../src/engine/pool.js';
import { Dataplane, RX_BURST } from '../src/dataplane.js';
import { MemoryPort } from '../src/io/memory-port.js';

export interface InProcessResult { name: string; macs: number; mpps: number; packets: number; seconds: number; heapBytesPerMpkt: number; nsPerPacket: Record<string, number> }

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
  const before = b.txCount + a.txCount;
  // heap growth: the heap after a full GC, before and after the run (needs --expose-gc)
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('bench: run node with --expose-gc to measure heap growth');
  gc(); gc();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let k = 0; k < 64; k++) { dp.service(pa); dp.service(pb); }
    t = performance.now();
  }
  const packets = b.txCount + a.txCount - before;
  gc(); gc();
  const heap1 = process.memoryUsage().heapUsed;
  const secs = (t - t0) / 1000;
  const ns: Record<string, number> = {};
  for (const n of dp.graph.stats()) ns[n.name] = Math.round(n.nsPerPacket * 10) / 10;
  if (pool.inFlight !== 0) throw new Error(`bench: ${pool.inFlight} slots leaked`);
  return { name: `bridged ${learned} MACs${opts.copy === false ? ', DMA-like rx' : ', JS copy per frame'}`, macs: learned, mpps: packets / secs / 1e6, packets, seconds: secs, heapBytesPerMpkt: ((heap1 - heap0) / packets) * 1e6, nsPerPacket: ns };
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
      let p = (rnd() & mask) >>> 0;
      if ((p >>> 24) === 0xc0 || (p >>> 24) === 0) p = (p ^ 0x40000000) >>> 0;
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
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('bench: run node with --expose-gc to measure heap growth');
  gc(); gc();
  const heap0 = process.memoryUsage().heapUsed;
  const before = up.txCount;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let k = 0; k < 64; k++) dp.service(pv);
    t = performance.now();
  }
  const packets = up.txCount - before;
  gc(); gc();
  const heap1 = process.memoryUsage().heapUsed;
  const secs = (t - t0) / 1000;
  const ns: Record<string, number> = {};
  for (const n of dp.graph.stats()) if (n.packets) ns[n.name] = Math.round(n.nsPerPacket * 10) / 10;
  if (pool.inFlight !== 0) throw new Error(`bench: ${pool.inFlight} slots leaked`);
  const drops = dp.graph.stats().reduce((a, n) => a + Object.values(n.counters).reduce((x, y) => x + y, 0), 0);
  return { name: `routed ${ctx.tables[0].size} routes, JS copy per frame${drops ? ` (${drops} counted)` : ''}`, macs: 0, mpps: packets / secs / 1e6, packets, seconds: secs, heapBytesPerMpkt: ((heap1 - heap0) / packets) * 1e6, nsPerPacket: ns };
}
