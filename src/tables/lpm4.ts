// lpm4.ts — IPv4 longest-prefix match (the FIB): prefix/len → next-hop index, DIR-24-8.
//
// Layout. tbl24 is a Uint16Array of 2^24 entries indexed by the top 24 bits of the address
// (32 MiB, allocated once). An entry below 0x8000 is the answer: the next-hop index of the
// longest route of length 1..24 covering that /24 (0 = none). An entry with the top bit
// set names a tbl8 group: 256 Uint16 next hops for the /24's last octet, used while some
// route longer than /24 lies inside it. Groups come from a pool that doubles on demand (up
// to 32768 groups) and go back to a free stack when the last route longer than /24 in their
// /24 is removed, the /24 entry getting its plain next hop back. The default route is kept
// out of the arrays (0 in them reads as "the default route, if any"), so adding or changing
// it costs nothing. A lookup is one read, or two when the /24 has a group:
//   e = tbl24[a >>> 8]; if (e >= 0x8000) e = tbl8[(e & 0x7fff) << 8 | a & 255]; e || default
// Next hops are small integers chosen by the caller: 1..32767 (NEXT_HOP_MAX); 0 = no route.
//
// Updates. Beside each entry, off the lookup path, a depth byte (dep24 / dep8: length + 1 of
// the route that decided it, 0 = none) lets an update touch only its own span: an add writes
// where the depth is ≤ its own, a remove writes the covering route's next hop and depth where
// the depth is its own. The routes themselves live in an authoritative store: an
// open-addressing hash keyed by (prefix, len), buckets of two int32 words
// [prefix | len << 16 | next hop], linear probing, load ≤ 1/2, backward-shift deletion, plus a
// count of routes per length; a remove finds the next-shorter covering route there with at
// most len probes (lengths holding no route are skipped), and routes() reads it for show.
//
// Cost. lookup: 1–2 typed-array reads and two predictable branches, no allocation.
// add/remove: proportional to the address span touched — a /24 or longer writes one entry or
// part of one group, a /16 writes 256 tbl24 entries, a /8 65536 (a /1 2^23, tens of ms), the
// default route nothing; each /24 of the span holding a group also rewrites its 256 entries.
// Memory: 48 MiB fixed (tbl24 32 MiB + dep24 16 MiB) + 776 B per group allocated (the pool
// doubles: 64 groups at start, at most 32768 = 24.3 MiB) + 8 B per store bucket (32 B per
// route just after the store doubles, 16 B just before). Bound at 1M routes: 48 MiB + 16 MiB
// store + 776 B × (distinct /24s holding a route longer than /24). The group limit is a
// RangeError from add(), thrown before anything changes. Those are allocated bytes: the OS
// makes a page resident only when it is written, so a small table (a default route, some
// /32s) costs a few pages of tbl24/dep24 per written region, not 48 MiB of RSS (measured:
// four tables holding a default route, a /16, a /24 and a /32 grew RSS by 0.9 MiB).
// Measured (`node --import tsx bench/tables.ts --seconds 2`, node 20.20, one core of a busy
// 2-vCPU VM): 1M BGP-like prefixes (61 % /24, 1 % longer) built in 0.76 s (1.3 M adds/s),
// 10145 groups, 76.1 MiB = 79.8 B/prefix; lookups with 1M routes 22 M/s at random addresses
// (each a cache miss), 21 M/s inside installed routes, 186 M/s over 1024 hot addresses;
// 214 M/s with one route; remove + re-add churn 0.85 M updates/s.

import { ip4ToString } from '../wire/addr.js';

/** Largest next-hop index a route may carry (0 means "no route"). */
export const NEXT_HOP_MAX = 0x7fff;
/** Largest number of tbl8 groups (distinct /24s holding a prefix longer than /24). */
export const TBL8_GROUPS_MAX = 0x8000;

const GROUP = 0x8000;
const EMPTY = -1; // bucket word 1 of an empty bucket (a used one is ≥ 0)

export interface Route { prefix: number; len: number; nextHop: number }

export interface Lpm4Options {
  /** tbl8 groups allocated up front (default 64; the pool doubles on demand). */
  initialGroups?: number;
  /** Routes the store is sized for up front (default 1024; it doubles on demand). */
  initialRoutes?: number;
}

export class Lpm4 {
  /** Number of routes. */
  size = 0;

  private tbl24 = new Uint16Array(1 << 24);
  private dep24 = new Uint8Array(1 << 24); // length + 1 of the route deciding each /24; 0 = none
  private tbl8: Uint16Array;
  private dep8: Uint8Array;
  private groupBase: Uint16Array; // next hop of the /24 (≤ /24 routes) a group stands for
  private groupCount: Uint16Array; // routes longer than /24 inside the group's /24
  private freeGroups: Int32Array; // stack of free group numbers
  private freeTop = 0;
  private groupCap = 0;
  private groupsUsed = 0;

  private buckets: Int32Array;
  private mask = 0;
  private lenCount = new Uint32Array(33);
  private dflt = 0; // next hop of the default route (kept out of the arrays), or 0

  constructor(opts: Lpm4Options = {}) {
    const g = Math.min(TBL8_GROUPS_MAX, Math.max(1, opts.initialGroups ?? 64));
    this.tbl8 = new Uint16Array(0);
    this.dep8 = new Uint8Array(0);
    this.groupBase = new Uint16Array(0);
    this.groupCount = new Uint16Array(0);
    this.freeGroups = new Int32Array(0);
    this.growGroups(g);
    let n = 16;
    while (n < (opts.initialRoutes ?? 1024) * 2) n *= 2;
    this.buckets = newBuckets(n);
    this.mask = n - 1;
  }

  /** Next-hop index of the longest prefix covering addr, or 0. The hot path. */
  lookup(addr: number): number {
    let e = this.tbl24[addr >>> 8];
    if (e >= GROUP) e = this.tbl8[((e & 0x7fff) << 8) | (addr & 255)];
    return e !== 0 ? e : this.dflt;
  }

  /** Add prefix/len → nextHop, replacing the next hop if the route exists. */
  add(prefix: number, len: number, nextHop: number): void {
    const p = checkPrefix(prefix, len);
    if (!Number.isInteger(nextHop) || nextHop < 1 || nextHop > NEXT_HOP_MAX) {
      throw new RangeError(`lpm4: next hop ${nextHop} for ${ip4ToString(p)}/${len} is outside 1..${NEXT_HOP_MAX}`);
    }
    const w = this.find(p, len);
    if (w >= 0) {
      if ((this.buckets[w + 1] & 0xffff) === nextHop) return;
      this.buckets[w + 1] = (len << 16) | nextHop;
    } else if (len === 0) {
      this.insert(0, 0, nextHop);
    } else {
      if (len > 24 && this.tbl24[p >>> 8] < GROUP) this.newGroup(p >>> 8); // may throw: before any change
      this.insert(p, len, nextHop);
      if (len > 24) this.groupCount[this.tbl24[p >>> 8] & 0x7fff]++;
    }
    if (len === 0) this.dflt = nextHop;
    else this.paintAdd(p, len, nextHop);
  }

  /** Remove prefix/len; false if there was no such route. */
  remove(prefix: number, len: number): boolean {
    const p = checkPrefix(prefix, len);
    const w = this.find(p, len);
    if (w < 0) return false;
    this.erase(w, len);
    if (len === 0) { this.dflt = 0; return true; }
    const c = this.covering(p, len);
    if (c < 0) this.paintRemove(p, len, 0, 0);
    else this.paintRemove(p, len, this.buckets[c + 1] & 0xffff, (this.buckets[c + 1] >>> 16) + 1);
    if (len > 24) {
      const i = p >>> 8;
      const g = this.tbl24[i] & 0x7fff;
      if (--this.groupCount[g] === 0) {
        this.tbl24[i] = this.groupBase[g];
        this.freeGroups[this.freeTop++] = g;
        this.groupsUsed--;
      }
    }
    return true;
  }

  /** Next hop of exactly prefix/len, or 0. */
  get(prefix: number, len: number): number {
    const p = checkPrefix(prefix, len);
    const w = this.find(p, len);
    return w < 0 ? 0 : this.buckets[w + 1] & 0xffff;
  }

  /** Every route, sorted by prefix then length (for `show routes`; allocates). */
  routes(): Route[] {
    const out: Route[] = [];
    const b = this.buckets;
    for (let w = 0; w < b.length; w += 2) {
      const v = b[w + 1];
      if (v !== EMPTY) out.push({ prefix: b[w] >>> 0, len: v >>> 16, nextHop: v & 0xffff });
    }
    return out.sort((x, y) => x.prefix - y.prefix || x.len - y.len);
  }

  /** Remove every route. */
  clear(): void {
    // new arrays rather than fill(0): untouched pages of a fresh array are not resident
    this.tbl24 = new Uint16Array(1 << 24);
    this.dep24 = new Uint8Array(1 << 24);
    this.dflt = 0;
    this.buckets.fill(EMPTY);
    this.lenCount.fill(0);
    this.size = 0;
    this.freeTop = 0;
    for (let g = this.groupCap - 1; g >= 0; g--) this.freeGroups[this.freeTop++] = g;
    this.groupCount.fill(0);
    this.groupsUsed = 0;
  }

  /** tbl8 groups in use. */
  get groups(): number { return this.groupsUsed; }

  /** Bytes held by the typed arrays (the whole table; JS object overhead aside). */
  memoryBytes(): number {
    return this.tbl24.byteLength + this.dep24.byteLength + this.tbl8.byteLength + this.dep8.byteLength + this.groupBase.byteLength +
      this.groupCount.byteLength + this.freeGroups.byteLength + this.buckets.byteLength + this.lenCount.byteLength;
  }

  // --- painting ---------------------------------------------------------------------------

  /** Write nh (depth d) over p/len wherever the current depth is ≤ d (add or replace). */
  private paintAdd(p: number, len: number, nh: number): void {
    const d = len + 1;
    if (len > 24) {
      const g = this.tbl24[p >>> 8] & 0x7fff;
      const start = (g << 8) | (p & 255);
      const end = start + 2 ** (32 - len);
      const t8 = this.tbl8, d8 = this.dep8;
      for (let j = start; j < end; j++) if (d8[j] <= d) { d8[j] = d; t8[j] = nh; }
      return;
    }
    const t = this.tbl24, dep = this.dep24;
    const start = p >>> 8, end = start + 2 ** (24 - len);
    for (let i = start; i < end; i++) {
      if (dep[i] > d) continue; // a longer route owns this /24
      dep[i] = d;
      const e = t[i];
      if (e < GROUP) { t[i] = nh; continue; }
      const g = e & 0x7fff;
      this.groupBase[g] = nh;
      const t8 = this.tbl8, d8 = this.dep8;
      for (let j = g << 8, jend = j + 256; j < jend; j++) if (d8[j] <= d) { d8[j] = d; t8[j] = nh; }
    }
  }

  /** Where p/len (depth d) decided, write what its covering route says (next hop nh, depth cd). */
  private paintRemove(p: number, len: number, nh: number, cd: number): void {
    const d = len + 1;
    if (len > 24) {
      const g = this.tbl24[p >>> 8] & 0x7fff;
      const start = (g << 8) | (p & 255);
      const end = start + 2 ** (32 - len);
      const t8 = this.tbl8, d8 = this.dep8;
      for (let j = start; j < end; j++) if (d8[j] === d) { d8[j] = cd; t8[j] = nh; }
      return;
    }
    const t = this.tbl24, dep = this.dep24;
    const start = p >>> 8, end = start + 2 ** (24 - len);
    for (let i = start; i < end; i++) {
      if (dep[i] !== d) continue;
      dep[i] = cd;
      const e = t[i];
      if (e < GROUP) { t[i] = nh; continue; }
      const g = e & 0x7fff;
      this.groupBase[g] = nh;
      const t8 = this.tbl8, d8 = this.dep8;
      for (let j = g << 8, jend = j + 256; j < jend; j++) if (d8[j] === d) { d8[j] = cd; t8[j] = nh; }
    }
  }

  /** Bucket word of the longest stored prefix shorter than len covering p, or -1. */
  private covering(p: number, len: number): number {
    for (let l = len - 1; l >= 1; l--) { // the default route (l = 0) reads as 0 in the arrays
      if (this.lenCount[l] === 0) continue;
      const w = this.find((p & maskOf(l)) >>> 0, l);
      if (w >= 0) return w;
    }
    return -1;
  }

  // --- tbl8 groups ------------------------------------------------------------------------

  private newGroup(i: number): void {
    if (this.freeTop === 0) {
      if (this.groupCap >= TBL8_GROUPS_MAX) {
        throw new RangeError(`lpm4: out of tbl8 groups (${TBL8_GROUPS_MAX} /24s already hold prefixes longer than /24)`);
      }
      this.growGroups(Math.min(TBL8_GROUPS_MAX, this.groupCap * 2));
    }
    const g = this.freeGroups[--this.freeTop];
    const base = this.tbl24[i];
    this.groupBase[g] = base;
    this.groupCount[g] = 0;
    this.tbl8.fill(base, g << 8, (g + 1) << 8);
    this.dep8.fill(this.dep24[i], g << 8, (g + 1) << 8);
    this.tbl24[i] = GROUP | g;
    this.groupsUsed++;
  }

  private growGroups(cap: number): void {
    const old = this.groupCap;
    const t8 = new Uint16Array(cap << 8); t8.set(this.tbl8); this.tbl8 = t8;
    const d8 = new Uint8Array(cap << 8); d8.set(this.dep8); this.dep8 = d8;
    const gb = new Uint16Array(cap); gb.set(this.groupBase); this.groupBase = gb;
    const gc = new Uint16Array(cap); gc.set(this.groupCount); this.groupCount = gc;
    const fr = new Int32Array(cap); fr.set(this.freeGroups.subarray(0, this.freeTop)); this.freeGroups = fr;
    for (let g = cap - 1; g >= old; g--) this.freeGroups[this.freeTop++] = g;
    this.groupCap = cap;
  }

  // --- the route store: open addressing on (prefix, len) ----------------------------------

  /** Word index of prefix/len's bucket, or -1. */
  private find(p: number, len: number): number {
    const b = this.buckets;
    const mask = this.mask;
    const k = p | 0;
    let i = hash(k, len) & mask;
    for (;;) {
      const w = i << 1;
      const v = b[w + 1];
      if (v === EMPTY) return -1;
      if (b[w] === k && v >>> 16 === len) return w;
      i = (i + 1) & mask;
    }
  }

  private insert(p: number, len: number, nh: number): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.rehash((this.mask + 1) * 2);
    const b = this.buckets;
    const k = p | 0;
    let i = hash(k, len) & this.mask;
    while (b[(i << 1) + 1] !== EMPTY) i = (i + 1) & this.mask;
    b[i << 1] = k;
    b[(i << 1) + 1] = (len << 16) | nh;
    this.size++;
    this.lenCount[len]++;
  }

  private erase(w: number, len: number): void {
    const b = this.buckets;
    const mask = this.mask;
    let i = w >> 1;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const wj = j << 1;
      if (b[wj + 1] === EMPTY) break;
      const home = hash(b[wj], b[wj + 1] >>> 16) & mask;
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        b[i << 1] = b[wj]; b[(i << 1) + 1] = b[wj + 1];
        i = j;
      }
    }
    b[(i << 1) + 1] = EMPTY;
    this.size--;
    this.lenCount[len]--;
  }

  private rehash(n: number): void {
    const old = this.buckets;
    const b = newBuckets(n);
    const mask = n - 1;
    for (let w = 0; w < old.length; w += 2) {
      const v = old[w + 1];
      if (v === EMPTY) continue;
      let i = hash(old[w], v >>> 16) & mask;
      while (b[(i << 1) + 1] !== EMPTY) i = (i + 1) & mask;
      b[i << 1] = old[w]; b[(i << 1) + 1] = v;
    }
    this.buckets = b;
    this.mask = mask;
  }
}

function newBuckets(n: number): Int32Array {
  const b = new Int32Array(n * 2);
  for (let w = 1; w < b.length; w += 2) b[w] = EMPTY;
  return b;
}

function maskOf(len: number): number {
  return len === 0 ? 0 : (-1 << (32 - len)) >>> 0;
}

/** Validate prefix/len and return the prefix as an unsigned number. */
function checkPrefix(prefix: number, len: number): number {
  if (!Number.isInteger(len) || len < 0 || len > 32) throw new RangeError(`lpm4: prefix length ${len} is outside 0..32`);
  if (!Number.isInteger(prefix) || prefix < -0x80000000 || prefix > 0xffffffff) {
    throw new RangeError(`lpm4: prefix ${prefix} is not an IPv4 address number`);
  }
  const p = prefix >>> 0;
  if (((p & ~maskOf(len)) >>> 0) !== 0) {
    throw new RangeError(`lpm4: ${ip4ToString(p)}/${len} has host bits set (the network is ${ip4ToString((p & maskOf(len)) >>> 0)}/${len})`);
  }
  return p;
}

function hash(k: number, len: number): number {
  let h = Math.imul(k ^ Math.imul(len + 1, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
