// memory-port.ts — a port that lives in memory: for node tests, golden tests and the
// in-process benchmark. Frames queued with push() come out of rx(); frames sent with tx()
// are kept (copied) for inspection, or only counted when `keep` is false.
//
// generate mode (bench): rx() fills every slot it is given with the next of a list of
// template frames. With copy (the default) each frame is copied in with TypedArray.set,
// a JS copy that costs more than the addon's memcpy. With copy: false the port behaves like
// a NIC's DMA: every pool slot is pre-filled with the template once, and rx() writes only
// what differs between templates (the 12 address bytes) plus the length, so the benchmark
// measures the graph and not a JS memcpy.
import type { PacketPool } from '../engine/pool.js';
import type { PortIo } from '../engine/ports.js';

export class MemoryPort implements PortIo {
  readonly sent: Uint8Array[] = [];
  txCount = 0;
  /** when set, tx() accepts at most this many frames per call (simulates a full ring) */
  txLimit = Infinity;
  private readonly queue: Uint8Array[] = [];
  private readonly pool: PacketPool;
  private readonly keep: boolean;
  private templates: Uint8Array[] = [];
  private nextTemplate = 0;
  private dma = false;
  private addrHi = new Uint32Array(0);
  private addrMid = new Uint32Array(0);
  private addrLo = new Uint32Array(0);

  constructor(pool: PacketPool, opts: { keep?: boolean } = {}) {
    this.pool = pool;
    this.keep = opts.keep ?? true;
  }

  push(...frames: Uint8Array[]): void { this.queue.push(...frames); }

  /** Make rx() produce these frames round-robin, forever (see the header for `copy`). */
  generate(templates: Uint8Array[], opts: { copy?: boolean } = {}): void {
    this.templates = templates;
    this.nextTemplate = 0;
    this.dma = opts.copy === false;
    if (!this.dma) return;
    const t0 = templates[0];
    for (const t of templates) {
      if (t.length !== t0.length || Buffer.compare(t.subarray(12), t0.subarray(12)) !== 0) {
        throw new Error('memory port: DMA mode needs templates that differ only in their addresses');
      }
    }
    const pool = this.pool;
    for (let s = 0; s < pool.slots; s++) pool.bytes.set(t0, s * pool.slotSize + pool.headroom);
    const dv = (t: Uint8Array): DataView => new DataView(t.buffer, t.byteOffset, t.length);
    this.addrHi = Uint32Array.from(templates, (t) => dv(t).getUint32(0));
    this.addrMid = Uint32Array.from(templates, (t) => dv(t).getUint32(4));
    this.addrLo = Uint32Array.from(templates, (t) => dv(t).getUint32(8));
  }

  get pending(): number { return this.queue.length; }

  rx(slots: Uint32Array, n: number): number {
    const pool = this.pool;
    if (this.dma) {
      const dv = pool.view, len = this.templates[0].length;
      const hi = this.addrHi, mid = this.addrMid, lo = this.addrLo, count = hi.length;
      let j = this.nextTemplate;
      for (let i = 0; i < n; i++) {
        const s = slots[i];
        const at = s * pool.slotSize + pool.headroom;
        dv.setUint32(at, hi[j]); dv.setUint32(at + 4, mid[j]); dv.setUint32(at + 8, lo[j]);
        pool.start[s] = at;
        pool.length[s] = len;
        if (++j === count) j = 0;
      }
      this.nextTemplate = j;
      return n;
    }
    if (this.templates.length > 0) {
      const t = this.templates;
      let j = this.nextTemplate;
      for (let i = 0; i < n; i++) {
        const s = slots[i];
        const f = t[j];
        const at = s * pool.slotSize + pool.headroom;
        pool.bytes.set(f, at);
        pool.start[s] = at;
        pool.length[s] = f.length;
        if (++j === t.length) j = 0;
      }
      this.nextTemplate = j;
      return n;
    }
    let i = 0;
    while (i < n && this.queue.length > 0) pool.fill(slots[i++], this.queue.shift()!);
    return i;
  }

  tx(slots: Uint32Array, n: number): number {
    const k = n < this.txLimit ? n : this.txLimit;
    if (this.keep) for (let i = 0; i < k; i++) this.sent.push(this.pool.frame(slots[i]).slice());
    this.txCount += k;
    return k;
  }

  /** Take (and clear) what was sent. */
  take(): Uint8Array[] { return this.sent.splice(0); }
}
