// qemu.ts — boot a test guest (test/guest/build.ts) under QEMU with TCG on an existing TAP,
// collect what it prints on its serial console, and settle on SY-DONE, on QEMU's exit, or on
// a timeout (QEMU is then killed). Never throws for a guest that misbehaves: the result says
// what happened, with every console line, so a failed assertion can show them.
//
// The command line (the fast path: the PVH ELF kernel and qboot, no option ROM to run):
//
//   qemu-system-x86_64 -accel tcg -m 128 -nodefaults -no-user-config -display none \
//     -serial stdio -no-reboot -bios /usr/share/qemu/qboot.rom \
//     -kernel vmlinux -initrd initramfs.cpio.gz -append 'console=ttyS0 quiet panic=-1 sy.ip=...' \
//     -netdev tap,id=n0,ifname=TAP,script=no,downscript=no \
//     -device virtio-net-pci,netdev=n0,mac=52:54:00:..,romfile=
//
// -nodefaults: no VGA, no default NIC, no monitor on stdio, so stdout is the console alone.
// romfile= skips the iPXE ROM (2 s under TCG). The TAP must be free: a TAP's queue is one
// file descriptor, and TUNSETIFF on a TAP another process holds fails with EBUSY.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Guest } from './build.ts';

export interface GuestJob {
  ip?: string;          // CIDR for eth0
  dhcp?: boolean;       // or udhcpc
  gw?: string;
  ping?: string[];      // each pinged until the first reply, then `count` times
  count?: number;
  wait?: number;        // tries (1 s each) for the first reply
  wget?: string;
  linger?: number;      // seconds to stay up after the job, for a peer still pinging
}

export interface GuestOptions {
  guest: Guest;
  tap: string;
  mac: string;
  job: GuestJob;
  name?: string;
  memMb?: number;
  timeoutMs?: number;
  /** each console line as it arrives (with the guest's name) */
  onLine?: (line: string) => void;
  /** QEMU's tap script= / downscript= (default no: the TAP exists and is attached already) */
  script?: string;
  downscript?: string;
  /** extra environment for QEMU (and so for its scripts) */
  env?: Record<string, string>;
}

export interface SyResult { what: string; ok: boolean; words: string[]; kv: Record<string, string>; line: string }

export interface GuestRun {
  name: string;
  args: string[];
  done: boolean;          // SY-DONE seen
  timedOut: boolean;
  exit: { code: number | null; signal: string | null } | null;
  lines: string[];        // console lines, escape sequences removed
  stderr: string;
  results: SyResult[];
  /** host wall-clock ms from spawning QEMU to the guest's first echo reply (SY-FIRSTPING) */
  firstPingMs: number | null;
  /** the guest's uptime (s) at init start and at its first echo reply */
  guestBoot: number | null;
  guestFirstPing: number | null;
  totalMs: number;
}

export const QBOOT = '/usr/share/qemu/qboot.rom';

export function kernelArgs(job: GuestJob): string {
  const a = ['console=ttyS0', 'quiet', 'panic=-1'];
  if (job.ip) a.push(`sy.ip=${job.ip}`);
  if (job.dhcp) a.push('sy.dhcp=1');
  if (job.gw) a.push(`sy.gw=${job.gw}`);
  if (job.ping?.length) a.push(`sy.ping=${job.ping.join(',')}`);
  if (job.count) a.push(`sy.count=${job.count}`);
  if (job.wait) a.push(`sy.wait=${job.wait}`);
  if (job.wget) a.push(`sy.wget=${job.wget}`);
  if (job.linger) a.push(`sy.linger=${job.linger}`);
  for (const x of a) if (/\s|'/.test(x)) throw new Error(`kernel argument with a space or quote: ${x}`);
  return a.join(' ');
}

export function qemuArgs(o: GuestOptions): string[] {
  const pvh = o.guest.vmlinux !== null;
  return [
    '-accel', 'tcg', '-m', String(o.memMb ?? 128),
    '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-no-reboot',
    // qboot can only start a PVH kernel or a bzImage through linuxboot; SeaBIOS does both
    ...(pvh && existsSync(QBOOT) ? ['-bios', QBOOT] : []),
    '-kernel', o.guest.vmlinux ?? o.guest.kernel, '-initrd', o.guest.initrd,
    '-append', kernelArgs(o.job),
    '-netdev', `tap,id=n0,ifname=${o.tap},script=${o.script ?? 'no'},downscript=${o.downscript ?? 'no'}`,
    '-device', `virtio-net-pci,netdev=n0,mac=${o.mac},romfile=`,
  ];
}

export function parseResult(line: string): SyResult | null {
  const m = /SY-RESULT (\S+) (ok|fail)\b ?(.*)$/.exec(line);
  if (!m) return null;
  const words = m[3].split(/\s+/).filter(Boolean);
  const kv: Record<string, string> = {};
  for (const w of words) { const i = w.indexOf('='); if (i > 0) kv[w.slice(0, i)] = w.slice(i + 1); }
  return { what: m[1], ok: m[2] === 'ok', words, kv, line: line.slice(line.indexOf('SY-RESULT')) };
}

export interface RunningGuest { proc: ChildProcess; result: Promise<GuestRun>; kill(): void }

/** Start QEMU; `result` settles on SY-DONE (QEMU given 3 s to power off), on exit, or on timeout. */
export function startGuest(o: GuestOptions): RunningGuest {
  const name = o.name ?? o.tap;
  const args = qemuArgs(o);
  const t0 = Date.now();
  const proc = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
  const run: GuestRun = {
    name, args, done: false, timedOut: false, exit: null, lines: [], stderr: '', results: [],
    firstPingMs: null, guestBoot: null, guestFirstPing: null, totalMs: 0,
  };
  const kill = (): void => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); };
  const result = new Promise<GuestRun>((resolve) => {
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      run.totalMs = Date.now() - t0;
      resolve(run);
    };
    const timer = setTimeout(() => { run.timedOut = true; kill(); settle(); }, o.timeoutMs ?? 40_000);
    let buf = '';
    const onLine = (raw: string): void => {
      // eslint-disable-next-line no-control-regex
      const line = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc|\r/g, '');
      if (!line) return;
      run.lines.push(line);
      o.onLine?.(`${name}: ${line}`);
      let m: RegExpExecArray | null;
      if ((m = /SY-BOOT (\S+)/.exec(line))) run.guestBoot = Number(m[1]);
      if ((m = /SY-FIRSTPING \S+ (\S+)/.exec(line)) && run.firstPingMs === null) {
        run.firstPingMs = Date.now() - t0;
        run.guestFirstPing = Number(m[1]);
      }
      const r = parseResult(line);
      if (r) run.results.push(r);
      if (line.includes('SY-DONE')) {
        run.done = true;
        // poweroff -f ends QEMU (-no-reboot); don't wait on it for long
        const grace = setTimeout(() => { kill(); settle(); }, 3000);
        proc.once('exit', () => { clearTimeout(grace); });
      }
    };
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) { onLine(buf.slice(0, i)); buf = buf.slice(i + 1); }
    });
    proc.stderr!.on('data', (d: Buffer) => { run.stderr += d.toString(); });
    proc.on('error', (e) => { run.stderr += String(e); settle(); });
    proc.on('close', (code, signal) => {
      if (buf) onLine(buf);
      run.exit = { code, signal };
      settle();
    });
  });
  return { proc, result, kill };
}

/** The SY-RESULT of one kind (the first, or the one whose to= matches). */
export function resultOf(run: GuestRun, what: string, to?: string): SyResult | undefined {
  return run.results.find((r) => r.what === what && (to === undefined || r.kv.to === to));
}

/** Everything a failed assertion should show about a guest run. */
export function describe(run: GuestRun): string {
  return [
    `guest ${run.name}: done=${run.done} timedOut=${run.timedOut} exit=${JSON.stringify(run.exit)} ${run.totalMs} ms`,
    `qemu-system-x86_64 ${run.args.join(' ')}`,
    ...run.lines.map((l) => `  | ${l}`),
    run.stderr ? `stderr: ${run.stderr.trim()}` : '',
  ].filter(Boolean).join('\n');
}
