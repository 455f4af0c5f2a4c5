// bench-search.test.ts — the NDR/PDR search against fake devices with known loss curves:
// a device with capacity C loses 1 - C/pps above C and, for the PDR, a fixed 0.3 % in a band
// below C, so the true NDR and PDR are known. Checks that both land within precision of the
// truth in few trials, over many seeded capacities and bounds; that disturbed failures and
// lucky passes do not break it; that a device losing everything gives null and one losing
// nothing flat out needs no trial. No timing: trials are answered at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { searchNdrPdr } from '../../src/bench/search.ts';
import type { SearchOptions, SearchState, TrialOutcome } from '../../src/bench/search.ts';

/** mulberry32: a small seeded PRNG, [0, 1) */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A device of capacity c; `band` loss between bandFrom * c and c (and at least that above c). */
function device(c: number, band = 0, bandFrom = 0.9) {
  const loss = (pps: number): number => (pps > c ? Math.max(band, 1 - c / pps) : pps > bandFrom * c ? band : 0);
  const outcome = (pps: number, l = loss(pps)): TrialOutcome => {
    const sent = Math.round(pps);
    const received = Math.round(sent * (1 - l));
    return { offeredPps: pps, receivedPps: received, sent, received, loss: (sent - received) / sent };
  };
  // the true answers: NDR is where loss starts, PDR where the loss reaches 0.5 %
  const ndr = band > 0 ? bandFrom * c : c;
  const pdr = c / (1 - 0.005);
  return { loss, outcome, ndr, pdr, trial: async (pps: number) => outcome(pps) };
}

/** Bound invariants checked after every trial. */
function checkState(s: SearchState): void {
  for (const b of [s.ndr, s.pdr]) if (b.lo !== null && b.hi !== null) assert.ok(b.lo < b.hi, `lo ${b.lo} < hi ${b.hi}`);
  if (s.ndr.lo !== null && s.pdr.lo !== null) assert.ok(s.ndr.lo <= s.pdr.lo, 'NDR lo <= PDR lo');
  if (s.ndr.hi !== null && s.pdr.hi !== null) assert.ok(s.ndr.hi <= s.pdr.hi, 'NDR hi <= PDR hi');
}

/** lo passes, hi fails, truth between them, and the interval is precise. */
function assertFound(b: { lo: number | null; hi: number | null }, truth: number, precision: number, what: string): void {
  assert.ok(b.lo !== null, `${what}: found`);
  assert.ok(b.lo <= truth * (1 + 1e-9), `${what}: lo ${b.lo} <= true ${truth}`);
  if (b.hi !== null) {
    assert.ok(b.hi > truth * (1 - 1e-9), `${what}: hi ${b.hi} > true ${truth}`);
    assert.ok(b.hi / b.lo - 1 <= precision + 1e-9, `${what}: precise (${b.lo}..${b.hi})`);
  }
}

async function run(dev: ReturnType<typeof device>, o: Partial<SearchOptions> & { maxPps: number }, withMrr = true) {
  const calls: number[] = [];
  const r = await searchNdrPdr({
    ...o,
    mrr: withMrr ? dev.outcome(o.maxPps) : undefined,
    trial: o.trial ?? (async (pps) => { calls.push(pps); return dev.outcome(pps); }),
    onTrial: (pps, t, s) => { checkState(s); o.onTrial?.(pps, t, s); },
  });
  return { ...r, calls };
}

test('capacity C with a loss band: NDR and PDR within 2 % of the truth in a few trials', async () => {
  const dev = device(3e6, 0.003);
  const r = await run(dev, { maxPps: 6e6 });
  assertFound(r.ndr, dev.ndr, 0.02, 'NDR');
  assertFound(r.pdr, dev.pdr, 0.02, 'PDR');
  assert.ok(r.trials.length <= 10, `${r.trials.length} trials`);
  assert.deepEqual(r.trials.map((t) => t.pps), r.calls);
  assert.ok(r.ndr.loTrial && r.ndr.loTrial.loss === 0);
  assert.ok(r.pdr.loTrial && r.pdr.loTrial.loss <= 0.005);
});

test('no MRR given: the first trial is at maxPps', async () => {
  const dev = device(1e6);
  const r = await run(dev, { maxPps: 1.5e6 }, false);
  assert.equal(r.calls[0], 1.5e6);
  assertFound(r.ndr, dev.ndr, 0.02, 'NDR');
  assertFound(r.pdr, dev.pdr, 0.02, 'PDR');
  assert.ok(r.trials.length <= 8, `${r.trials.length} trials`);
});

test('sweep: 300 seeded devices, bounds, losses and precisions', async () => {
  const rnd = prng(2544);
  const worst = { near: 0, all: 0 };
  for (let i = 0; i < 300; i++) {
    const c = 1e5 * 10 ** (rnd() * 2);
    const band = rnd() < 0.5 ? 0 : 0.001 + rnd() * 0.003;
    const bandFrom = 0.5 + rnd() * 0.49;
    const dev = device(c, band, bandFrom);
    const maxPps = c * (1.02 + rnd() * 4);
    const precision = [0.005, 0.01, 0.02, 0.05][i % 4];
    const r = await run(dev, { maxPps, precision, maxTrials: 40 }, rnd() < 0.8);
    const what = `device ${i}: C ${c.toFixed(0)} band ${band.toFixed(4)} max ${maxPps.toFixed(0)} precision ${precision}`;
    assertFound(r.ndr, dev.ndr, precision, `${what}: NDR`);
    assertFound(r.pdr, dev.pdr, precision, `${what}: PDR`);
    if (precision !== 0.02) continue;
    worst.all = Math.max(worst.all, r.trials.length);
    if (band === 0 || bandFrom >= 0.8) worst.near = Math.max(worst.near, r.trials.length);
  }
  // at the default precision: 12 trials (the default maxTrials) when the loss starts within
  // 20 % under the capacity; an NDR at half the PDR costs a few more
  assert.ok(worst.near <= 12, `worst ${worst.near}`);
  assert.ok(worst.all <= 16, `worst ${worst.all}`);
});

test('default maxTrials stops the search at 12', async () => {
  const dev = device(1e6, 0.004, 0.01);
  const r = await run(dev, { maxPps: 5e6, precision: 0.0001 });
  assert.equal(r.trials.length, 12);
});

test('disturbed failures move no bound and the search still converges', async () => {
  const rnd = prng(7);
  for (let i = 0; i < 50; i++) {
    const dev = device(2e6, 0.002);
    let disturbed = 0;
    const r = await run(dev, {
      maxPps: 4e6,
      maxTrials: 40,
      // a third of the trials lose 5 % to a noisy neighbour; the harness flags them
      trial: async (pps) => {
        if (rnd() < 0.33) { disturbed++; return { ...dev.outcome(pps, Math.max(0.05, dev.loss(pps))), disturbed: true }; }
        return dev.outcome(pps);
      },
    });
    assertFound(r.ndr, dev.ndr, 0.02, `run ${i}: NDR`);
    assertFound(r.pdr, dev.pdr, 0.02, `run ${i}: PDR`);
    assert.ok(r.trials.length <= 12 + disturbed, `${r.trials.length} trials, ${disturbed} disturbed`);
  }
});

test('a disturbed pass counts', async () => {
  const dev = device(1e6);
  const r = await run(dev, {
    maxPps: 2e6,
    trial: async (pps) => { const t = dev.outcome(pps); return t.loss === 0 ? { ...t, disturbed: true } : t; },
  });
  assert.ok(r.trials.some((t) => t.outcome.disturbed));
  assertFound(r.ndr, dev.ndr, 0.02, 'NDR');
  assertFound(r.pdr, dev.pdr, 0.02, 'PDR');
});

test('lucky passes above a known failure: the latest trial wins, lo < hi holds, the search ends', async () => {
  const rnd = prng(99);
  for (let i = 0; i < 50; i++) {
    const dev = device(1e6, 0.003);
    const r = await run(dev, {
      maxPps: 3e6,
      maxTrials: 30,
      trial: async (pps) => (rnd() < 0.2 ? dev.outcome(pps, 0) : dev.outcome(pps)),
    });
    assert.ok(r.trials.length <= 30);
    for (const b of [r.ndr, r.pdr]) {
      assert.ok(b.lo !== null);
      if (b.hi !== null) assert.ok(b.lo < b.hi);
    }
  }
});

test('a pass above hi moves hi up to the next failure above it (or none)', async () => {
  const dev = device(1e6, 0.003, 0.8);
  const states: SearchState[] = [];
  // the first paced trial (at ~0.98e6) loses 0.3 %: an NDR failure; the next one, higher,
  // loses nothing by luck: NDR lo jumps above that failure and its hi goes back to the MRR's
  const script = [0.003, 0];
  const r = await run(dev, {
    maxPps: 4e6,
    trial: async (pps) => dev.outcome(pps, script.shift() ?? dev.loss(pps)),
    onTrial: (_p, _t, s) => states.push(s),
  });
  const [first, second] = r.trials.map((t) => t.pps);
  assert.ok(second > first);
  assert.deepEqual([states[0].ndr.lo, states[0].ndr.hi], [null, first]);
  assert.deepEqual([states[1].ndr.lo, states[1].ndr.hi], [second, 4e6]);
  assert.equal(states[1].ndr.loTrial?.loss, 0);
  // the rest of the search keeps lo < hi and still finds the PDR
  assertFound(r.pdr, dev.pdr, 0.02, 'PDR');
  assert.ok(r.ndr.lo !== null && (r.ndr.hi === null || r.ndr.lo < r.ndr.hi));
});

test('a failure below lo takes lo back to the highest pass under it (here none)', async () => {
  const dev = device(1e6, 0.003, 0.8);
  const states: SearchState[] = [];
  // four trials settle PDR just above 1e6; the fifth, the first NDR step under it, loses 2 %
  const script: (number | undefined)[] = [undefined, undefined, undefined, undefined, 0.02];
  const r = await run(dev, {
    maxPps: 2e6,
    maxTrials: 5,
    trial: async (pps) => dev.outcome(pps, script.shift() ?? dev.loss(pps)),
    onTrial: (_p, _t, s) => states.push(s),
  });
  assert.equal(states.length, 5);
  const pdr4 = states[3].pdr;
  assert.ok(pdr4.lo !== null && pdr4.hi !== null && pdr4.hi / pdr4.lo - 1 <= 0.02 + 1e-9, 'PDR precise after 4 trials');
  const fifth = r.trials[4].pps;
  assert.ok(fifth < pdr4.lo);
  assert.deepEqual([states[4].pdr.lo, states[4].pdr.hi, states[4].pdr.loTrial], [null, fifth, undefined]);
});

test('a device that drops everything: lo null ("below minPps"), few trials, none below minPps', async () => {
  const dev = { ...device(1), outcome: (pps: number): TrialOutcome => ({ offeredPps: pps, receivedPps: 0, sent: pps, received: 0, loss: 1 }) };
  const r = await run(dev, { maxPps: 1e6 });
  assert.equal(r.ndr.lo, null);
  assert.equal(r.pdr.lo, null);
  assert.ok(r.trials.length <= 12);
  assert.ok(Math.min(...r.calls) >= 1e3, 'never below minPps = maxPps / 1000');
  assert.equal(r.pdr.hi, 1e3);
  const tight = await run(dev, { maxPps: 1e6, minPps: 4e5 });
  assert.ok(tight.trials.length <= 2, `${tight.trials.length} trials`);
  assert.equal(tight.ndr.lo, null);
});

test('MRR lost nothing: NDR = PDR = maxPps, no trial', async () => {
  const dev = device(10e6);
  const r = await run(dev, { maxPps: 2e6, trial: async () => { throw new Error('no trial expected'); } });
  assert.equal(r.ndr.lo, 2e6);
  assert.equal(r.pdr.lo, 2e6);
  assert.equal(r.trials.length, 0);
  assert.equal(r.ndr.loTrial?.offeredPps, 2e6);
});

test('MRR within the PDR loss: PDR = maxPps at once, only NDR is searched', async () => {
  const dev = device(1e6, 0.003, 0.5);
  const r = await run(dev, { maxPps: 0.95e6 });
  assert.equal(r.pdr.lo, 0.95e6);
  assert.ok(r.calls.every((p) => p < 0.95e6));
  assertFound(r.ndr, dev.ndr, 0.02, 'NDR');
});

test('monotone: a faster device never gets a lower NDR or PDR (beyond precision)', async () => {
  let prev: { ndr: number; pdr: number } | null = null;
  for (let c = 1e5; c <= 1e7; c *= 1.37) {
    const dev = device(c, 0.002);
    const r = await run(dev, { maxPps: 1.2e7 });
    const now = { ndr: r.ndr.lo ?? 0, pdr: r.pdr.lo ?? 0 };
    assert.ok(now.ndr <= now.pdr);
    if (prev) {
      assert.ok(now.ndr >= prev.ndr / 1.02, `NDR at ${c}`);
      assert.ok(now.pdr >= prev.pdr / 1.02, `PDR at ${c}`);
    }
    prev = now;
  }
});

test('onTrial sees every trial with the bounds after it', async () => {
  const dev = device(1e6, 0.003);
  const seen: { pps: number; trials: number }[] = [];
  const r = await run(dev, { maxPps: 2e6, onTrial: (pps, _t, s) => seen.push({ pps, trials: s.trials }) });
  assert.deepEqual(seen.map((s) => s.pps), r.trials.map((t) => t.pps));
  assert.deepEqual(seen.map((s) => s.trials), r.trials.map((_, i) => i + 1));
});

test('a generator that falls short of the target: bounds move to the rate really offered', async () => {
  // capacity 1000; above 700 the generator only manages 60 % of what it is asked for
  const dev = device(1000);
  const offered = (pps: number): number => (pps > 700 ? pps * 0.6 : pps);
  const seen: number[] = [];
  const r = await searchNdrPdr({
    maxPps: 1200, mrr: dev.outcome(1200), precision: 0.02, maxTrials: 12,
    trial: async (pps) => { const t = dev.outcome(offered(pps)); return t; },
    onTrial: (at) => { seen.push(at); },
  });
  assert.ok(r.ndr.lo !== null && r.ndr.lo <= 1000, `NDR ${r.ndr.lo} is a rate that was offered and passed`);
  assert.ok(r.ndr.loTrial && Math.abs(r.ndr.loTrial.offeredPps - r.ndr.lo) < 1e-6, 'lo is the trial\'s offered rate');
  assert.ok(seen.every((at, i) => at <= r.trials[i].pps), 'onTrial reports the rate really offered');
});
