// MAC table: learning, lookup, moves, aging on a fake clock, the bound with oldest-first
// eviction, and a randomized comparison with a Map-based reference model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MacTable, Learn } from '../../src/tables/mac-table.ts';

test('learn then lookup; unknown MAC is -1', () => {
  const t = new MacTable(16, 300);
  assert.equal(t.learn(0x0200, 0x1, 3, 0), Learn.added);
  assert.equal(t.lookup(0x0200, 0x1), 3);
  assert.equal(t.lookup(0x0200, 0x2), -1);
  assert.equal(t.learn(0x0200, 0x1, 3, 5), Learn.refreshed);
  assert.equal(t.size, 1);
  assert.equal(t.learned, 1);
});

test('a MAC that moves is relearned on the new port and counted', () => {
  const t = new MacTable(16, 300);
  t.learn(0x0200, 7, 1, 0);
  assert.equal(t.learn(0x0200, 7, 2, 1), Learn.moved);
  assert.equal(t.lookup(0x0200, 7), 2);
  assert.equal(t.moves, 1);
  assert.equal(t.size, 1);
});

test('aging removes entries not seen for agingSeconds, keeps refreshed ones', () => {
  const t = new MacTable(16, 300);
  t.learn(0x0200, 1, 1, 0);
  t.learn(0x0200, 2, 1, 0);
  t.learn(0x0200, 1, 1, 200); // refreshed at 200
  assert.equal(t.age(299), 0);
  assert.equal(t.age(300), 1); // MAC 2 last seen at 0
  assert.equal(t.lookup(0x0200, 2), -1);
  assert.equal(t.lookup(0x0200, 1), 1);
  assert.equal(t.age(500), 1);
  assert.equal(t.size, 0);
  assert.equal(t.aged, 2);
});

test('the bound evicts the least recently seen entry first and counts it', () => {
  const t = new MacTable(3, 300);
  t.learn(0, 1, 1, 0);
  t.learn(0, 2, 1, 1);
  t.learn(0, 3, 1, 2);
  t.learn(0, 1, 1, 3); // 1 refreshed: 2 is now the oldest
  assert.equal(t.learn(0, 4, 1, 4), Learn.added);
  assert.equal(t.size, 3);
  assert.equal(t.evictions, 1);
  assert.equal(t.lookup(0, 2), -1);
  for (const m of [1, 3, 4]) assert.equal(t.lookup(0, m), 1);
});

test('flushPort forgets only that port', () => {
  const t = new MacTable(16, 300);
  t.learn(0, 1, 1, 0); t.learn(0, 2, 2, 0); t.learn(0, 3, 1, 0);
  assert.equal(t.flushPort(1), 2);
  assert.deepEqual([t.lookup(0, 1), t.lookup(0, 2), t.lookup(0, 3)], [-1, 2, -1]);
});

test('random operations agree with a reference model (growth, deletes, eviction)', () => {
  let seed = 12345;
  const rnd = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
  const max = 700;
  const t = new MacTable(max, 1000);
  const ref = new Map<number, { port: number; seen: number }>();
  let now = 0;
  for (let step = 0; step < 40000; step++) {
    if (step % 50 === 0) now++;
    const m = rnd(2000);
    const hi = m & 1 ? 0x0200 : 0x5254;
    const key = hi * 4294967296 + m;
    const op = rnd(10);
    if (op < 6) {
      const port = rnd(4);
      const had = ref.get(key);
      if (!had && ref.size >= max) {
        // evict the reference's oldest (least recently refreshed)
        let oldestSeen = Infinity;
        for (const v of ref.values()) if (v.seen < oldestSeen) oldestSeen = v.seen;
        // ties: the table evicts the head of its list; accept any entry with that age
        const victims = [...ref].filter(([, v]) => v.seen === oldestSeen).map(([k]) => k);
        t.learn(hi, m, port, now);
        const gone = victims.filter((k) => t.lookup(Math.floor(k / 4294967296), k % 4294967296) === -1);
        assert.equal(gone.length, 1, 'exactly one of the oldest entries was evicted');
        ref.delete(gone[0]);
      } else {
        t.learn(hi, m, port, now);
      }
      const prev = ref.get(key);
      ref.set(key, { port, seen: prev && prev.seen === now ? prev.seen : now });
    } else if (op < 8) {
      assert.equal(t.delete(hi, m), ref.delete(key));
    } else {
      const want = ref.get(key);
      assert.equal(t.lookup(hi, m), want ? want.port : -1);
    }
    assert.equal(t.size, ref.size);
  }
});
