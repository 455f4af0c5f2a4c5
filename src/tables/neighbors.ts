// neighbors.ts — the ARP (neighbour) table: IPv4 → MAC and port, with resolution, retries,
// a bounded queue of packets awaiting resolution, expiry, refresh and static entries.
//
// States (a subset of Linux's NUD machine, without DELAY: nothing confirms reachability
// from upper layers here, so a stale entry in use is probed at once):
//   incomplete  resolve() created it and the caller broadcast a request; retried every
//               retransMs, `tries` requests in all, then failed: its packets are handed back
//               for dropping and the entry is deleted (the next packet starts over);
//   reachable   an ARP reply or request from the address (update()) within reachableMs;
//   stale       older than that: still used for forwarding, but the first use() probes it
//               (unicast request, same retries; no answer deletes it); unused for staleMs
//               after going stale, it expires;
//   probe       stale and being re-verified; forwarded on meanwhile;
//   permanent   addStatic(): never ages, never evicted, never overridden by ARP; `published`
//               ones (flag P) are answered by proxy ARP.
// The table knows nothing about packets: a "slot" is a number it holds and gives back.
//
// Layout. An open-addressing hash (linear probing, power-of-two size, load ≤ 1/2,
// backward-shift deletion) of two int32 words per bucket [ip | entry number]; entries are
// stable numbers indexing parallel typed arrays: ip, MAC hi/lo, port, state, flags, retries
// left, two ms timestamps (Float64: confirmed; deadline or stale-since) and a ring of
// `queueLen` pending slots (Linux's old unres_qlen default: 3). Every non-permanent entry is
// on one of three doubly linked lists, each kept in time order because entries only join at
// the tail with the current time: the timer list (incomplete and probe, by next deadline), the
// reachable list (by confirmation) and the stale list (by stale-since). tick() therefore only
// looks at list heads that are due: O(1) per entry that changes, nothing per idle entry. The
// same order gives the eviction victim when the table is full: the oldest stale entry, else the
// oldest reachable, else the oldest incomplete/probe; permanent entries are never evicted.
//
// Bounds. maxEntries entries (eviction counted); queueLen slots per entry and maxQueued slots
// in all (a packet over either bound: resolve() says dropped, counted). Slots released
// outside tick() — entries evicted, deleted, flushed, made static, or update() without an
// output array — wait in a ring (inside the maxQueued bound) and come out of the next
// tick() as drops.
//
// Cost. lookup: one hash, ~1.5 probes at load 1/2, then one read per accessor; no allocation
// on lookup, use, resolve, update or tick (outputs go to caller-owned typed arrays).
// Memory: 16–32 B of buckets (2–4 per entry) + 41 B of entry arrays + 4 B per queue slot,
// ≈ 70 B per entry at queueLen 3, + 4 B per maxQueued; arrays start at 256 entries and
// double up to maxEntries, so a large bound costs nothing until it is used.
// Measured (`node --import tsx bench/tables.ts --seconds 2`, node 20.20, one core of a busy
// 2-vCPU VM): lookup + macLo + port at random known addresses 78 M/s with 1000 entries,
// 33 M/s with 65536; 72 and 69 B per entry.

export const NeighState = { free: 0, incomplete: 1, reachable: 2, stale: 3, probe: 4, permanent: 5 } as const;
export const NeighFlag = { published: 1 } as const;
/** resolve() outcomes. */
export const Resolve = {
  /** new incomplete entry, slot queued: broadcast an ARP request now */
  request: 0,
  /** slot queued behind a request already sent */
  queued: 1,
  /** not queued (entry or global queue full, or no entry could be made): free the slot */
  dropped: 2,
  /** the address is already resolved: slot not taken, forward it with lookup() */
  ready: 3,
} as const;

const STATE_NAMES = ['free', 'incomplete', 'reachable', 'stale', 'probe', 'permanent'] as const;
/** State names as entries() reports them (there is no failed state: a failed entry is deleted). */
export type NeighStateName = Exclude<(typeof STATE_NAMES)[number], 'free'>;

const { incomplete: INCOMPLETE, reachable: REACHABLE, stale: STALE, probe: PROBE, permanent: PERMANENT, free: FREE } = NeighState;
const EMPTY = -1;
const L_TIMER = 0, L_REACH = 1, L_STALE = 2;

export interface NeighborsOptions {
  /** entries at most (default 4096); the oldest non-permanent one is evicted beyond */
  maxEntries?: number;
  /** packets queued per unresolved address (default 3, 1..255) */
  queueLen?: number;
  /** packets queued in all (default 256) */
  maxQueued?: number;
  /** ms an entry stays reachable after a confirmation (default 30000) */
  reachableMs?: number;
  /** ms an unused stale entry lives (default 60000, Linux's gc_stale_time) */
  staleMs?: number;
  /** ms between ARP requests while resolving or probing (default 1000) */
  retransMs?: number;
  /** ARP requests sent before giving up (default 3) */
  tries?: number;
}

/** tick()'s output, owned by the caller and reused: entries to (re)send ARP for, slots to drop. */
export interface NeighborTimers {
  /** entry numbers: send an ARP request for ip(e) on port(e) — broadcast when incomplete, unicast to the MAC when probe */
  arp: Int32Array;
  arpCount: number;
  /** slots whose resolution failed (or whose entry went away): free and count them */
  drop: Int32Array;
  dropCount: number;
}

export function neighborTimers(arp = 256, drop = 256): NeighborTimers {
  return { arp: new Int32Array(arp), arpCount: 0, drop: new Int32Array(drop), dropCount: 0 };
}

export interface NeighborEntry {
  ip: number;
  /** 48-bit MAC (0 while incomplete) */
  mac: number;
  macHi: number;
  macLo: number;
  port: number;
  state: NeighStateName;
  published: boolean;
  /** arp -n flags: C complete, M permanent, P published */
  flags: string;
  /** slots waiting for resolution */
  queued: number;
  /** when reachability was last confirmed (ms, the caller's clock); 0 for permanent */
  confirmedMs: number;
}

export class Neighbors {
  readonly maxEntries: number;
  readonly queueLen: number;
  readonly maxQueued: number;
  reachableMs: number;
  staleMs: number;
  retransMs: number;
  tries: number;
  size = 0;
  /** slots held now (queued behind a request, or released and awaiting tick) */
  queued = 0;
  // counters
  resolved = 0;
  failed = 0;
  evictions = 0;
  queueDrops = 0;
  expired = 0;

  private cap = 0;
  private buckets: Int32Array = new Int32Array(0);
  private mask = 0;
  // entries, by entry number
  private eIp = new Uint32Array(0);
  private eHi = new Uint16Array(0);
  private eLo = new Uint32Array(0);
  private ePort = new Uint16Array(0);
  private eState = new Uint8Array(0);
  private eFlags = new Uint8Array(0);
  private eTries = new Uint8Array(0);
  private eConf = new Float64Array(0);
  private eTime = new Float64Array(0); // timer list: next deadline; stale list: stale since
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private qSlot = new Int32Array(0);
  private qHead = new Uint8Array(0);
  private qLen = new Uint8Array(0);
  private head = new Int32Array([EMPTY, EMPTY, EMPTY]);
  private tail = new Int32Array([EMPTY, EMPTY, EMPTY]);
  private freeList = EMPTY;
  private used = 0;
  // slots released outside tick(), handed out as drops by the next tick()
  private doomed: Int32Array;
  private dHead = 0;
  private dLen = 0;

  constructor(opts: NeighborsOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 4096;
    this.queueLen = opts.queueLen ?? 3;
    this.maxQueued = opts.maxQueued ?? 256;
    this.reachableMs = opts.reachableMs ?? 30_000;
    this.staleMs = opts.staleMs ?? 60_000;
    this.retransMs = opts.retransMs ?? 1000;
    this.tries = opts.tries ?? 3;
    if (!(Number.isInteger(this.maxEntries) && this.maxEntries >= 1)) throw new RangeError('neighbors: maxEntries must be an integer ≥ 1');
    if (!(Number.isInteger(this.queueLen) && this.queueLen >= 1 && this.queueLen <= 255)) throw new RangeError('neighbors: queueLen must be 1..255');
    if (!(Number.isInteger(this.maxQueued) && this.maxQueued >= 0)) throw new RangeError('neighbors: maxQueued must be an integer ≥ 0');
    if (!(Number.isInteger(this.tries) && this.tries >= 1 && this.tries <= 255)) throw new RangeError('neighbors: tries must be 1..255');
    this.doomed = new Int32Array(this.maxQueued);
    this.grow(Math.min(this.maxEntries, 256));
  }

  // --- the packet path ------------------------------------------------------------------

  /** Entry of ip if it has a MAC to forward to (reachable, stale, probe, permanent), or -1. */
  lookup(ip: number): number {
    const e = this.find(ip);
    return e >= 0 && this.eState[e] !== INCOMPLETE ? e : -1;
  }

  /** Entry of ip in any state, or -1. */
  find(ip: number): number {
    const b = this.buckets;
    const mask = this.mask;
    const k = ip | 0;
    let i = hash(k) & mask;
    for (;;) {
      const w = i << 1;
      const e = b[w + 1];
      if (e === EMPTY) return -1;
      if (b[w] === k) return e;
      i = (i + 1) & mask;
    }
  }

  ip(e: number): number { return this.eIp[e]; }
  macHi(e: number): number { return this.eHi[e]; }
  macLo(e: number): number { return this.eLo[e]; }
  /** 48-bit MAC */
  mac(e: number): number { return this.eHi[e] * 4294967296 + this.eLo[e]; }
  port(e: number): number { return this.ePort[e]; }
  state(e: number): number { return this.eState[e]; }
  published(e: number): boolean { return (this.eFlags[e] & NeighFlag.published) !== 0; }

  /**
   * A packet is about to be sent with entry e's MAC. True when the entry was stale and is
   * now being probed: send a unicast ARP request to its MAC now (later ones come from tick).
   */
  use(e: number, now: number): boolean {
    if (this.eState[e] !== STALE) return false;
    this.eTries[e] = this.tries - 1;
    this.move(e, PROBE, L_TIMER);
    this.eTime[e] = now + this.retransMs;
    return true;
  }

  /**
   * A packet (slot) must wait for ip to be resolved on port. Returns a Resolve value:
   * request (new entry: broadcast an ARP request now), queued, dropped (free the slot and
   * count it) or ready (already resolved: the slot was not taken).
   */
  resolve(ip: number, port: number, now: number, slot: number): number {
    let e = this.find(ip);
    if (e >= 0) {
      if (this.eState[e] !== INCOMPLETE) return Resolve.ready;
      if (this.qLen[e] >= this.queueLen || this.queued >= this.maxQueued) { this.queueDrops++; return Resolve.dropped; }
      this.enqueue(e, slot);
      return Resolve.queued;
    }
    if (this.queued >= this.maxQueued) { this.queueDrops++; return Resolve.dropped; }
    e = this.create(ip);
    if (e < 0) { this.queueDrops++; return Resolve.dropped; }
    this.ePort[e] = port;
    this.eTries[e] = this.tries - 1;
    this.link(e, INCOMPLETE, L_TIMER);
    this.eTime[e] = now + this.retransMs;
    this.enqueue(e, slot);
    return Resolve.request;
  }

  /**
   * ip is at MAC hi/lo on port (an ARP reply, or a request from it): the entry becomes
   * reachable. create: make an entry if there is none (false: only refresh a known one).
   * The slots that were waiting are written to out in arrival order and their count
   * returned: transmit them. With out null (or shorter than queueLen) they are dropped via
   * the next tick() instead. Permanent entries are left alone (returns 0).
   */
  update(ip: number, hi: number, lo: number, port: number, now: number, create: boolean, out: Int32Array | null): number {
    let e = this.find(ip);
    if (e < 0) {
      if (!create) return 0;
      e = this.create(ip);
      if (e < 0) return 0;
      this.link(e, REACHABLE, L_REACH);
    } else {
      const st = this.eState[e];
      if (st === PERMANENT) return 0;
      if (st === INCOMPLETE) this.resolved++;
      this.move(e, REACHABLE, L_REACH);
    }
    this.eHi[e] = hi; this.eLo[e] = lo; this.ePort[e] = port;
    this.eConf[e] = now;
    const n = this.qLen[e];
    if (n === 0) return 0;
    if (out === null || out.length < n) { this.release(e); return 0; }
    const base = e * this.queueLen;
    let h = this.qHead[e];
    for (let i = 0; i < n; i++) {
      out[i] = this.qSlot[base + h];
      if (++h === this.queueLen) h = 0;
    }
    this.qLen[e] = 0;
    this.queued -= n;
    return n;
  }

  /**
   * Run the timers up to now: requests to resend (out.arp) and failed slots (out.drop),
   * reachable → stale, stale expiry. Returns false when an output array filled up before
   * all due work was done (call again with the arrays emptied). Entry numbers in out.arp
   * stay valid until the next call that changes the table.
   */
  tick(now: number, out: NeighborTimers): boolean {
    out.arpCount = 0;
    out.dropCount = 0;
    const drop = out.drop, arp = out.arp;
    while (this.dLen > 0) {
      if (out.dropCount >= drop.length) return false;
      drop[out.dropCount++] = this.doomed[this.dHead];
      if (++this.dHead === this.doomed.length) this.dHead = 0;
      this.dLen--;
      this.queued--;
    }
    for (let e = this.head[L_TIMER]; e !== EMPTY && this.eTime[e] <= now; e = this.head[L_TIMER]) {
      if (this.eTries[e] > 0) {
        if (out.arpCount >= arp.length) return false;
        arp[out.arpCount++] = e;
        this.eTries[e]--;
        this.move(e, this.eState[e], L_TIMER);
        this.eTime[e] = now + this.retransMs;
        continue;
      }
      // out of tries: failed
      const n = this.qLen[e];
      if (out.dropCount + n > drop.length) return false;
      const base = e * this.queueLen;
      let h = this.qHead[e];
      for (let i = 0; i < n; i++) {
        drop[out.dropCount++] = this.qSlot[base + h];
        if (++h === this.queueLen) h = 0;
      }
      this.qLen[e] = 0;
      this.queued -= n;
      this.failed++;
      this.remove(e);
    }
    const reachBefore = now - this.reachableMs;
    for (let e = this.head[L_REACH]; e !== EMPTY && this.eConf[e] <= reachBefore; e = this.head[L_REACH]) {
      this.move(e, STALE, L_STALE);
      this.eTime[e] = now;
    }
    const staleBefore = now - this.staleMs;
    for (let e = this.head[L_STALE]; e !== EMPTY && this.eTime[e] <= staleBefore; e = this.head[L_STALE]) {
      this.remove(e);
      this.expired++;
    }
    return true;
  }

  // --- control --------------------------------------------------------------------------

  /**
   * A permanent entry (`arp -s`): never ages, never evicted, not changed by ARP. published:
   * answer ARP requests for ip with this MAC (proxy ARP). Replaces any entry for ip.
   * Throws RangeError when every entry is already permanent.
   */
  addStatic(ip: number, mac: number, port: number, published = false): void {
    let e = this.find(ip);
    if (e >= 0) {
      this.release(e);
      this.unlink(e);
      this.eState[e] = PERMANENT;
    } else {
      e = this.create(ip);
      if (e < 0) throw new RangeError(`neighbors: table full of permanent entries (${this.maxEntries})`);
      this.eState[e] = PERMANENT;
    }
    this.eHi[e] = Math.floor(mac / 4294967296) & 0xffff;
    this.eLo[e] = mac >>> 0;
    this.ePort[e] = port;
    this.eFlags[e] = published ? NeighFlag.published : 0;
    this.eConf[e] = 0;
  }

  /** Forget ip (any state); its waiting slots come out of the next tick() as drops. */
  delete(ip: number): boolean {
    const e = this.find(ip);
    if (e < 0) return false;
    this.remove(e);
    return true;
  }

  /** Forget the non-permanent entries on a port (it went away); returns how many. */
  flushPort(port: number): number {
    let n = 0;
    for (let e = 0; e < this.used; e++) {
      const st = this.eState[e];
      if (st !== FREE && st !== PERMANENT && this.ePort[e] === port) { this.remove(e); n++; }
    }
    return n;
  }

  /** Every entry, by address (for show neigh; allocates). */
  entries(): NeighborEntry[] {
    const out: NeighborEntry[] = [];
    for (let e = 0; e < this.used; e++) {
      const st = this.eState[e];
      if (st === FREE) continue;
      const pub = this.published(e);
      out.push({
        ip: this.eIp[e], mac: st === INCOMPLETE ? 0 : this.mac(e), macHi: this.eHi[e], macLo: this.eLo[e],
        port: this.ePort[e], state: STATE_NAMES[st] as NeighStateName, published: pub,
        flags: neighFlags(st, pub), queued: this.qLen[e], confirmedMs: this.eConf[e],
      });
    }
    return out.sort((a, b) => a.ip - b.ip);
  }

  /** Bytes held by the typed arrays. */
  memoryBytes(): number {
    let n = this.buckets.byteLength + this.doomed.byteLength;
    for (const a of [this.eIp, this.eHi, this.eLo, this.ePort, this.eState, this.eFlags, this.eTries, this.eConf, this.eTime,
      this.prev, this.next, this.qSlot, this.qHead, this.qLen]) n += a.byteLength;
    return n;
  }

  // --- internals ------------------------------------------------------------------------

  /** A new entry for ip (state free, on no list), evicting if full; -1 if nothing can go. */
  private create(ip: number): number {
    if (this.size >= this.maxEntries) {
      let v = this.head[L_STALE];
      if (v === EMPTY) v = this.head[L_REACH];
      if (v === EMPTY) v = this.head[L_TIMER];
      if (v === EMPTY) return -1;
      this.remove(v);
      this.evictions++;
    }
    if (this.size >= this.cap) this.grow(Math.min(this.cap * 2, this.maxEntries));
    let e: number;
    if (this.freeList !== EMPTY) { e = this.freeList; this.freeList = this.next[e]; } else e = this.used++;
    const b = this.buckets;
    const k = ip | 0;
    let i = hash(k) & this.mask;
    while (b[(i << 1) + 1] !== EMPTY) i = (i + 1) & this.mask;
    b[i << 1] = k; b[(i << 1) + 1] = e;
    this.eIp[e] = ip;
    this.eHi[e] = 0; this.eLo[e] = 0;
    this.eFlags[e] = 0; this.eTries[e] = 0; this.eConf[e] = 0; this.eTime[e] = 0;
    this.qHead[e] = 0; this.qLen[e] = 0;
    this.eState[e] = FREE;
    this.prev[e] = EMPTY; this.next[e] = EMPTY;
    this.size++;
    return e;
  }

  private remove(e: number): void {
    const b = this.buckets;
    const mask = this.mask;
    const k = this.eIp[e] | 0;
    let i = hash(k) & mask;
    while (b[(i << 1) + 1] !== e) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const wj = j << 1;
      if (b[wj + 1] === EMPTY) break;
      const home = hash(b[wj]) & mask;
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        b[i << 1] = b[wj]; b[(i << 1) + 1] = b[wj + 1];
        i = j;
      }
    }
    b[(i << 1) + 1] = EMPTY;
    this.release(e);
    this.unlink(e);
    this.eState[e] = FREE;
    this.next[e] = this.freeList;
    this.freeList = e;
    this.size--;
  }

  /** Move e's waiting slots to the doomed ring (still counted in queued). */
  private release(e: number): void {
    const n = this.qLen[e];
    if (n === 0) return;
    const base = e * this.queueLen;
    const d = this.doomed;
    let h = this.qHead[e];
    for (let i = 0; i < n; i++) {
      let t = this.dHead + this.dLen;
      if (t >= d.length) t -= d.length;
      d[t] = this.qSlot[base + h];
      this.dLen++;
      if (++h === this.queueLen) h = 0;
    }
    this.qLen[e] = 0;
  }

  private enqueue(e: number, slot: number): void {
    let t = this.qHead[e] + this.qLen[e];
    if (t >= this.queueLen) t -= this.queueLen;
    this.qSlot[e * this.queueLen + t] = slot;
    this.qLen[e]++;
    this.queued++;
  }

  /** The list an entry in state st belongs to, or -1 (free, permanent). */
  private static listOf(st: number): number {
    return st === INCOMPLETE || st === PROBE ? L_TIMER : st === REACHABLE ? L_REACH : st === STALE ? L_STALE : -1;
  }

  /** Set e (on no list) to state st at the tail of list l. */
  private link(e: number, st: number, l: number): void {
    this.eState[e] = st;
    const t = this.tail[l];
    this.prev[e] = t;
    this.next[e] = EMPTY;
    if (t !== EMPTY) this.next[t] = e; else this.head[l] = e;
    this.tail[l] = e;
  }

  private unlink(e: number): void {
    const l = Neighbors.listOf(this.eState[e]);
    if (l < 0) return;
    const p = this.prev[e], n = this.next[e];
    if (p !== EMPTY) this.next[p] = n; else this.head[l] = n;
    if (n !== EMPTY) this.prev[n] = p; else this.tail[l] = p;
    this.prev[e] = EMPTY; this.next[e] = EMPTY;
  }

  private move(e: number, st: number, l: number): void {
    this.unlink(e);
    this.link(e, st, l);
  }

  private grow(cap: number): void {
    const q = this.queueLen;
    const copy = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(a: T, make: (n: number) => T, n = cap): T => { const c = make(n); c.set(a); return c; };
    this.eIp = copy(this.eIp, (n) => new Uint32Array(n));
    this.eHi = copy(this.eHi, (n) => new Uint16Array(n));
    this.eLo = copy(this.eLo, (n) => new Uint32Array(n));
    this.ePort = copy(this.ePort, (n) => new Uint16Array(n));
    this.eState = copy(this.eState, (n) => new Uint8Array(n));
    this.eFlags = copy(this.eFlags, (n) => new Uint8Array(n));
    this.eTries = copy(this.eTries, (n) => new Uint8Array(n));
    this.eConf = copy(this.eConf, (n) => new Float64Array(n));
    this.eTime = copy(this.eTime, (n) => new Float64Array(n));
    this.prev = copy(this.prev, (n) => new Int32Array(n));
    this.next = copy(this.next, (n) => new Int32Array(n));
    this.qSlot = copy(this.qSlot, (n) => new Int32Array(n), cap * q);
    this.qHead = copy(this.qHead, (n) => new Uint8Array(n));
    this.qLen = copy(this.qLen, (n) => new Uint8Array(n));
    this.cap = cap;
    let count = 8;
    while (count < cap * 2) count *= 2;
    const old = this.buckets;
    const b = new Int32Array(count * 2);
    for (let w = 1; w < b.length; w += 2) b[w] = EMPTY;
    const mask = count - 1;
    for (let w = 0; w < old.length; w += 2) {
      if (old[w + 1] === EMPTY) continue;
      let i = hash(old[w]) & mask;
      while (b[(i << 1) + 1] !== EMPTY) i = (i + 1) & mask;
      b[i << 1] = old[w]; b[(i << 1) + 1] = old[w + 1];
    }
    this.buckets = b;
    this.mask = mask;
  }
}

/** arp -n flags of an entry: C complete (has a MAC), M permanent, P published. */
export function neighFlags(state: number, published: boolean): string {
  return (state !== INCOMPLETE && state !== FREE ? 'C' : '') + (state === PERMANENT ? 'M' : '') + (published ? 'P' : '');
}

function hash(k: number): number {
  let h = Math.imul(k, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}
