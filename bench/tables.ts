// tables.ts — lookups per second of the routing and neighbour tables, in process, one core.
//   node --import tsx bench/tables.ts [--routes N] [--seconds S]
// Prints: LPM lookups/s with 1 route and with N (default 1M) random prefixes whose lengths
// follow a BGP table (mostly /24, /16–/23, a few shorter, ~1 % /25–/32), the build time,
// bytes per prefix (memoryBytes()/size) and resident growth, add+remove churn, and the
// neighbour table's lookups/s. Addresses are drawn at random over the whole space (the
// worst case for caches: every lookup misses) and from the installed prefixes (every lookup
// hits a route).
import { Lpm4 } from '../src/tables/lpm4.js';
import { Neighbors } from '../src/tables/neighbors.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUTES = arg('routes', 1_000_000);
const SECONDS = arg('seconds', 1);

let seed = 12345;
const rand = (): number => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; let x = seed ^ (seed >>> 15); x = Math.imul(x, 0x2c1b3c6d); return (x ^ (x >>> 12)) >>> 0; };

// Share of each prefix length in per-mille, after the public IPv4 table (2024: ~60 % /24,
// /22 and /23 next); /25–/32 added at 1 % as a host's own routes would be.
const BGP: [number, number][] = [
  [8, 1], [9, 1], [10, 1], [11, 1], [12, 1], [13, 1], [14, 1], [15, 1], [16, 14], [17, 8], [18, 15], [19, 28],
  [20, 45], [21, 50], [22, 110], [23, 100], [24, 612],
  [25, 2], [26, 2], [27, 2], [28, 1], [29, 1], [30, 1], [31, 0], [32, 1],
];
const CUM: number[] = [];
{ let c = 0; for (const [, w] of BGP) { c += w; CUM.push(c); } }
function bgpLen(): number {
  const u = rand() % CUM[CUM.length - 1];
  for (let i = 0; i < CUM.length; i++) if (u < CUM[i]) return BGP[i][0];
  return 24;
}
const maskOf = (len: number): number => (len === 0 ? 0 : (-1 << (32 - len)) >>> 0);

/** Run fn(n) (n lookups) until SECONDS pass; return lookups/s. */
function rate(fn: (n: number) => number): number {
  let n = 1 << 16, total = 0, sink = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < SECONDS * 1000) { sink ^= fn(n); total += n; t = performance.now(); if (n < 1 << 22) n *= 2; }
  if (sink === 0.5) console.log(sink); // keep the result alive
  return total / ((t - t0) / 1000);
}

function lookups(l: Lpm4, addrs: Uint32Array): (n: number) => number {
  const mask = addrs.length - 1;
  let k = 0;
  return (n: number): number => {
    let x = 0;
    for (let i = 0; i < n; i++) { x ^= l.lookup(addrs[k]); k = (k + 1) & mask; }
    return x;
  };
}

const M = (x: number): string => `${(x / 1e6).toFixed(1)} M/s`;
const MiB = (x: number): string => `${(x / 1048576).toFixed(1)} MiB`;

const randomAddrs = new Uint32Array(1 << 22);
for (let i = 0; i < randomAddrs.length; i++) randomAddrs[i] = rand();

console.log(`node ${process.version}, ${SECONDS} s per figure`);

{
  const l = new Lpm4();
  l.add(0x0a000000, 8, 1);
  console.log(`lpm4   1 route             lookups (random addresses)   ${M(rate(lookups(l, randomAddrs)))}`);
}

{
  // prefixes generated first, so the build time is the table's alone
  const prefixes = new Uint32Array(ROUTES + (ROUTES >> 2));
  const lens = new Uint8Array(prefixes.length);
  for (let i = 0; i < prefixes.length; i++) { const len = bgpLen(); lens[i] = len; prefixes[i] = (rand() & maskOf(len)) >>> 0; }
  const rss0 = process.memoryUsage().rss;
  const l = new Lpm4();
  const t0 = performance.now();
  let i = 0;
  for (; l.size < ROUTES && i < prefixes.length; i++) l.add(prefixes[i], lens[i], 1 + (i % 4000));
  const buildMs = performance.now() - t0;
  const rss = process.memoryUsage().rss - rss0;
  console.log(`lpm4   build ${l.size} prefixes   ${(buildMs / 1000).toFixed(2)} s (${(l.size / buildMs * 1000 / 1e6).toFixed(2)} M adds/s), ${l.groups} tbl8 groups`);
  console.log(`lpm4   memory                 ${MiB(l.memoryBytes())} allocated = ${(l.memoryBytes() / l.size).toFixed(1)} B/prefix; RSS grew ${MiB(rss)}`);
  console.log(`lpm4   ${l.size} routes         lookups (random addresses)   ${M(rate(lookups(l, randomAddrs)))}`);
  const hits = new Uint32Array(1 << 22);
  for (let j = 0; j < hits.length; j++) { const r = rand() % i; hits[j] = (prefixes[r] | (rand() & ~maskOf(lens[r]))) >>> 0; }
  console.log(`lpm4   ${l.size} routes         lookups (inside routes)      ${M(rate(lookups(l, hits)))}`);
  const local = hits.subarray(0, 1024);
  console.log(`lpm4   ${l.size} routes         lookups (1024 hot addresses) ${M(rate(lookups(l, local)))}`);
  // churn: remove and re-add routes already present (the table stays at its size)
  const t1 = performance.now();
  const CHURN = 100_000;
  for (let j = 0; j < CHURN; j++) { const r = (j * 7919) % i; if (l.remove(prefixes[r], lens[r])) l.add(prefixes[r], lens[r], 1 + (j % 4000)); }
  console.log(`lpm4   churn                  ${((CHURN * 2) / (performance.now() - t1) * 1000 / 1e6).toFixed(2)} M updates/s (remove + re-add)`);
}

{
  for (const n of [1000, 65536]) {
    const nb = new Neighbors({ maxEntries: n * 2 });
    const ips = new Uint32Array(1 << 20);
    const base = 0x0a000000;
    for (let j = 0; j < n; j++) nb.update(base + j * 3, 0x0200, j, 1, 0, true, null);
    for (let j = 0; j < ips.length; j++) ips[j] = base + (rand() % n) * 3;
    const mask = ips.length - 1;
    let k = 0;
    const r = rate((m: number): number => {
      let x = 0;
      for (let j = 0; j < m; j++) { const e = nb.lookup(ips[k]); x ^= nb.macLo(e) ^ nb.port(e); k = (k + 1) & mask; }
      return x;
    });
    console.log(`neigh  ${String(n).padEnd(6)} entries        lookup + mac + port          ${M(r)}   ${(nb.memoryBytes() / n).toFixed(0)} B/entry`);
  }
}
