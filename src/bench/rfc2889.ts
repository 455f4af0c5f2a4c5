// rfc2889.ts — RFC 2889's address caching capacity (5.7) and address learning rate (5.8) for
// devices that learn MAC addresses, with the three-port layout the RFC describes:
//
//   1. the generator's port sends learning frames from N source MACs (to the sink's MAC,
//      which the device already knows, so nothing is flooded while learning);
//   2. the sink's port sends one test frame to each of the N MACs;
//   3. the monitor port counts what reached it: a test frame there was flooded, i.e. its
//      address was not in the table. Pass = nothing reached the monitor and every test frame
//      reached the generator's port (a device that drops test frames does not pass).
//
// Capacity: the largest N that passes at a learning rate well below the device's limits
// (doubling from 1024, then bisecting, up to --mac-max). Learning rate: with N = the
// capacity found (at most 65536), the highest learning-frame rate that still passes.
// Every trial uses MAC addresses no earlier trial used (a fresh third byte), so what
// earlier trials left in a table can only make a least-recently-used table evict them, and
// a table that keeps old entries and refuses new ones shows a smaller capacity, as it should.
import type { Traffic } from './trial.js';
import type { Device } from './types.js';

export interface Rfc2889Result {
  /** learning_fps: the rate the learning and test frames were sent at; failed_at: the fewest addresses that failed */
  address_capacity?: { addresses: number; tested_max: number; trials: number; learning_fps: number; failed_at?: number };
  /** fps: the highest learning rate that passed, measured (frames / generator time); at_generator_limit:
   * it passed at the fastest rate the generator could offer, so the device's own limit is higher */
  learning_rate?: { fps: number; addresses: number; trials: number; at_generator_limit: boolean; below_fps?: number };
  error?: string;
}

export interface Rfc2889Options {
  macMax: number;
  /** learning frames per second for the capacity search */
  learnPps: number;
  maxTrials: number;
  onTrial?(what: string, n: number, pps: number, pass: boolean, probe: { flooded: number; forwarded: number; sent: number }): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let trialNo = 0;

/**
 * One learn-then-test trial: how many test frames were flooded to the monitor and how many
 * reached the generator's side, and the learning rate achieved. Test frames go at the same
 * (sustainable) rate as learning frames; both sinks listen for as long as the test takes plus
 * a grace period (the learning frames carry no stamp, so a sink cannot stop when idle).
 */
async function learnThenTest(t: Traffic, dev: Device, n: number, learnPps: number, testPps: number): Promise<Probe> {
  trialNo = (trialNo + 1) % 250;
  const base = `02:5b:${(trialNo + 1).toString(16).padStart(2, '0')}:00:00:01`;
  const sinkMac = dev.nextHopMac('forward');
  const l = await t.gen.ask<{ sent: number; ns: number }>({ op: 'learn', dstMac: sinkMac, srcMacs: n, srcBase: base, count: n, pps: learnPps }, 120000);
  await sleep(50); // the device's queues drain into its table
  const durationMs = Math.ceil((n / testPps) * 1000) + 400;
  for (const a of [t.mon, t.revSink]) a.send({ op: 'sink', durationMs, idleMs: 0, latency: false, napUs: 1000 });
  for (const a of [t.mon, t.revSink]) await a.next(10000);
  const s = await t.sink.ask<{ sent: number }>({ op: 'learn', dstMac: base, dstMacs: n, dstBase: base, count: n, pps: testPps }, 120000);
  const [mon, back] = await Promise.all([t.mon.next<{ frames: number }>(durationMs + 10000), t.revSink.next<{ frames: number }>(durationMs + 10000)]);
  return { flooded: mon.frames, forwarded: back.frames, sent: s.sent, pps: l.ns > 0 ? (l.sent / l.ns) * 1e9 : 0 };
}

interface Probe { flooded: number; forwarded: number; sent: number; pps: number }

/** Pass: every test frame reached the generator's side and none was flooded to the monitor. */
const passed = (p: Probe): boolean => p.flooded === 0 && p.forwarded >= p.sent;

export async function rfc2889(t: Traffic, dev: Device, o: Rfc2889Options): Promise<Rfc2889Result> {
  const out: Rfc2889Result = {};
  // capacity: double, then bisect between the largest pass and the smallest failure
  let lo = 0, hi = o.macMax + 1, n = Math.min(1024, o.macMax), trials = 0, learnPps = o.learnPps;
  while (trials < o.maxTrials && hi - lo > Math.max(1, lo / 64)) {
    let p = await learnThenTest(t, dev, n, learnPps, learnPps);
    trials++;
    o.onTrial?.('capacity', n, learnPps, passed(p), p);
    if (!passed(p) && learnPps > 5000 && trials < o.maxTrials) {
      // too fast for its learning, rather than too many? Capacity is measured below the
      // learning rate (RFC 2889 5.7), so try once at a quarter of the rate and keep it if so
      const slower = Math.max(5000, Math.round(learnPps / 4));
      const q = await learnThenTest(t, dev, n, slower, slower);
      trials++;
      o.onTrial?.('capacity', n, slower, passed(q), q);
      if (passed(q)) { learnPps = slower; p = q; }
    }
    const pass = passed(p);
    if (pass) lo = n; else hi = n;
    n = hi > o.macMax ? Math.min(o.macMax, lo * 2) : Math.floor((lo + hi) / 2);
    if (pass && lo === o.macMax) break;
  }
  out.address_capacity = { addresses: lo, tested_max: o.macMax, trials, learning_fps: learnPps, ...(hi <= o.macMax ? { failed_at: hi } : {}) };
  if (lo === 0) return out;
  // learning rate at the capacity (at most 65536 addresses): double the offered rate until a
  // failure or until the generator cannot offer more, then bisect to 10 %; never below
  // addrs / 10 s (a trial would take longer than that): then the rate is reported as below it
  const addrs = Math.min(lo, 65536);
  const minRate = Math.max(1000, addrs / 10);
  let rlo = 0, rhi = 0, rate = learnPps * 2, rtrials = 0, atLimit = false, below: number | undefined;
  while (rtrials < o.maxTrials) {
    if (rate < minRate) {
      if (rlo === 0) { rate = minRate; if (rhi && rhi <= minRate) { below = minRate; break; } } else break;
    }
    const r = await learnThenTest(t, dev, addrs, rate, learnPps);
    rtrials++;
    const pass = passed(r);
    o.onTrial?.('learning rate', addrs, r.pps, pass, r);
    if (pass) {
      rlo = Math.max(rlo, r.pps);
      if (r.pps < rate * 0.9) { atLimit = rhi === 0; break; } // the generator's own limit
    } else rhi = rhi ? Math.min(rhi, rate) : rate;
    if (rhi === 0) rate *= 2;
    else {
      if (rhi / Math.max(1, rlo) - 1 <= 0.1) break;
      rate = rlo ? Math.sqrt(rlo * rhi) : rhi / 4;
    }
  }
  out.learning_rate = { fps: Math.round(rlo), addresses: addrs, trials: rtrials, at_generator_limit: atLimit, ...(below ? { below_fps: Math.round(below) } : {}) };
  return out;
}
