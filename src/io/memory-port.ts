// memory-port.ts — a port that lives in memory: for node tests, golden tests and the
// in-process benchmark. Frames queued with push() come out of rx(); frames sent with tx()
// are kept (copied) for inspection, or only counted when `keep` is false.
//
// generate mode (bench): rx() fills every slot it is given with the next of a list of
// template frames, copying bytes as the native edge would, so the benchmark pays the same
// one copy per packet as real I/O.
import type { PacketPool } from '../engine/pool.js';
import type { PortIo } from '../engine/ports.js';

export class MemoryPort implements PortIo {
  readonly sent: Uint8Array[] = [];
  txCount = 0;
  txBytes = 0;
  /** when set, tx() accepts at most this many frames per call (simulates a full ring) */
  txLimit = Infinity;
  private readonly queue: Uint8Array[] = [];
  private readonly pool: PacketPool;
  private readonly keep: boolean;
  private templates: Uint8Array[] = [];
  private nextTemplate = 0;

  constructor(pool: PacketPool, opts: { keep?: boolean } = {}) {
    this.pool = pool;
    this.keep = opts.keep ?? true;
  }

  push(...frames: Uint8Array[]): void { this.queue.push(...frames); }

  /** Make rx() produce these frames round-robin, forever. */
  generate(templates: Uint8Array[]): void { this.templates = templates; this.nextTemplate = 0; }

  get pending(): number { return this.queue.length; }

  rx(slots: Uint32Array, n: number): number {
    const pool = this.pool;
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
    const k = Math.min(n, this.txLimit);
    const pool = this.pool;
    for (let i = 0; i < k; i++) {
      const s = slots[i];
      this.txBytes += pool.length[s];
      if (this.keep) this.sent.push(pool.frame(s).slice());
    }
    this.txCount += k;
    return k;
  }

  /** Take (and clear) what was sent. */
  take(): Uint8Array[] { return this.sent.splice(0); }
}
