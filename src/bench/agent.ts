// agent.ts — the harness's child processes: each speaks one JSON object per line on stdin
// and answers one per line on stdout (the traffic generators and sinks, inside their
// namespaces; a switchyard under test). Long-lived, so a search does not pay node's start-up
// on every trial, and each in a process of its own, so each gets a core of its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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

  constructor(name: string, proc: ChildProcess) {
    this.name = name;
    this.proc = proc;
    proc.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (!/^[{[]/.test(line)) continue; // not a reply (a node warning)
        if (this.waiter) { const w = this.waiter; this.waiter = null; w.resolve(line); } else this.queue.push(line);
      }
    });
    proc.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000); });
    proc.on('exit', (code, sig) => {
      this.exited = `exited (${sig ?? code})`;
      if (this.waiter) { const w = this.waiter; this.waiter = null; w.reject(this.failure(this.exited)); }
    });
    proc.stdin!.on('error', () => { /* the child died: the exit handler reports it */ });
  }

  get pid(): number { return this.proc.pid ?? 0; }

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
  async quit(cmd: unknown = { op: 'quit' }, timeoutMs = 5000): Promise<void> {
    if (this.exited) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    try { this.send(cmd); } catch { /* stdin already closed */ }
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    await done;
    clearTimeout(t);
  }
}

/**
 * Start one of this folder's scripts (`traffic-agent`, `dut-agent`...) as a child, inside ns if
 * given: compiled (dist/bench/X.js) or through tsx (src/bench/X.ts), as this module runs.
 */
export function startAgent(name: string, script: string, args: string[], ns?: string, track?: (c: ChildProcess) => void): Agent {
  const ts = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(`./${script}${ts ? '.ts' : '.js'}`, import.meta.url));
  const node = [process.execPath, ...(ts ? ['--import', 'tsx'] : []), file, ...args];
  const argv = ns ? ['ip', 'netns', 'exec', ns, ...node] : node;
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  track?.(proc);
  return new Agent(name, proc);
}

/** b - a, key by key (keys only in b count from 0); zero differences left out. */
export function diff(a: Counters, b: Counters): Counters {
  const out: Counters = {};
  for (const k of Object.keys(b)) if (b[k] - (a[k] ?? 0)) out[k] = b[k] - (a[k] ?? 0);
  return out;
}

/**
 * How long the event loop of this process was kept from turning (a long breath, a GC pause,
 * being descheduled) since the last call: start monitoring now, call the result to read and
 * reset. The switch under test reports it to explain RX ring overflows.
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
