// histogram.ts — reads the latency histogram the native sink fills (HDR-like, log-linear):
// 608 buckets, exact below 16 ns, then 16 linear buckets per power of two, so every bucket is
// at most 1/16 (6.25 %) of its values wide, from 16 ns up to 2^41 ns (~37 min; the last
// bucket takes everything above). The C side computes the same index with a count of
// leading zeros; here numbers above 2^32 forbid shifts, so powers of two are divided instead.
//
//   v < 16: idx = v;  else e = floor(log2 v), m = (v >> (e - 4)) & 15, idx = (e - 3) * 16 + m

export const LAT_BUCKETS = 608;

/** Largest power-of-two exponent e with 2^e <= v (v >= 1), exact even where Math.log2 rounds. */
function log2Floor(v: number): number {
  let e = Math.floor(Math.log2(v));
  if (2 ** e > v) e--;
  else if (2 ** (e + 1) <= v) e++;
  return e;
}

/** The bucket of a latency of v ns (fractions are dropped, negatives count as 0). */
export function bucketOf(v: number): number {
  const n = Math.floor(v);
  if (!(n >= 16)) return n > 0 ? n : 0;
  const e = log2Floor(n);
  const m = Math.floor(n / 2 ** (e - 4)) % 16;
  return Math.min((e - 3) * 16 + m, LAT_BUCKETS - 1);
}

/** The values [lo, hi) in ns that bucket idx holds. */
export function bucketRange(idx: number): [number, number] {
  if (idx < 16) return [idx, idx + 1];
  const e = Math.floor(idx / 16) + 3;
  const m = idx % 16;
  return [(16 + m) * 2 ** (e - 4), (17 + m) * 2 ** (e - 4)];
}

/** Middle of the integer values a bucket holds (the value itself for the exact buckets). */
function bucketMid(idx: number): number {
  const [lo, hi] = bucketRange(idx);
  return (lo + hi - 1) / 2;
}

/**
 * The p-th percentile (0..100) of the samples counted in hist: the middle of the bucket the
 * ceil(p% of n)-th sample is in, clamped into [min, max] when they are given (the sink's
 * exact extremes); p 0 is min and p 100 is max when given. NaN for an empty histogram.
 */
export function percentile(hist: ArrayLike<number>, p: number, min?: number, max?: number): number {
  let total = 0;
  for (let i = 0; i < hist.length; i++) total += hist[i];
  if (total <= 0) return NaN;
  if (p >= 100 && max !== undefined) return max;
  if (p <= 0 && min !== undefined) return min;
  const rank = Math.max(1, Math.ceil((Math.min(p, 100) / 100) * total));
  let seen = 0;
  let idx = hist.length - 1;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    if (seen >= rank) { idx = i; break; }
  }
  let v = bucketMid(idx);
  if (min !== undefined) v = Math.max(v, min);
  if (max !== undefined) v = Math.min(v, max);
  return v;
}

/** Bucket-wise sum (e.g. of the per-thread or per-trial histograms). */
export function mergeHistograms(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out = new Array<number>(Math.max(a.length, b.length)).fill(0);
  for (let i = 0; i < a.length; i++) out[i] += a[i];
  for (let i = 0; i < b.length; i++) out[i] += b[i];
  return out;
}

export interface LatencySummary { samples: number; minNs: number; meanNs: number; p50Ns: number; p90Ns: number; p99Ns: number; maxNs: number }

/** The figures a result reports, from the histogram and the sink's exact count, sum and extremes; zeros without samples. */
export function summarize(hist: ArrayLike<number>, exact: { minNs: number; maxNs: number; count: number; sumNs: number }): LatencySummary {
  const { minNs, maxNs, count, sumNs } = exact;
  if (count <= 0) return { samples: 0, minNs: 0, meanNs: 0, p50Ns: 0, p90Ns: 0, p99Ns: 0, maxNs: 0 };
  const pct = (p: number): number => percentile(hist, p, minNs, maxNs);
  return { samples: count, minNs, meanNs: sumNs / count, p50Ns: pct(50), p90Ns: pct(90), p99Ns: pct(99), maxNs };
}
