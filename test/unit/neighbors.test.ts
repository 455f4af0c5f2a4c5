// Neighbour table on a fake clock (plain ms numbers): resolution queues and its bounds,
// replies handing back the waiting slots in order, retries and failure, reachable → stale →
// expired, probing a stale entry in use, static and published entries, eviction when full,
// and slot conservation (every slot given in comes back out exactly once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Neighbors, NeighState, Resolve, neighborTimers, neighFlags } from '../../src/tables/neighbors.ts';

const IP = (d: number): number => (0xc0a80100 + d) >>> 0; // 192.168.1.d
const out = new Int32Array(8);
const slots = (n: number): number[] => Array.from(out.subarray(0, n));

test('resolve creates an incomplete entry, queues, and bounds the queue per entry', () => {
  const nb = new Neighbors();
  assert.equal(nb.resolve(IP(1), 2, 0, 100), Resolve.request);
  assert.equal(nb.resolve(IP(1), 2, 0, 101), Resolve.queued);
  assert.equal(nb.resolve(IP(1), 2, 0, 102), Resolve.queued);
  assert.equal(nb.resolve(IP(1), 2, 0, 103), Resolve.dropped); // queueLen 3
  assert.equal(nb.queueDrops, 1);
  assert.equal(nb.queued, 3);
  assert.equal(nb.lookup(IP(1)), -1, 'incomplete is not usable for forwarding');
  const e = nb.find(IP(1));
  assert.equal(nb.state(e), NeighState.incomplete);
  assert.equal(nb.port(e), 2);
});

test('the global queue bound drops across entries', () => {
  const nb = new Neighbors({ maxQueued: 4 });
  for (let i = 0; i < 4; i++) assert.equal(nb.resolve(IP(i), 1, 0, i), Resolve.request);
  assert.equal(nb.resolve(IP(0), 1, 0, 10), Resolve.dropped);
  assert.equal(nb.resolve(IP(9), 1, 0, 11), Resolve.dropped);
  assert.equal(nb.find(IP(9)), -1, 'no entry made for a packet that cannot wait');
  assert.equal(nb.queueDrops, 2);
});

test('a reply hands back the waiting slots in arrival order and the entry becomes reachable', () => {
  const nb = new Neighbors();
  nb.resolve(IP(1), 2, 0, 7);
  nb.resolve(IP(1), 2, 10, 5);
  nb.resolve(IP(1), 2, 20, 9);
  const n = nb.update(IP(1), 0x0200, 0xdeadbeef, 3, 50, false, out);
  assert.deepEqual(slots(n), [7, 5, 9]);
  assert.equal(nb.queued, 0);
  assert.equal(nb.resolved, 1);
  const e = nb.lookup(IP(1));
  assert.ok(e >= 0);
  assert.equal(nb.state(e), NeighState.reachable);
  assert.equal(nb.macHi(e), 0x0200);
  assert.equal(nb.macLo(e), 0xdeadbeef);
  assert.equal(nb.mac(e), 0x0200deadbeef);
  assert.equal(nb.port(e), 3, 'the port the reply came in on');
  assert.equal(nb.resolve(IP(1), 2, 60, 11), Resolve.ready);
  // a second reply has nothing to hand back
  assert.equal(nb.update(IP(1), 0x0200, 0xdeadbeef, 3, 70, false, out), 0);
});

test('update without create ignores unknown addresses; with create it learns them', () => {
  const nb = new Neighbors();
  assert.equal(nb.update(IP(5), 0x0200, 5, 1, 0, false, out), 0);
  assert.equal(nb.find(IP(5)), -1);
  nb.update(IP(5), 0x0200, 5, 1, 0, true, out);
  assert.equal(nb.state(nb.lookup(IP(5))), NeighState.reachable);
  assert.equal(nb.size, 1);
});

test('retries every retransMs, then failure hands the slots back for dropping', () => {
  const nb = new Neighbors({ retransMs: 1000, tries: 3 });
  const tm = neighborTimers();
  assert.equal(nb.resolve(IP(1), 4, 0, 1), Resolve.request); // request 1, sent by the caller
  nb.resolve(IP(1), 4, 0, 2);
  assert.equal(nb.tick(999, tm), true);
  assert.equal(tm.arpCount, 0);
  nb.tick(1000, tm); // request 2
  assert.equal(tm.arpCount, 1);
  assert.equal(nb.ip(tm.arp[0]), IP(1));
  assert.equal(nb.port(tm.arp[0]), 4);
  assert.equal(nb.state(tm.arp[0]), NeighState.incomplete, 'broadcast: still incomplete');
  nb.tick(1500, tm);
  assert.equal(tm.arpCount, 0);
  nb.tick(2000, tm); // request 3
  assert.equal(tm.arpCount, 1);
  assert.equal(tm.dropCount, 0);
  nb.tick(3000, tm); // no answer: failed
  assert.equal(tm.arpCount, 0);
  assert.deepEqual(Array.from(tm.drop.subarray(0, tm.dropCount)), [1, 2]);
  assert.equal(nb.failed, 1);
  assert.equal(nb.queued, 0);
  assert.equal(nb.find(IP(1)), -1);
  // the next packet starts over
  assert.equal(nb.resolve(IP(1), 4, 3001, 3), Resolve.request);
});

test('reachable → stale after reachableMs; unused stale entries expire after staleMs', () => {
  const nb = new Neighbors({ reachableMs: 30_000, staleMs: 60_000 });
  const tm = neighborTimers();
  nb.update(IP(1), 0x0200, 1, 1, 0, true, out);
  nb.update(IP(2), 0x0200, 2, 1, 10_000, true, out);
  nb.tick(29_999, tm);
  assert.equal(nb.state(nb.lookup(IP(1))), NeighState.reachable);
  nb.tick(30_000, tm);
  assert.equal(nb.state(nb.lookup(IP(1))), NeighState.stale);
  assert.equal(nb.state(nb.lookup(IP(2))), NeighState.reachable);
  // a confirmation refreshes: IP(2) confirmed again at 35 s
  nb.update(IP(2), 0x0200, 2, 1, 35_000, false, out);
  nb.tick(64_999, tm);
  assert.equal(nb.state(nb.lookup(IP(2))), NeighState.reachable);
  nb.tick(65_000, tm);
  assert.equal(nb.state(nb.lookup(IP(2))), NeighState.stale);
  // stale is still usable until it expires 60 s after going stale
  nb.tick(89_999, tm);
  assert.ok(nb.lookup(IP(1)) >= 0);
  nb.tick(90_000, tm);
  assert.equal(nb.lookup(IP(1)), -1);
  assert.equal(nb.expired, 1);
  assert.equal(tm.arpCount + tm.dropCount, 0, 'expiry sends and drops nothing');
  nb.tick(125_000, tm);
  assert.equal(nb.size, 0);
  assert.equal(nb.expired, 2);
});

test('a stale entry in use is probed (unicast), confirmed by a reply or deleted without one', () => {
  const nb = new Neighbors({ reachableMs: 1000, retransMs: 100, tries: 3 });
  const tm = neighborTimers();
  nb.update(IP(1), 0x0200, 1, 1, 0, true, out);
  nb.update(IP(2), 0x0200, 2, 1, 0, true, out);
  const e1 = nb.lookup(IP(1));
  assert.equal(nb.use(e1, 500), false, 'reachable: no probe');
  nb.tick(1000, tm);
  assert.equal(nb.state(e1), NeighState.stale);
  assert.equal(nb.use(e1, 1000), true, 'first use of a stale entry: send a unicast probe');
  assert.equal(nb.state(e1), NeighState.probe);
  assert.equal(nb.use(e1, 1001), false, 'only once');
  assert.ok(nb.lookup(IP(1)) >= 0, 'still forwarded on while probing');
  nb.tick(1100, tm);
  assert.deepEqual([tm.arpCount, nb.state(tm.arp[0]), nb.macLo(tm.arp[0])], [1, NeighState.probe, 1]);
  nb.update(IP(1), 0x0200, 1, 1, 1150, false, out);
  assert.equal(nb.state(e1), NeighState.reachable);
  nb.tick(1300, tm);
  assert.equal(tm.arpCount, 0, 'confirmed: probing stopped');
  // IP(2): stale, used, never answers → deleted after the third probe's wait
  const e2 = nb.lookup(IP(2));
  assert.equal(nb.use(e2, 1300), true);
  nb.tick(1400, tm); assert.equal(tm.arpCount, 1);
  nb.tick(1500, tm); assert.equal(tm.arpCount, 1);
  nb.tick(1600, tm); assert.equal(tm.arpCount, 0);
  assert.equal(nb.lookup(IP(2)), -1);
  assert.equal(nb.failed, 1);
});

test('static and published entries never expire, are not overridden by ARP, are never evicted', () => {
  const nb = new Neighbors({ maxEntries: 3 });
  const tm = neighborTimers();
  nb.addStatic(IP(1), 0x02000000000a, 7, true);
  nb.addStatic(IP(2), 0x02000000000b, 7);
  const e = nb.lookup(IP(1));
  assert.equal(nb.state(e), NeighState.permanent);
  assert.equal(nb.published(e), true);
  assert.equal(nb.published(nb.lookup(IP(2))), false);
  assert.equal(nb.macHi(e), 0x0200);
  assert.equal(nb.macLo(e), 0x0a);
  assert.equal(nb.update(IP(1), 0x0666, 0x666, 1, 0, true, out), 0);
  assert.equal(nb.mac(e), 0x02000000000a, 'ARP does not override a static entry');
  nb.tick(1e9, tm);
  assert.equal(nb.size, 2);
  // the table holds 3: dynamic ones churn through the last place, statics stay
  nb.update(IP(3), 0x0200, 3, 1, 0, true, out);
  nb.update(IP(4), 0x0200, 4, 1, 1, true, out);
  assert.equal(nb.evictions, 1);
  assert.equal(nb.find(IP(3)), -1);
  assert.ok(nb.lookup(IP(1)) >= 0 && nb.lookup(IP(2)) >= 0 && nb.lookup(IP(4)) >= 0);
  nb.addStatic(IP(5), 0x02000000000c, 7); // evicts IP(4)
  assert.equal(nb.find(IP(4)), -1);
  assert.equal(nb.resolve(IP(6), 1, 2, 99), Resolve.dropped, 'nothing left to evict');
  assert.throws(() => nb.addStatic(IP(6), 0x020000000001, 1), RangeError);
  assert.deepEqual(nb.entries().map((x) => [x.ip, x.state, x.flags]), [
    [IP(1), 'permanent', 'CMP'], [IP(2), 'permanent', 'CM'], [IP(5), 'permanent', 'CM'],
  ]);
});

test('eviction takes the oldest non-permanent entry: stale, then reachable, then incomplete', () => {
  const nb = new Neighbors({ maxEntries: 3, reachableMs: 1000 });
  const tm = neighborTimers();
  nb.update(IP(1), 0x0200, 1, 1, 0, true, out);
  nb.update(IP(2), 0x0200, 2, 1, 500, true, out);
  nb.tick(1000, tm); // IP(1) stale
  nb.update(IP(1), 0x0200, 1, 1, 1000, false, out); // confirmed again: now the newest
  nb.tick(1500, tm); // IP(2) stale
  nb.resolve(IP(3), 1, 1500, 42);
  nb.update(IP(4), 0x0200, 4, 1, 1600, true, out);
  assert.equal(nb.find(IP(2)), -1, 'the stale one went first');
  nb.update(IP(5), 0x0200, 5, 1, 1700, true, out);
  assert.equal(nb.find(IP(1)), -1, 'then the oldest reachable');
  nb.update(IP(6), 0x0200, 6, 1, 1800, true, out);
  assert.equal(nb.find(IP(4)), -1);
  assert.ok(nb.find(IP(3)) >= 0, 'incomplete outlives reachable ones');
  assert.equal(nb.evictions, 3);
  // an evicted incomplete entry's slot comes back as a drop from tick
  assert.equal(nb.resolve(IP(7), 1, 1900, 43), Resolve.request); // evicts IP(5)
  assert.equal(nb.resolve(IP(8), 1, 1900, 44), Resolve.request); // evicts IP(6)
  assert.ok(nb.find(IP(3)) >= 0);
  assert.equal(nb.resolve(IP(9), 1, 1900, 45), Resolve.request); // only incompletes left: the oldest goes
  assert.equal(nb.find(IP(3)), -1);
  assert.equal(nb.queued, 4);
  nb.tick(1900, tm);
  assert.deepEqual(Array.from(tm.drop.subarray(0, tm.dropCount)), [42]);
  assert.equal(nb.queued, 3);
});

test('delete, flushPort and addStatic over an incomplete entry release its slots through tick', () => {
  const nb = new Neighbors();
  const tm = neighborTimers();
  nb.resolve(IP(1), 1, 0, 10); nb.resolve(IP(1), 1, 0, 11);
  nb.resolve(IP(2), 2, 0, 20);
  nb.resolve(IP(3), 2, 0, 30);
  nb.update(IP(4), 0x0200, 4, 2, 0, true, out);
  nb.addStatic(IP(5), 0x020000000005, 2);
  assert.equal(nb.delete(IP(1)), true);
  assert.equal(nb.delete(IP(1)), false);
  assert.equal(nb.flushPort(2), 3, 'IP(2), IP(3), IP(4); not the static one');
  assert.ok(nb.lookup(IP(5)) >= 0);
  nb.resolve(IP(6), 1, 0, 60);
  nb.addStatic(IP(6), 0x020000000006, 1);
  nb.tick(0, tm);
  assert.deepEqual(Array.from(tm.drop.subarray(0, tm.dropCount)).sort((a, b) => a - b), [10, 11, 20, 30, 60]);
  assert.equal(nb.queued, 0);
  assert.equal(nb.size, 2);
});

test('tick stops when an output array is full and carries on at the next call', () => {
  const nb = new Neighbors({ retransMs: 10 });
  const tm = neighborTimers(2, 2);
  for (let i = 0; i < 5; i++) nb.resolve(IP(i), 1, 0, i);
  assert.equal(nb.tick(10, tm), false);
  assert.equal(tm.arpCount, 2);
  assert.equal(nb.tick(10, tm), false);
  assert.equal(nb.tick(10, tm), true);
  assert.equal(tm.arpCount, 1);
  const dropped: number[] = [];
  for (let t = 20; t < 100; t += 10) {
    while (!nb.tick(t, tm)) dropped.push(...tm.drop.subarray(0, tm.dropCount));
    dropped.push(...tm.drop.subarray(0, tm.dropCount));
  }
  assert.deepEqual(dropped.sort(), [0, 1, 2, 3, 4]);
  assert.equal(nb.failed, 5);
});

test('update with no output array drops the waiting slots through tick', () => {
  const nb = new Neighbors();
  const tm = neighborTimers();
  nb.resolve(IP(1), 1, 0, 5);
  assert.equal(nb.update(IP(1), 0x0200, 1, 1, 0, false, null), 0);
  nb.tick(0, tm);
  assert.deepEqual(Array.from(tm.drop.subarray(0, tm.dropCount)), [5]);
});

test('flags as arp -n prints them', () => {
  assert.equal(neighFlags(NeighState.incomplete, false), '');
  assert.equal(neighFlags(NeighState.reachable, false), 'C');
  assert.equal(neighFlags(NeighState.stale, false), 'C');
  assert.equal(neighFlags(NeighState.permanent, false), 'CM');
  assert.equal(neighFlags(NeighState.permanent, true), 'CMP');
});

test('random operations against a model: slots are conserved, the table matches', () => {
  let s = 7;
  const r = (n: number): number => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) % n; };
  const nb = new Neighbors({ maxEntries: 64, maxQueued: 40, retransMs: 100, reachableMs: 500, staleMs: 700 });
  const tm = neighborTimers(16, 16);
  const held = new Set<number>(); // slots the table holds
  let next = 1, now = 0;
  const give = (list: Iterable<number>): void => { for (const x of list) { assert.ok(held.delete(x), `slot ${x} returned twice or never given`); } };
  for (let step = 0; step < 20_000; step++) {
    now += r(20);
    const ip = IP(r(100));
    const op = r(10);
    if (op < 5) {
      const e = nb.lookup(ip);
      if (e >= 0) { nb.use(e, now); continue; }
      const slot = next++;
      const res = nb.resolve(ip, 1, now, slot);
      if (res === Resolve.request || res === Resolve.queued) held.add(slot);
      else assert.equal(res, Resolve.dropped);
    } else if (op < 8) {
      const n = nb.update(ip, 0x0200, ip & 0xff, 1, now, r(2) === 0, out);
      give(slots(n));
    } else if (op < 9) {
      if (r(20) === 0) nb.addStatic(ip, 0x020000000000 + (ip & 0xff), 1, r(2) === 0);
      else nb.delete(ip);
    } else {
      while (!nb.tick(now, tm)) give(tm.drop.subarray(0, tm.dropCount));
      give(tm.drop.subarray(0, tm.dropCount));
    }
    assert.equal(nb.queued, held.size);
    assert.ok(nb.size <= 64);
    assert.ok(nb.queued <= 40);
  }
  // flush everything: all slots come back
  for (const x of nb.entries()) nb.delete(x.ip);
  while (!nb.tick(now, tm)) give(tm.drop.subarray(0, tm.dropCount));
  give(tm.drop.subarray(0, tm.dropCount));
  assert.equal(held.size, 0);
  assert.equal(nb.size, 0);
  assert.equal(nb.queued, 0);
});
