// bench-histogram.test.ts — the latency histogram scheme shared with the native sink: bucket
// indexes at the edges (exact below 16, powers of two, around 2^32 where shifts would break,
// the clamp at the top), ranges that map back to their bucket, percentiles of a known
// distribution within the bucket precision, merging and the summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LAT_BUCKETS, bucketOf, bucketRange, mergeHistograms, percentile, summarize } from '../../src/bench/histogram.ts';

/** The C formula with BigInt shifts, as the sink computes it. */
function refBucket(v: number): number {
  if (v < 16) return v;
  const b = BigInt(v);
  const e = b.toString(2).length - 1;
  const m = Number((b >> BigInt(e - 4)) & 15n);
  return Math.min((e - 3) * 16 + m, LAT_BUCKETS - 1);
}

test('bucketOf at the edges', () => {
  const cases: [number, number][] = [
    [0, 0], [15, 15], [16, 16], [17, 17], [31, 31], [32, 32], [33, 32], [34, 33],
    [1000, (9 - 3) * 16 + ((1000 >> 5) & 15)], [1e6, refBucket(1e6)],
    [2 ** 32, (32 - 3) * 16], [2 ** 32 - 1, (31 - 3) * 16 + 15], [2 ** 32 + 1, (32 - 3) * 16],
    [2 ** 40, (40 - 3) * 16], [2 ** 41, 607], [2 ** 50, 607], [Number.MAX_SAFE_INTEGER, 607],
  ];
  for (const [v, idx] of cases) {
    assert.equal(bucketOf(v), idx, `bucketOf(${v})`);
    assert.equal(refBucket(v), idx, `reference for ${v}`);
  }
  assert.equal(bucketOf(1000), 111, "2^9 <= 1000 < 2^10, (1000 >> 5) & 15 = 15");
  assert.equal(bucketOf(-5), 0);
  assert.equal(bucketOf(16.9), 16);
  assert.equal(LAT_BUCKETS, 608);
});

test('bucketOf agrees with the BigInt reference around every power of two and at random', () => {
  for (let e = 0; e <= 52; e++) {
    for (const d of [-2, -1, 0, 1, 2]) {
      const v = 2 ** e + d;
      if (v >= 0) assert.equal(bucketOf(v), refBucket(v), `2^${e}${d >= 0 ? '+' : ''}${d}`);
    }
  }
  let x = 1;
  for (let i = 0; i < 20000; i++) {
    x = (x * 48271) % 2147483647;
    const v = Math.floor((x / 2147483647) * 2 ** (x % 45));
    assert.equal(bucketOf(v), refBucket(v), String(v));
  }
});

test('bucketRange: contiguous, every value in it maps back', () => {
  let prevHi = 0;
  for (let idx = 0; idx < LAT_BUCKETS; idx++) {
    const [lo, hi] = bucketRange(idx);
    assert.equal(lo, prevHi, `bucket ${idx} starts where ${idx - 1} ends`);
    assert.ok(hi > lo);
    if (idx >= 16) assert.ok((hi - lo) / lo <= 1 / 16 + 1e-12, 'at most 6.25 % wide');
    const w = hi - lo;
    for (const v of [lo, lo + Math.floor(w / 3), lo + Math.floor(w / 2), hi - 1]) assert.equal(bucketOf(v), idx, `${v} in bucket ${idx}`);
    assert.equal(bucketOf(hi), Math.min(idx + 1, LAT_BUCKETS - 1));
    prevHi = hi;
  }
  assert.deepEqual(bucketRange(16), [16, 17]);
  assert.deepEqual(bucketRange(32), [32, 34]);
  assert.deepEqual(bucketRange(607), [31 * 2 ** 36, 2 ** 41]);
});

test('percentiles of uniform 1..100000 µs within the bucket precision', () => {
  const hist = new Array<number>(LAT_BUCKETS).fill(0);
  let sum = 0;
  for (let us = 1; us <= 100000; us++) { hist[bucketOf(us * 1000)]++; sum += us * 1000; }
  for (const p of [1, 10, 25, 50, 90, 99, 99.9]) {
    const want = p * 1000 * 1000;
    const got = percentile(hist, p);
    assert.ok(Math.abs(got - want) / want <= 0.035, `p${p}: ${got} vs ${want}`);
  }
  const s = summarize(hist, { minNs: 1000, maxNs: 1e8, count: 100000, sumNs: sum });
  assert.equal(s.samples, 100000);
  assert.equal(s.minNs, 1000);
  assert.equal(s.maxNs, 1e8);
  assert.equal(s.meanNs, 50000.5 * 1000);
  assert.ok(Math.abs(s.p50Ns - 5e7) / 5e7 < 0.035);
  assert.ok(Math.abs(s.p99Ns - 9.9e7) / 9.9e7 < 0.035);
  assert.ok(s.minNs <= s.p50Ns && s.p50Ns <= s.p90Ns && s.p90Ns <= s.p99Ns && s.p99Ns <= s.maxNs);
});

test('percentile: exact small values, clamping to min/max, p0/p100, empty', () => {
  const hist = new Array<number>(LAT_BUCKETS).fill(0);
  hist[3] = 1; hist[7] = 1; hist[bucketOf(1000)] = 2;
  assert.equal(percentile(hist, 25), 3);
  assert.equal(percentile(hist, 50), 7);
  assert.equal(percentile(hist, 75), (992 + 1024 - 1) / 2, 'middle of [992, 1024)');
  assert.equal(percentile(hist, 75, 3, 1000), 1000, 'clamped to max');
  assert.equal(percentile(hist, 100, 3, 1000), 1000);
  assert.equal(percentile(hist, 0, 3, 1000), 3);
  assert.equal(percentile(hist, 100), (992 + 1024 - 1) / 2);
  const one = new Array<number>(LAT_BUCKETS).fill(0);
  one[bucketOf(5000)] = 10;
  assert.equal(percentile(one, 50, 5000, 5000), 5000, 'one value: min = max = it');
  assert.ok(Number.isNaN(percentile(new Array<number>(LAT_BUCKETS).fill(0), 50)));
  assert.deepEqual(summarize([], { minNs: 0, maxNs: 0, count: 0, sumNs: 0 }), { samples: 0, minNs: 0, meanNs: 0, p50Ns: 0, p90Ns: 0, p99Ns: 0, maxNs: 0 });
});

test('mergeHistograms adds bucket by bucket, any lengths, counts above 2^32', () => {
  assert.deepEqual(mergeHistograms([1, 2, 3], [10, 20]), [11, 22, 3]);
  assert.deepEqual(mergeHistograms(new Float64Array([2 ** 32]), [2 ** 32]), [2 ** 33]);
  const a = new Array<number>(LAT_BUCKETS).fill(0);
  const b = new Array<number>(LAT_BUCKETS).fill(0);
  a[bucketOf(100)] = 50; b[bucketOf(10000)] = 50;
  const m = mergeHistograms(a, b);
  assert.equal(m.length, LAT_BUCKETS);
  assert.ok(percentile(m, 50) < 110 && percentile(m, 51) > 9000);
});
