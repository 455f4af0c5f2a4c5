// lease-store.ts — the DHCP leases of one network on disk, so that they survive a restart.
//
// File: `${dir}/leases-${network}.jsonl`, one JSON object per line: a header line
// {"format":"switchyard-leases","version":1,"network":...}, then one line per lease
// {"ip":"192.168.122.100","mac":"52:54:00:12:34:56","clientId":"01:52:54:00:12:34:56",
//  "hostname":"vm1","expiresAt":1700000000000,"state":"bound"}
// with expiresAt in epoch milliseconds (wall-clock time, the only clock that survives a
// restart). Only bound, static and declined entries are written; offers live 60 s.
//
// Crash safety: a write goes to a temporary file in the same directory, is fsync'ed, renamed
// over the live file, and the directory is fsync'ed. rename() is atomic, so after a crash the
// file is the old one or the new one, never a torn mix. Writes are debounced: at most one per
// `debounceMs` (200 ms), always of the latest snapshot; flush()/close() write what is pending.
//
// Loading reads what it can: a missing file is an empty table; a line cut short or corrupt
// (a file written by hand, a disk that lied about fsync) is skipped with a log line and the
// rest is loaded; entries already expired are dropped. load() never throws on file content.

import { readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type StoredLeaseState = 'bound' | 'static' | 'declined';

export interface StoredLease {
  ip: string;
  mac: string;
  clientId: string | null;
  hostname: string | null;
  /** epoch milliseconds */
  expiresAt: number;
  state: StoredLeaseState;
}

export interface LeaseStoreOptions {
  /** the state directory (created on the first write) */
  dir: string;
  network: string;
  /** least time between two writes, ms (default 200) */
  debounceMs?: number;
  log?: (m: string) => void;
}

const FORMAT = 'switchyard-leases';
const VERSION = 1;
const IP_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const HEX_RE = /^[0-9a-f]{2}(:[0-9a-f]{2})*$/;
const STATES: readonly string[] = ['bound', 'static', 'declined'];

export class LeaseStore {
  readonly path: string;
  readonly network: string;
  /** files written, write failures, lines skipped by the last load() */
  writes = 0;
  writeErrors = 0;
  skipped = 0;
  private readonly dir: string;
  private readonly debounceMs: number;
  private readonly log: (m: string) => void;
  private pending: StoredLease[] | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private writing: Promise<void> | null = null;
  private lastWrite = -Infinity;
  private seq = 0;
  private closed = false;

  constructor(opts: LeaseStoreOptions) {
    if (!/^[A-Za-z0-9_.-]+$/.test(opts.network) || opts.network.startsWith('.')) {
      throw new RangeError(`network name ${JSON.stringify(opts.network)} cannot name a lease file`);
    }
    this.dir = opts.dir;
    this.network = opts.network;
    this.path = join(opts.dir, `leases-${opts.network}.jsonl`);
    this.debounceMs = opts.debounceMs ?? 200;
    this.log = opts.log ?? (() => {});
  }

  /**
   * Read the file: every well-formed lease that has not expired at `nowEpochMs`. Skipped
   * lines are logged and counted in `skipped`. Leftover temporary files of a crashed write
   * are removed (meant for start-up: not while this store has a write pending).
   */
  load(nowEpochMs: number = Date.now()): StoredLease[] {
    this.skipped = 0;
    this.removeTemps();
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'ENOENT') this.log(`leases: cannot read ${this.path}: ${err.message}; starting with no leases`);
      return [];
    }
    const out: StoredLease[] = [];
    const lines = text.split('\n');
    let expired = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === '') continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        this.skip(i, i === lines.length - 1 ? 'cut short or not JSON' : 'not JSON');
        continue;
      }
      if (isHeader(v)) {
        if (v.version !== VERSION) this.log(`leases: ${this.path}: format version ${String(v.version)}, reading it as ${VERSION}`);
        continue;
      }
      const why = invalid(v);
      if (why !== null) { this.skip(i, why); continue; }
      const l = v as StoredLease;
      if (l.expiresAt <= nowEpochMs) { expired++; continue; }
      out.push({ ip: l.ip, mac: l.mac, clientId: l.clientId ?? null, hostname: l.hostname ?? null, expiresAt: l.expiresAt, state: l.state });
    }
    if (this.skipped > 0 || expired > 0) {
      this.log(`leases: ${this.path}: loaded ${out.length}, ${expired} expired, ${this.skipped} unreadable line(s) skipped`);
    }
    return out;
  }

  /** Write this snapshot soon (debounced). The array is read when the write starts. */
  save(leases: StoredLease[]): void {
    this.pending = leases;
    if (!this.closed) this.schedule();
  }

  /** Write what is pending now and wait for it (and for a write under way). */
  async flush(): Promise<void> {
    if (this.timer !== null) { clearTimeout(this.timer); this.timer = null; }
    while (this.writing !== null) await this.writing;
    if (this.pending !== null) await this.writeNow();
  }

  /** Flush, then stop: later save() calls are written only by another flush(). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /** The file's text for a snapshot. */
  serialize(leases: readonly StoredLease[]): string {
    let s = JSON.stringify({ format: FORMAT, version: VERSION, network: this.network }) + '\n';
    for (const l of leases) {
      s += JSON.stringify({
        ip: l.ip, mac: l.mac, clientId: l.clientId, hostname: l.hostname, expiresAt: l.expiresAt, state: l.state,
      }) + '\n';
    }
    return s;
  }

  private schedule(): void {
    if (this.timer !== null || this.writing !== null) return; // the running write reschedules
    const wait = Math.max(0, this.lastWrite + this.debounceMs - performance.now());
    this.timer = setTimeout(() => { this.timer = null; void this.writeNow(); }, wait);
    this.timer.unref?.();
  }

  private writeNow(): Promise<void> {
    const snap = this.pending;
    if (snap === null) return Promise.resolve();
    this.pending = null;
    this.lastWrite = performance.now();
    let failed = false;
    const p = this.atomicWrite(this.serialize(snap)).then(
      () => { this.writes++; },
      (e: Error) => {
        failed = true;
        this.writeErrors++;
        this.log(`leases: cannot write ${this.path}: ${e.message}`);
        if (this.pending === null) this.pending = snap; // retried by the next save() or flush()
      },
    ).finally(() => {
      this.writing = null;
      // After a failure, wait for the next save() rather than retrying (and logging) every 200 ms.
      if (this.pending !== null && !this.closed && !failed) this.schedule();
    });
    this.writing = p;
    return p;
  }

  private async atomicWrite(text: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.path}.${process.pid}.${++this.seq}.tmp`;
    try {
      const fh = await open(tmp, 'w', 0o644);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
    // Make the rename itself durable. Some file systems refuse fsync on a directory: not fatal.
    try {
      const dh = await open(dirname(this.path), 'r');
      try { await dh.sync(); } catch { /* ignore */ } finally { await dh.close(); }
    } catch { /* ignore */ }
  }

  private removeTemps(): void {
    if (this.writing !== null || this.timer !== null) return; // ours, under way
    const prefix = `${basename(this.path)}.`;
    let names: string[];
    try { names = readdirSync(this.dir); } catch { return; }
    for (const n of names) {
      if (n.startsWith(prefix) && n.endsWith('.tmp')) {
        try { unlinkSync(join(this.dir, n)); } catch { /* ignore */ }
      }
    }
  }

  private skip(i: number, why: string): void {
    this.skipped++;
    this.log(`leases: ${this.path}:${i + 1}: skipped (${why})`);
  }
}

function isHeader(v: unknown): v is { format: string; version: unknown } {
  return typeof v === 'object' && v !== null && (v as { format?: unknown }).format === FORMAT;
}

/** Why a parsed line is not a lease, or null. */
function invalid(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not an object';
  const o = v as Record<string, unknown>;
  if (typeof o.ip !== 'string' || !IP_RE.test(o.ip)) return 'bad ip';
  if (typeof o.mac !== 'string' || !MAC_RE.test(o.mac)) return 'bad mac';
  if (o.clientId != null && (typeof o.clientId !== 'string' || !HEX_RE.test(o.clientId))) return 'bad clientId';
  if (o.hostname != null && typeof o.hostname !== 'string') return 'bad hostname';
  if (typeof o.expiresAt !== 'number' || !Number.isFinite(o.expiresAt)) return 'bad expiresAt';
  if (typeof o.state !== 'string' || !STATES.includes(o.state)) return 'bad state';
  return null;
}
