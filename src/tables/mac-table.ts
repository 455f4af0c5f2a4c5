// mac-table.ts — the learning bridge's forwarding database (MAC → port), with aging.
//
// Layout. An open-addressing hash table (linear probing, power-of-two size, load ≤ 1/2)
// whose buckets are four int32 words side by side in one Int32Array:
//   [ MAC low 32 bits | MAC high 16 bits << 16 | port | last-seen second | entry number ]
// so a lookup or a refresh touches one 16-byte bucket, usually one cache line. Deletion
// shifts the probe run back: no tombstones, lookups never degrade.
// Entry numbers are stable (buckets move, entries do not) and index a doubly linked list
// kept in last-seen order (head = oldest), with each entry's MAC and last-seen second.
//
// Aging and the bound. An entry moves to the list's tail only when its last-seen second
// changes (at most once a second per MAC, not once per packet), so the list stays sorted by
// last-seen and both aging (drop heads older than agingSeconds) and eviction when the table
// is full (drop the head: oldest first, counted) cost O(1) per entry removed.
//
// Cost. Lookup: one hash, ~1.5 probes at load 1/2, one cache line. Memory: 32 bytes of
// buckets (2 per entry) + 20 bytes of entry arrays ≈ 52 bytes per MAC; arrays start small
// and double up to maxEntries, so a 16M bound costs nothing until it is used.
// Measured: see bench/README.md (in-process bridged with 10k MACs).

export const Learn = { refreshed: 0, added: 1, moved: 2 } as const;

const EMPTY = -1;
// bucket words
const W_LO = 0, W_HIPORT = 1, W_SEEN = 2, W_ENTRY = 3;

export class MacTable {
  readonly maxEntries: number;
  agingSeconds: number;
  size = 0;
  // counters
  learned = 0;
  moves = 0;
  evictions = 0;
  aged = 0;

  private cap = 0;
  private buckets: Int32Array = new Int32Array(0);
  private mask = 0;
  // entries, by entry number
  private eHi: Uint16Array = new Uint16Array(0);
  private eLo: Uint32Array = new Uint32Array(0);
  private eSeen: Uint32Array = new Uint32Array(0);
  private prev: Int32Array = new Int32Array(0);
  private next: Int32Array = new Int32Array(0);
  private head = EMPTY;
  private tail = EMPTY;
  private freeList = EMPTY;
  private used = 0; // entry numbers ever handed out (high-water mark below cap)

  constructor(maxEntries: number, agingSeconds: number) {
    if (!(maxEntries >= 1)) throw new RangeError('mac table: maxEntries must be ≥ 1');
    this.maxEntries = maxEntries;
    this.agingSeconds = agingSeconds;
    this.grow(Math.min(maxEntries, 1024));
  }

  /** Port of the MAC, or -1. */
  lookup(hi: number, lo: number): number {
    const b = this.buckets;
    const mask = this.mask;
    const lo32 = lo | 0;
    let i = hash(hi, lo) & mask;
    for (;;) {
      const w = i << 2;
      if (b[w + W_ENTRY] === EMPTY) return -1;
      const hp = b[w + W_HIPORT];
      if (b[w] === lo32 && hp >>> 16 === hi) return hp & 0xffff;
      i = (i + 1) & mask;
    }
  }

  /** Record that MAC was seen on port at second now; returns a Learn value. */
  learn(hi: number, lo: number, port: number, now: number): number {
    const b = this.buckets;
    const mask = this.mask;
    const lo32 = lo | 0;
    let i = hash(hi, lo) & mask;
    for (;;) {
      const w = i << 2;
      const e = b[w + W_ENTRY];
      if (e === EMPTY) break;
      const hp = b[w + W_HIPORT];
      if (b[w] === lo32 && hp >>> 16 === hi) {
        let result: number = Learn.refreshed;
        if ((hp & 0xffff) !== port) { b[w + W_HIPORT] = (hi << 16) | port; this.moves++; result = Learn.moved; }
        if (b[w + W_SEEN] !== now) { b[w + W_SEEN] = now; this.eSeen[e] = now; this.toTail(e); }
        return result;
      }
      i = (i + 1) & mask;
    }
    // new MAC
    if (this.size >= this.maxEntries) {
      this.remove(this.head);
      this.evictions++;
      return this.learn(hi, lo, port, now); // the buckets changed under us: probe again
    }
    if (this.size >= this.cap) {
      this.grow(Math.min(this.cap * 2, this.maxEntries));
      return this.learn(hi, lo, port, now);
    }
    const e = this.newEntry();
    this.eHi[e] = hi; this.eLo[e] = lo; this.eSeen[e] = now;
    this.linkTail(e);
    const w = i << 2;
    b[w + W_LO] = lo32; b[w + W_HIPORT] = (hi << 16) | port; b[w + W_SEEN] = now; b[w + W_ENTRY] = e;
    this.size++;
    this.learned++;
    return Learn.added;
  }

  /** Remove entries not seen for agingSeconds; returns how many. */
  age(now: number): number {
    let n = 0;
    const limit = now - this.agingSeconds;
    while (this.head !== EMPTY && this.eSeen[this.head] <= limit) {
      this.remove(this.head);
      n++;
    }
    this.aged += n;
    return n;
  }

  /** Forget every MAC learned on a port (the port went away). */
  flushPort(port: number): number {
    let n = 0;
    for (let e = this.head; e !== EMPTY;) {
      const nx = this.next[e];
      if (this.lookup(this.eHi[e], this.eLo[e]) === port) { this.remove(e); n++; }
      e = nx;
    }
    return n;
  }

  delete(hi: number, lo: number): boolean {
    const w = this.find(hi, lo);
    if (w < 0) return false;
    this.remove(this.buckets[w + W_ENTRY]);
    return true;
  }

  /** Every entry, oldest first (for show fdb; allocates). */
  entries(): { hi: number; lo: number; port: number; seen: number }[] {
    const out = [];
    for (let e = this.head; e !== EMPTY; e = this.next[e]) {
      out.push({ hi: this.eHi[e], lo: this.eLo[e], port: this.lookup(this.eHi[e], this.eLo[e]), seen: this.eSeen[e] });
    }
    return out;
  }

  /** Word index of the MAC's bucket, or -1. */
  private find(hi: number, lo: number): number {
    const b = this.buckets;
    const lo32 = lo | 0;
    let i = hash(hi, lo) & this.mask;
    for (;;) {
      const w = i << 2;
      if (b[w + W_ENTRY] === EMPTY) return -1;
      if (b[w] === lo32 && b[w + W_HIPORT] >>> 16 === hi) return w;
      i = (i + 1) & this.mask;
    }
  }

  private newEntry(): number {
    if (this.freeList !== EMPTY) {
      const e = this.freeList;
      this.freeList = this.next[e];
      return e;
    }
    return this.used++;
  }

  private remove(e: number): void {
    // delete the bucket with backward shift
    const b = this.buckets;
    const mask = this.mask;
    let i = this.find(this.eHi[e], this.eLo[e]) >> 2;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const wj = j << 2;
      if (b[wj + W_ENTRY] === EMPTY) break;
      const home = hash(b[wj + W_HIPORT] >>> 16, b[wj]) & mask;
      // the bucket at j may move into the hole at i if its home is not in (i, j] (cyclically)
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        const wi = i << 2;
        b[wi] = b[wj]; b[wi + 1] = b[wj + 1]; b[wi + 2] = b[wj + 2]; b[wi + 3] = b[wj + 3];
        i = j;
      }
    }
    b[(i << 2) + W_ENTRY] = EMPTY;
    this.unlink(e);
    this.next[e] = this.freeList;
    this.freeList = e;
    this.size--;
  }

  private linkTail(e: number): void {
    this.prev[e] = this.tail;
    this.next[e] = EMPTY;
    if (this.tail !== EMPTY) this.next[this.tail] = e; else this.head = e;
    this.tail = e;
  }

  private unlink(e: number): void {
    const p = this.prev[e], n = this.next[e];
    if (p !== EMPTY) this.next[p] = n; else this.head = n;
    if (n !== EMPTY) this.prev[n] = p; else this.tail = p;
  }

  private toTail(e: number): void {
    if (this.tail === e) return;
    this.unlink(e);
    this.linkTail(e);
  }

  private grow(cap: number): void {
    const copy = <T extends Uint16Array | Uint32Array | Int32Array>(a: T, make: (n: number) => T): T => { const c = make(cap); c.set(a); return c; };
    this.eHi = copy(this.eHi, (n) => new Uint16Array(n));
    this.eLo = copy(this.eLo, (n) => new Uint32Array(n));
    this.eSeen = copy(this.eSeen, (n) => new Uint32Array(n));
    this.prev = copy(this.prev, (n) => new Int32Array(n));
    this.next = copy(this.next, (n) => new Int32Array(n));
    this.cap = cap;
    let count = 8;
    while (count < cap * 2) count *= 2;
    const old = this.buckets;
    const b = new Int32Array(count * 4);
    for (let w = W_ENTRY; w < b.length; w += 4) b[w] = EMPTY;
    const mask = count - 1;
    for (let w = 0; w < old.length; w += 4) {
      if (old[w + W_ENTRY] === EMPTY) continue;
      let i = hash(old[w + W_HIPORT] >>> 16, old[w]) & mask;
      while (b[(i << 2) + W_ENTRY] !== EMPTY) i = (i + 1) & mask;
      const v = i << 2;
      b[v] = old[w]; b[v + 1] = old[w + 1]; b[v + 2] = old[w + 2]; b[v + 3] = old[w + 3];
    }
    this.buckets = b;
    this.mask = mask;
  }
}

function hash(hi: number, lo: number): number {
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16); // int32: callers mask it, and a uint32 above 2^31 would box
}
