// devices/daemon.ts — the daemons a third-party device under test runs (ovs-vswitchd,
// ovsdb-server, vde_switch): read their pidfiles and stop them for sure, a zombie counting as
// gone (PID 1 of a container may never reap a daemonised child).
import { readFileSync } from 'node:fs';
import { waitFor } from '../exec.js';

/** Is this pid a live process (not gone, not a zombie)? */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'; // "pid (comm) S ..."; a daemon's zombie may wait for a reaper
  } catch { return false; }
}

/**
 * Stop a process we started and wait until it is gone: SIGTERM (or nothing, if the caller has
 * already asked it to exit some other way), then SIGKILL after graceMs.
 */
export async function stopPid(pid: number, graceMs = 5000, term = true): Promise<void> {
  if (!pid || !alive(pid)) return;
  if (term) { try { process.kill(pid, 'SIGTERM'); } catch { return; } }
  try {
    await waitFor(`pid ${pid} to exit`, () => !alive(pid), graceMs, 50);
  } catch {
    try { process.kill(pid, 'SIGKILL'); } catch { return; }
    await waitFor(`pid ${pid} to die`, () => !alive(pid), 2000, 50);
  }
}

/** A pid from a pidfile, 0 if there is none (yet). */
export function pidFromFile(file: string): number {
  try { return Number(readFileSync(file, 'utf8').trim()) || 0; } catch { return 0; }
}
