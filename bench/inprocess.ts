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
