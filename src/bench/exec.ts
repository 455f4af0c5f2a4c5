// exec.ts — running commands without blocking the event loop (a switch may run in this very
// process, or on the same core) and without ever throwing where the caller only wants to know:
// the status and both streams. The benchmark harness and the tests' namespace helpers use it.
import { execFile } from 'node:child_process';
import type { ExecResult } from './types.js';

export function exec(cmd: string, args: string[], timeoutMs = 30000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, out, errOut) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      const status = typeof code === 'number' ? code : err ? -1 : 0;
      resolve({ status, out: out ?? '', err: errOut ?? '' });
    });
  });
}

/** Like exec, but throws Error("<cmd args>: <stderr>") unless it exits 0. */
export async function execOk(cmd: string, args: string[], timeoutMs = 30000): Promise<string> {
  const r = await exec(cmd, args, timeoutMs);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.err || r.out).trim() || `exit ${r.status}`}`);
  return r.out;
}

/** Is this program on PATH? */
export async function have(program: string): Promise<boolean> {
  return (await exec('sh', ['-c', `command -v ${program}`])).status === 0;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll fn until it returns something truthy; throws "timed out waiting for <what>" after timeoutMs. */
export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10000, stepMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(stepMs);
  }
}
