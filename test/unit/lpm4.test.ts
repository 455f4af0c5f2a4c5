// LPM (DIR-24-8): edge cases around /0, /24 and /32, tbl8 groups appearing and going away,
// host-bit and range errors, and random adds and removes checked against a brute-force
// reference (a list of routes scanned for the longest match).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lpm4, NEXT_HOP_MAX } from '../../src/tables/lpm4.ts';

// Written independently of src/wire so a bug cannot agree with itself.
const ip = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
const net = (addr: number, len: number): number => (len === 0 ? 0 : Number(BigInt(addr) & (((1n << BigInt(len)) - 1n) << BigInt(32 - len))));

// One table for the whole file: each holds a 32 MiB tbl24.
const t = new Lpm4();
const fresh = (): Lpm4 => { t.clear(); return t; };

test('empty table: no route anywhere', () => {
  const l = fresh();
  assert.equal(l.lookup(0), 0);
  assert.equal(l.lookup(0xffffffff), 0);
  assert.equal(l.size, 0);
  assert.deepEqual(l.routes(), []);
});

test('default route, /8, /24, /32 nest and the longest wins', () => {
  const l = fresh();
  l.add(0, 0, 1);
  l.add(ip('10.0.0.0'), 8, 2);
  l.add(ip('10.1.2.0'), 24, 3);
  l.add(ip('10.1.2.3'), 32, 4);
  assert.equal(l.lookup(ip('192.0.2.1')), 1);
  assert.equal(l.lookup(ip('10.9.9.9')), 2);
  assert.equal(l.lookup(ip('10.1.2.0')), 3);
  assert.equal(l.lookup(ip('10.1.2.255')), 3);
  assert.equal(l.lookup(ip('10.1.2.3')), 4);
  assert.equal(l.lookup(ip('10.1.3.0')), 2);
  assert.equal(l.lookup(0xffffffff), 1);
  assert.equal(l.size, 4);
  assert.equal(l.get(ip('10.0.0.0'), 8), 2);
  assert.equal(l.get(ip('10.0.0.0'), 9), 0);
  assert.deepEqual(l.routes(), [
    { prefix: 0, len: 0, nextHop: 1 },
    { prefix: ip('10.0.0.0'), len: 8, nextHop: 2 },
    { prefix: ip('10.1.2.0'), len: 24, nextHop: 3 },
    { prefix: ip('10.1.2.3'), len: 32, nextHop: 4 },
  ]);
});

test('the /24 boundary: a /23 and /25 around it', () => {
  const l = fresh();
  l.add(ip('172.16.2.0'), 23, 5);
  l.add(ip('172.16.3.128'), 25, 6);
  assert.equal(l.lookup(ip('172.16.1.255')), 0);
  assert.equal(l.lookup(ip('172.16.2.0')), 5);
  assert.equal(l.lookup(ip('172.16.3.127')), 5);
  assert.equal(l.lookup(ip('172.16.3.128')), 6);
  assert.equal(l.lookup(ip('172.16.3.255')), 6);
  assert.equal(l.lookup(ip('172.16.4.0')), 0);
  assert.equal(l.groups, 1);
});

test('a /25 inside a /24, then the /24 changes and goes away under it', () => {
  const l = fresh();
  l.add(ip('192.168.1.0'), 24, 1);
  l.add(ip('192.168.1.0'), 25, 2);
  assert.equal(l.lookup(ip('192.168.1.1')), 2);
  assert.equal(l.lookup(ip('192.168.1.200')), 1);
  l.add(ip('192.168.1.0'), 24, 7); // replace the covering route's next hop
  assert.equal(l.size, 2);
  assert.equal(l.lookup(ip('192.168.1.1')), 2);
  assert.equal(l.lookup(ip('192.168.1.200')), 7);
  assert.equal(l.remove(ip('192.168.1.0'), 24), true); // remove the group's covering prefix
  assert.equal(l.lookup(ip('192.168.1.1')), 2);
  assert.equal(l.lookup(ip('192.168.1.200')), 0);
  assert.equal(l.remove(ip('192.168.1.0'), 25), true);
  assert.equal(l.lookup(ip('192.168.1.1')), 0);
  assert.equal(l.groups, 0, 'the group is freed with its last long prefix');
  l.add(ip('192.168.1.0'), 24, 9); // re-adding works from a clean state
  l.add(ip('192.168.1.128'), 25, 8);
  assert.equal(l.lookup(ip('192.168.1.1')), 9);
  assert.equal(l.lookup(ip('192.168.1.129')), 8);
  assert.equal(l.groups, 1);
});

test('removing a prefix restores the next-shorter covering prefix', () => {
  const l = fresh();
  l.add(ip('10.0.0.0'), 8, 1);
  l.add(ip('10.0.0.0'), 16, 2);
  l.add(ip('10.0.0.0'), 20, 3);
  l.add(ip('10.0.1.0'), 28, 4);
  l.add(ip('10.0.1.0'), 30, 5);
  assert.equal(l.lookup(ip('10.0.1.1')), 5);
  assert.equal(l.remove(ip('10.0.1.0'), 30), true);
  assert.equal(l.lookup(ip('10.0.1.1')), 4);
  assert.equal(l.remove(ip('10.0.0.0'), 20), true);
  assert.equal(l.lookup(ip('10.0.1.1')), 4);
  assert.equal(l.lookup(ip('10.0.1.16')), 2);
  assert.equal(l.remove(ip('10.0.1.0'), 28), true);
  assert.equal(l.lookup(ip('10.0.1.1')), 2);
  assert.equal(l.remove(ip('10.0.0.0'), 16), true);
  assert.equal(l.lookup(ip('10.0.1.1')), 1);
  assert.equal(l.remove(ip('10.0.0.0'), 16), false);
  assert.equal(l.groups, 0);
});

test('a /0 added after longer routes fills only the holes; /32 at the top of the space', () => {
  const l = fresh();
  l.add(ip('255.255.255.255'), 32, 3);
  l.add(ip('128.0.0.0'), 1, 2);
  l.add(0, 0, 1);
  assert.equal(l.lookup(ip('255.255.255.255')), 3);
  assert.equal(l.lookup(ip('255.255.255.254')), 2);
  assert.equal(l.lookup(ip('127.255.255.255')), 1);
  assert.equal(l.remove(0, 0), true);
  assert.equal(l.lookup(ip('127.255.255.255')), 0);
  assert.equal(l.lookup(ip('255.255.255.254')), 2);
  // int32 (negative) forms of the same addresses are accepted
  assert.equal(l.lookup(-1), 3);
  assert.equal(l.get(-1, 32), 3);
});

test('host bits, lengths and next hops out of range are RangeErrors naming the prefix', () => {
  const l = fresh();
  assert.throws(() => l.add(ip('10.0.0.1'), 8, 1), { name: 'RangeError', message: /10\.0\.0\.1\/8 has host bits set.*10\.0\.0\.0\/8/ });
  assert.throws(() => l.add(ip('10.0.0.1'), 0, 1), /host bits/);
  assert.throws(() => l.remove(ip('10.0.0.128'), 24), /10\.0\.0\.128\/24 has host bits/);
  assert.throws(() => l.add(0, 33, 1), RangeError);
  assert.throws(() => l.add(0, -1, 1), RangeError);
  assert.throws(() => l.add(2 ** 32, 32, 1), RangeError);
  assert.throws(() => l.add(0, 0, 0), /next hop 0/);
  assert.throws(() => l.add(0, 0, NEXT_HOP_MAX + 1), RangeError);
  l.add(0, 0, NEXT_HOP_MAX);
  assert.equal(l.lookup(12345), NEXT_HOP_MAX);
  assert.equal(l.size, 1);
});

test('the group pool grows past its initial size and groups are reused', () => {
  const l = new Lpm4({ initialGroups: 2 });
  const base = ip('100.64.0.0');
  for (let i = 0; i < 100; i++) l.add(base + i * 256 + 128, 25, 1 + i);
  assert.equal(l.groups, 100);
  for (let i = 0; i < 100; i++) assert.equal(l.lookup(base + i * 256 + 200), 1 + i);
  const bytes = l.memoryBytes();
  for (let i = 0; i < 100; i++) assert.equal(l.remove(base + i * 256 + 128, 25), true);
  assert.equal(l.groups, 0);
  for (let i = 0; i < 100; i++) l.add(base + i * 256 + 64, 26, 1);
  assert.equal(l.memoryBytes(), bytes, 'freed groups are reused, not reallocated');
  assert.equal(l.lookup(base + 64), 1);
  assert.equal(l.lookup(base + 128), 0);
});

// --- randomized against a reference ---------------------------------------------------------

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; let x = s ^ (s >>> 15); x = Math.imul(x, 0x2c1b3c6d); return (x ^ (x >>> 12)) >>> 0; };
}

function randomLen(r: () => number): number {
  const u = r() % 100;
  if (u < 3) return r() % 8; // 0..7, rare
  if (u < 80) return 8 + (r() % 17); // 8..24
  return 25 + (r() % 8); // 25..32
}

function check(l: Lpm4, ref: Map<string, { p: number; len: number; nh: number }>, addrs: number[]): void {
  const list = [...ref.values()];
  for (const a of addrs) {
    let best = -1, nh = 0;
    for (const r of list) if (r.len > best && net(a, r.len) === r.p) { best = r.len; nh = r.nh; }
    assert.equal(l.lookup(a), nh, `lookup ${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`);
  }
}

for (const seed of [1, 2, 3]) {
  test(`random adds and removes match a linear scan (seed ${seed})`, () => {
    const r = rng(seed);
    const l = fresh();
    const ref = new Map<string, { p: number; len: number; nh: number }>();
    // Concentrate prefixes under a few /8s so they overlap often.
    const tops = [10, 172, 192, 0, 255];
    const randAddr = (): number => ((tops[r() % tops.length] << 24) | (r() & 0x00ffffff)) >>> 0;
    const keys: string[] = [];
    for (let step = 0; step < 3000; step++) {
      if (keys.length > 0 && r() % 3 === 0) {
        const k = keys.splice(r() % keys.length, 1)[0];
        const e = ref.get(k)!;
        ref.delete(k);
        assert.equal(l.remove(e.p, e.len), true);
      } else {
        const len = randomLen(r);
        const p = net(randAddr(), len);
        const nh = 1 + (r() % 1000);
        const k = `${p}/${len}`;
        if (!ref.has(k)) keys.push(k);
        ref.set(k, { p, len, nh });
        l.add(p, len, nh);
      }
      if (step % 500 === 499) {
        const addrs: number[] = [];
        for (let i = 0; i < 300; i++) addrs.push(randAddr());
        for (const e of [...ref.values()].slice(0, 100)) addrs.push(e.p, (e.p + 1) >>> 0, (e.p + 2 ** (32 - e.len) - 1) >>> 0, (e.p - 1) >>> 0);
        check(l, ref, addrs);
      }
    }
    assert.equal(l.size, ref.size);
    const want = [...ref.values()].map((e) => ({ prefix: e.p, len: e.len, nextHop: e.nh }))
      .sort((x, y) => x.prefix - y.prefix || x.len - y.len);
    assert.deepEqual(l.routes(), want);
    // remove everything: the table must be empty again, groups included
    for (const e of ref.values()) assert.equal(l.remove(e.p, e.len), true);
    assert.equal(l.size, 0);
    assert.equal(l.groups, 0);
    for (let i = 0; i < 1000; i++) assert.equal(l.lookup(randAddr()), 0);
  });
}
