// agent.ts — pieces shared by the through-the-kernel benchmarks (kernel.ts, kernel-l3.ts):
// a child process that speaks one JSON object per line on stdin/stdout (the generator, the
// sink, a switch under test), counter arithmetic, and the kernel's softnet drop counter.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export type Counters = Record<string, number>;

export class Agent {
  readonly name: string;
  readonly proc: ChildProcess;
  private buf = '';
  private readonly queue: string[] = [];
  private waiter: { resolve: (l: string) => void; reject: (e: Error) => void } | null = null;
  private stderr = '';
  private exited: string | null = null;
  /** stdout lines that are not replies (a node flag's diagnostics) */
  readonly other: string[] = [];

  constructor(name: string, proc: ChildProcess) {
    this.name = name;
    this.proc = proc;
    proc.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (!/^({|\[{|\[\])/.test(line)) { this.other.push(line); continue; } // e.g. --trace-gc output
        if (this.waiter) { const w = this.waiter; this.waiter = null; w.resolve(line); } else this.queue.push(line);
      }
    });
    proc.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000); });
    proc.on('exit', (code, sig) => {
      this.exited = `exited (${sig ?? code})`;
      if (this.waiter) { const w = this.waiter; this.waiter = null; w.reject(this.failure(this.exited)); }
    });
  }

  private failure(what: string): Error {
    return new Error(`${this.name}: ${what}${this.stderr ? `; stderr: ${this.stderr.trim()}` : ''}`);
  }

  send(cmd: unknown): void { this.proc.stdin!.write((typeof cmd === 'string' ? cmd : JSON.stringify(cmd)) + '\n'); }

  next<T>(timeoutMs: number): Promise<T> {
    const parse = (line: string): T => {
      const o = JSON.parse(line) as T & { error?: string };
      if (o && typeof o === 'object' && typeof o.error === 'string') throw this.failure(o.error);
      return o;
    };
    if (this.queue.length) return Promise.resolve().then(() => parse(this.queue.shift()!));
    if (this.exited) return Promise.reject(this.failure(this.exited));
    return new Promise<T>((res, rej) => {
      const timer = setTimeout(() => { this.waiter = null; rej(this.failure(`no reply within ${timeoutMs} ms`)); }, timeoutMs);
      this.waiter = {
        resolve: (l) => { clearTimeout(timer); try { res(parse(l)); } catch (e) { rej(e as Error); } },
        reject: (e) => { clearTimeout(timer); rej(e); },
      };
    });
  }

  ask<T>(cmd: unknown, timeoutMs = 10000): Promise<T> { this.send(cmd); return this.next<T>(timeoutMs); }

  /** Ask it to quit; SIGKILL if it has not exited within timeoutMs. */
  async quit(cmd: unknown = 'quit', timeoutMs = 5000): Promise<void> {
    if (this.exited) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    try { this.send(cmd); } catch { /* stdin already closed */ }
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    await done;
    clearTimeout(t);
  }
}

/** b - a, key by key. */
export function diff(a: Counters, b: Counters): Counters {
  const out: Counters = {};
  for (const k of Object.keys(b)) if (b[k] - (a[k] ?? 0)) out[k] = b[k] - (a[k] ?? 0);
  return out;
}

/** Frames the kernel dropped in its backlog (all CPUs), from /proc/net/softnet_stat. */
export function softnetDrops(): number {
  let n = 0;
  for (const line of readFileSync('/proc/net/softnet_stat', 'utf8').trim().split('\n')) n += parseInt(line.split(/\s+/)[1], 16);
  return n;
}

/**
 * How long the event loop of this process was kept from turning (a long breath, a GC pause,
 * being descheduled) since the last call: start monitoring now, call the result to read and
 * reset. Used by the devices under test to explain RX ring overflows.
 */
export function loopDelayMonitor(): () => { maxMs: number; p99Ms: number; meanMs: number } {
  const loop = monitorEventLoopDelay({ resolution: 2 });
  loop.enable();
  return () => {
    const r = { maxMs: loop.max / 1e6, p99Ms: loop.percentile(99) / 1e6, meanMs: loop.mean / 1e6 };
    loop.reset();
    return r;
  };
}

/** What the no-drop search needs of a trial. */
export interface SearchTrial { offeredMpps: number; deliveredMpps: number; loss: number; disturbed?: boolean }

/**
 * The highest offered rate with loss under lossOk: from `start` × the flat-out delivered rate,
 * `steps` paced trials. Before the first pass a failure steps down by `stepDown` (or, without
 * it, bisects towards 0); after it, bisection between the highest pass and the lowest failure.
 * A loss in a trial another process disturbed moves no bound. `max` that lost nothing is the
 * answer at once (the generator, not the device, was the limit).
 */
export async function searchNoDrop<T extends SearchTrial>(max: T, o: {
  steps: number; start: number; stepDown?: number; lossOk: number;
  run: (pps: number) => Promise<T>; show: (t: T) => void;
}): Promise<{ noDrop: T | null; search: T[] }> {
  const search: T[] = [];
  if (max.loss < o.lossOk) return { noDrop: max, search };
  let noDrop: T | null = null;
  let lo = 0, hi = max.offeredMpps;
  let probe = Math.min(hi, max.deliveredMpps * o.start);
  for (let i = 0; i < o.steps; i++) {
    const tr = await o.run(probe * 1e6);
    search.push(tr);
    o.show(tr);
    if (tr.loss < o.lossOk) {
      if (!noDrop || tr.offeredMpps > noDrop.offeredMpps) noDrop = tr;
      lo = probe;
    } else if (!tr.disturbed) {
      hi = probe;
    } // a loss during someone else's burst of work says nothing about the device: bounds stay
    if (noDrop || o.stepDown === undefined) probe = (lo + hi) / 2;
    else if (!tr.disturbed) probe *= o.stepDown;
  }
  return { noDrop, search };
}
