// cpu.ts — where the CPU went during a trial, on a machine whose cores are shared: the
// device's processes, the generator, the sink, ksoftirqd (the kernel's deferred packet work)
// and everyone else. "Everyone else" above a threshold marks a trial as disturbed: the
// search does not let such a trial's loss move a bound.
import { readFileSync, readdirSync } from 'node:fs';

const TICK = 100; // USER_HZ

export interface CpuSnap { t: number; busy: number; ticks: Record<string, number>; ksoftirqd: number }

function procTicks(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch { return 0; }
}

/** Processes and kernel threads whose name (/proc/PID/comm) passes the test. */
export function pidsByName(test: (comm: string) => boolean): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try { if (test(readFileSync(`/proc/${pid}/comm`, 'utf8').trim())) out.push(Number(pid)); } catch { /* gone */ }
  }
  return out;
}

/** CPU time of all ksoftirqd threads: the packet work the kernel deferred out of the senders' calls. */
function ksoftirqdTicks(): number {
  return pidsByName((c) => c.startsWith('ksoftirqd')).reduce((n, pid) => n + procTicks(pid), 0);
}

/** A snapshot of CPU time: the machine, each named group of our processes, ksoftirqd. */
export function cpuSnapshot(groups: Record<string, number[]>): CpuSnap {
  const all = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = all[0] + all[1] + all[2] + all[5] + all[6] + (all[7] ?? 0);
  const ticks: Record<string, number> = { self: procTicks(process.pid) };
  for (const [k, pids] of Object.entries(groups)) ticks[k] = pids.reduce((s, p) => s + procTicks(p), 0);
  return { t: performance.now(), busy, ticks, ksoftirqd: ksoftirqdTicks() };
}

/** % of one CPU between two snapshots: each group, softirq (ksoftirqd), everyone else ("others"), the machine ("busy"). */
export function cpuUse(a: CpuSnap, b: CpuSnap): Record<string, number> {
  const secs = Math.max(1e-3, (b.t - a.t) / 1000);
  const pct = (t: number): number => Math.round((t / TICK / secs) * 100);
  const out: Record<string, number> = {};
  let ours = 0;
  for (const k of Object.keys(b.ticks)) {
    const d = Math.max(0, b.ticks[k] - (a.ticks[k] ?? b.ticks[k]));
    ours += d;
    if (k !== 'self') out[k] = pct(d);
  }
  const ks = Math.max(0, b.ksoftirqd - a.ksoftirqd);
  out.softirq = pct(ks);
  out.busy = pct(b.busy - a.busy);
  out.others = Math.max(0, pct(b.busy - a.busy - ours - ks));
  return out;
}

/**
 * Wait (at most maxMs) until processes other than ours and the groups' use at most pct % of
 * one CPU, sampling every 250 ms. Returns the last "others" figure.
 */
export async function waitQuiet(groups: Record<string, number[]>, pct: number, maxMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const a = cpuSnapshot(groups);
    await new Promise((r) => setTimeout(r, 250));
    const others = cpuUse(a, cpuSnapshot(groups)).others;
    if (others <= pct || Date.now() - t0 >= maxMs) return others;
  }
}
