// pool.ts — the packet pool: a packet is a number.
//
// One ArrayBuffer holds `slots` fixed-size slots (2 KiB, with headroom in front of the frame
// so headers can be pushed without a copy). Per-packet metadata lives in parallel typed
// arrays indexed by slot: where the frame starts (absolute byte offset into the buffer), its
// length, the port it came in on, the port it goes out of, and one scratch word a node may
// use to pass a result to the next node. Free slots sit on a stack (Uint32Array + top).
// Nothing here allocates after construction, so the packet path makes no garbage.
//
// Ownership: one owner per slot, no reference counts. Whoever holds a slot index either
// passes it on (to a next node, to a port) or frees it. A slot freed twice is a bug; it is
// counted (doubleFrees) and ignored so the free stack stays consistent, and tests assert 0.
//
// The native addon writes received frames straight into slots (attachPool registers the
// buffer and the start/length arrays once), so the one copy at the kernel edge lands in
// the pool and the graph never copies again except to flood.

export const SLOT_SIZE = 2048;
export const HEADROOM = 128;
/** Largest frame a slot holds. */
export const SLOT_CAPACITY = SLOT_SIZE - HEADROOM;

export class PacketPool {
  readonly slots: number;
  readonly slotSize: number;
  readonly headroom: number;
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** absolute byte offset of the frame's first byte */
  readonly start: Uint32Array;
  readonly length: Uint16Array;
  readonly rxPort: Uint16Array;
  readonly txPort: Uint16Array;
  /** per-packet scratch word for node-to-node results (e.g. a next-hop index) */
  readonly aux: Uint32Array;
  private readonly freeStack: Uint32Array;
  private readonly inUse: Uint8Array;
  private top: number;
  allocFailures = 0;
  doubleFrees = 0;

  constructor(slots: number, slotSize = SLOT_SIZE, headroom = HEADROOM) {
    if (!Number.isInteger(slots) || slots < 1 || slots > 0x10000 * 16) throw new RangeError(`pool: bad slot count ${slots}`);
    this.slots = slots;
    this.slotSize = slotSize;
    this.headroom = headroom;
    this.buffer = new ArrayBuffer(slots * slotSize);
    this.bytes = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
    this.start = new Uint32Array(slots);
    this.length = new Uint16Array(slots);
    this.rxPort = new Uint16Array(slots);
    this.txPort = new Uint16Array(slots);
    this.aux = new Uint32Array(slots);
    this.freeStack = new Uint32Array(slots);
    this.inUse = new Uint8Array(slots);
    // lowest slot numbers on top: they are handed out first and stay warm in cache
    for (let i = 0; i < slots; i++) this.freeStack[i] = slots - 1 - i;
    this.top = slots;
  }

  /** Number of free slots. */
  get freeCount(): number { return this.top; }
  get inFlight(): number { return this.slots - this.top; }

  /** A fresh slot with its frame start reset to the headroom, or -1 when the pool is empty. */
  alloc(): number {
    if (this.top === 0) { this.allocFailures++; return -1; }
    const s = this.freeStack[--this.top];
    this.inUse[s] = 1;
    this.start[s] = s * this.slotSize + this.headroom;
    this.length[s] = 0;
    return s;
  }

  /** Pop up to n slots into out[0..); returns how many. Used before a native rx burst, which sets start/length. */
  allocBurst(out: Uint32Array, n: number): number {
    const inUse = this.inUse, stack = this.freeStack;
    let top = this.top;
    const k = n < top ? n : top;
    for (let i = 0; i < k; i++) {
      const s = stack[--top];
      inUse[s] = 1;
      out[i] = s;
    }
    this.top = top;
    return k;
  }

  free(s: number): void {
    if (this.inUse[s] === 0) { this.doubleFrees++; return; }
    this.inUse[s] = 0;
    this.freeStack[this.top++] = s;
  }

  /** Free slots[from..to). */
  freeRange(slots: Uint32Array, from: number, to: number): void {
    const inUse = this.inUse, stack = this.freeStack;
    let top = this.top;
    for (let i = from; i < to; i++) {
      const s = slots[i];
      if (inUse[s] === 0) { this.doubleFrees++; continue; }
      inUse[s] = 0;
      stack[top++] = s;
    }
    this.top = top;
  }

  /** A copy of slot s in a new slot (frame bytes, length, rxPort), or -1 when the pool is empty. */
  clone(s: number): number {
    const c = this.alloc();
    if (c < 0) return -1;
    const from = this.start[s];
    const len = this.length[s];
    this.bytes.copyWithin(this.start[c], from, from + len);
    this.length[c] = len;
    this.rxPort[c] = this.rxPort[s];
    return c;
  }

  /** Write bytes as the frame of slot s (tests, control-plane packets). */
  fill(s: number, frame: Uint8Array): void {
    if (frame.length > this.slotSize - this.headroom) throw new RangeError(`pool: frame of ${frame.length} bytes does not fit a slot`);
    const at = s * this.slotSize + this.headroom;
    this.start[s] = at;
    this.length[s] = frame.length;
    this.bytes.set(frame, at);
  }

  /** View of slot s's frame (allocates a view object: off the fast path only). */
  frame(s: number): Uint8Array {
    return this.bytes.subarray(this.start[s], this.start[s] + this.length[s]);
  }
}
