// results.ts — what `switchyard bench` writes: the JSON document (field names after TRex's
// and MoonGen's, snake_case as TRex's per-trial rates are), its hand-written validator, the
// ratios against the reference devices, and the table printed at the end of a run.
import { table } from '../format.js';
import type { Align } from '../format.js';
import type { DeviceKind } from './types.js';

export const BENCH_SCHEMA = 'switchyard-bench/1';

export interface TrialJson {
  /** null = flat out */
  target_pps: number | null;
  tx_packets: number;
  rx_packets: number;
  tx_pps: number;
  rx_pps: number;
  tx_bps: number;
  rx_bps: number;
  tx_bps_l1: number;
  rx_bps_l1: number;
  loss_ratio: number;
  duration_s: number;
  disturbed?: boolean;
  /** % of one CPU: dut, gen, sink, softirq, others */
  cpu: Record<string, number>;
  drops?: Record<string, number>;
}

export interface LatencyJson {
  load_pct: number;
  target_pps: number;
  samples: number;
  min_ns: number;
  mean_ns: number;
  p50_ns: number;
  p90_ns: number;
  p99_ns: number;
  max_ns: number;
  reordered: number;
  rx_pps: number;
  loss_ratio: number;
}

export interface RateJson { pps: number; bps: number; bps_l1: number; trial: TrialJson }

export interface SizeResultJson {
  frame_size: number | 'imix';
  avg_frame_bytes: number;
  mrr: TrialJson | null;
  ndr: RateJson | null;
  pdr: RateJson | null;
  ndr_upper_pps?: number | null;
  pdr_upper_pps?: number | null;
  latency: LatencyJson[];
  trials: TrialJson[];
  /**
   * the flat-out trial lost nothing: NDR = PDR = MRR = the most the generator could offer, and
   * the device's own limit is higher (the kernel's devices forward inside the generator's
   * sendto(), so the generator slows down instead of anything being lost)
   */
  generator_limited?: boolean;
  /** --rate: the one trial at a fixed rate, instead of MRR and the search (latency load_pct 100: of that rate) */
  fixed?: { target_pps: number; trial: TrialJson; latency: LatencyJson };
  /** switchyard: wall ns per packet in each graph node during the MRR trial (port-output includes the kernel's transmit) */
  mrr_nodes?: { name: string; packets: number; vector_size: number; ns_per_packet: number }[];
  error?: string;
}

export interface DeviceJson {
  key: string;
  label: string;
  kind: DeviceKind;
  skipped?: string;
  error?: string;
  results: SizeResultJson[];
  rfc2889?: {
    address_capacity?: { addresses: number; tested_max: number; trials: number; learning_fps?: number; failed_at?: number };
    /** at_generator_limit: it passed at the fastest rate the generator could offer */
    /** below_fps: it failed even at this rate (the search stops there: a trial would take over 10 s) */
    learning_rate?: { fps: number; addresses: number; trials: number; at_generator_limit?: boolean; below_fps?: number };
    error?: string;
  };
  details?: unknown;
  cpu_ns_per_packet?: number;
}

export interface RatioRow { device: string; frame_size: number | 'imix'; ndr_ratio: number | null; pdr_ratio: number | null; mrr_ratio: number | null }
export interface RatiosJson { reference: string; rows: RatioRow[] }

export interface BenchJson {
  schema: typeof BENCH_SCHEMA;
  /** ISO 8601 */
  started_at: string;
  duration_s: number;
  host: { kernel: string; cpus: number; cpu_model: string; node: string };
  options: Record<string, unknown>;
  devices: DeviceJson[];
  ratios: RatiosJson[];
}

// ---- validation ----

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Collects problems as "path: what is wrong". */
class Checker {
  readonly problems: string[] = [];
  bad(path: string, what: string): void { this.problems.push(`${path}: ${what}`); }

  obj(v: unknown, path: string): Obj | null {
    if (isObj(v)) return v;
    this.bad(path, 'must be an object');
    return null;
  }
  arr(o: Obj, k: string, path: string): unknown[] {
    const v = o[k];
    if (Array.isArray(v)) return v;
    this.bad(`${path}.${k}`, 'must be an array');
    return [];
  }
  str(o: Obj, k: string, path: string, optional = false): void {
    if (optional && o[k] === undefined) return;
    if (typeof o[k] !== 'string') this.bad(`${path}.${k}`, 'must be a string');
  }
  /** a finite number >= 0 (and <= max), or null where nullable */
  num(o: Obj, k: string, path: string, f: { nullable?: boolean; optional?: boolean; max?: number } = {}): void {
    const v = o[k];
    if ((f.optional && v === undefined) || (f.nullable && v === null)) return;
    if (!isNum(v) || v < 0) this.bad(`${path}.${k}`, `must be a number >= 0${f.nullable ? ' or null' : ''}`);
    else if (f.max !== undefined && v > f.max) this.bad(`${path}.${k}`, `must be in [0, ${f.max}]`);
  }
  numbers(o: Obj, keys: readonly string[], path: string): void { for (const k of keys) this.num(o, k, path); }
  record(o: Obj, k: string, path: string, optional = false): void {
    const v = o[k];
    if (optional && v === undefined) return;
    if (!isObj(v) || !Object.values(v).every(isNum)) this.bad(`${path}.${k}`, 'must be an object of numbers');
  }
  frameSize(o: Obj, path: string): void {
    const v = o.frame_size;
    if (v !== 'imix' && !(Number.isInteger(v) && (v as number) > 0)) this.bad(`${path}.frame_size`, 'must be a positive integer or "imix"');
  }
}

const TRIAL_NUMBERS = ['tx_packets', 'rx_packets', 'tx_pps', 'rx_pps', 'tx_bps', 'rx_bps', 'tx_bps_l1', 'rx_bps_l1', 'duration_s'] as const;
const LATENCY_ORDER = ['min_ns', 'p50_ns', 'p90_ns', 'p99_ns', 'max_ns'] as const;

function checkTrial(c: Checker, v: unknown, path: string): void {
  const t = c.obj(v, path);
  if (!t) return;
  c.num(t, 'target_pps', path, { nullable: true });
  c.numbers(t, TRIAL_NUMBERS, path);
  c.num(t, 'loss_ratio', path, { max: 1 });
  if (t.disturbed !== undefined && typeof t.disturbed !== 'boolean') c.bad(`${path}.disturbed`, 'must be a boolean');
  c.record(t, 'cpu', path);
  c.record(t, 'drops', path, true);
}

function checkLatency(c: Checker, v: unknown, path: string): void {
  const l = c.obj(v, path);
  if (!l) return;
  c.numbers(l, ['load_pct', 'target_pps', 'samples', 'mean_ns', ...LATENCY_ORDER, 'reordered', 'rx_pps'], path);
  c.num(l, 'loss_ratio', path, { max: 1 });
  const vals = LATENCY_ORDER.map((k) => l[k]);
  if (vals.every(isNum) && (l.samples as number) > 0) {
    for (let i = 1; i < vals.length; i++) {
      if ((vals[i] as number) < (vals[i - 1] as number)) c.bad(`${path}.${LATENCY_ORDER[i]}`, `below ${LATENCY_ORDER[i - 1]}`);
    }
  }
}

function checkRate(c: Checker, o: Obj, k: 'ndr' | 'pdr', path: string): number | null {
  const v = o[k];
  if (v === null) return null;
  const r = c.obj(v, `${path}.${k}`);
  if (!r) return null;
  c.numbers(r, ['pps', 'bps', 'bps_l1'], `${path}.${k}`);
  checkTrial(c, r.trial, `${path}.${k}.trial`);
  return isNum(r.pps) ? r.pps : null;
}

function checkSize(c: Checker, v: unknown, path: string): void {
  const s = c.obj(v, path);
  if (!s) return;
  c.frameSize(s, path);
  if (!isNum(s.avg_frame_bytes) || s.avg_frame_bytes <= 0) c.bad(`${path}.avg_frame_bytes`, 'must be a number > 0');
  if (s.mrr !== null) checkTrial(c, s.mrr, `${path}.mrr`);
  const ndr = checkRate(c, s, 'ndr', path);
  const pdr = checkRate(c, s, 'pdr', path);
  if (ndr !== null && pdr !== null && ndr > pdr * (1 + 1e-9)) c.bad(`${path}.ndr.pps`, `NDR ${ndr} above PDR ${pdr}`);
  c.num(s, 'ndr_upper_pps', path, { nullable: true, optional: true });
  c.num(s, 'pdr_upper_pps', path, { nullable: true, optional: true });
  c.arr(s, 'latency', path).forEach((l, i) => checkLatency(c, l, `${path}.latency[${i}]`));
  c.arr(s, 'trials', path).forEach((t, i) => checkTrial(c, t, `${path}.trials[${i}]`));
  if (s.fixed !== undefined) {
    const f = c.obj(s.fixed, `${path}.fixed`);
    if (f) {
      if (!isNum(f.target_pps) || f.target_pps <= 0) c.bad(`${path}.fixed.target_pps`, 'must be a number > 0');
      checkTrial(c, f.trial, `${path}.fixed.trial`);
      checkLatency(c, f.latency, `${path}.fixed.latency`);
    }
  }
  c.str(s, 'error', path, true);
}

function checkDevice(c: Checker, v: unknown, path: string): void {
  const d = c.obj(v, path);
  if (!d) return;
  c.str(d, 'key', path);
  c.str(d, 'label', path);
  if (d.kind !== 'bridge' && d.kind !== 'router' && d.kind !== 'nat' && d.kind !== 'wire') c.bad(`${path}.kind`, 'must be "bridge", "router", "nat" or "wire"');
  c.str(d, 'skipped', path, true);
  c.str(d, 'error', path, true);
  c.arr(d, 'results', path).forEach((s, i) => checkSize(c, s, `${path}.results[${i}]`));
  c.num(d, 'cpu_ns_per_packet', path, { optional: true });
  if (d.rfc2889 === undefined) return;
  const r = c.obj(d.rfc2889, `${path}.rfc2889`);
  const parts = [['address_capacity', ['addresses', 'tested_max', 'trials']], ['learning_rate', ['fps', 'addresses', 'trials']]] as const;
  for (const [k, keys] of parts) {
    if (!r || r[k] === undefined) continue;
    const p = c.obj(r[k], `${path}.rfc2889.${k}`);
    if (p) c.numbers(p, keys, `${path}.rfc2889.${k}`);
  }
}

function checkRatios(c: Checker, v: unknown, path: string): void {
  const r = c.obj(v, path);
  if (!r) return;
  c.str(r, 'reference', path);
  c.arr(r, 'rows', path).forEach((x, i) => {
    const row = c.obj(x, `${path}.rows[${i}]`);
    if (!row) return;
    c.str(row, 'device', `${path}.rows[${i}]`);
    c.frameSize(row, `${path}.rows[${i}]`);
    for (const k of ['ndr_ratio', 'pdr_ratio', 'mrr_ratio']) c.num(row, k, `${path}.rows[${i}]`, { nullable: true });
  });
}

/** Everything wrong with a bench document, as "path: problem" lines; empty when it is valid. */
export function validateBench(o: unknown): string[] {
  const c = new Checker();
  const b = c.obj(o, '$');
  if (!b) return c.problems;
  if (b.schema !== BENCH_SCHEMA) c.bad('$.schema', `must be "${BENCH_SCHEMA}"`);
  if (typeof b.started_at !== 'string' || Number.isNaN(Date.parse(b.started_at))) c.bad('$.started_at', 'must be an ISO 8601 time');
  c.num(b, 'duration_s', '$');
  const h = c.obj(b.host, '$.host');
  if (h) {
    for (const k of ['kernel', 'cpu_model', 'node']) c.str(h, k, '$.host');
    if (!Number.isInteger(h.cpus) || (h.cpus as number) < 1) c.bad('$.host.cpus', 'must be an integer >= 1');
  }
  c.obj(b.options, '$.options');
  c.arr(b, 'devices', '$').forEach((d, i) => checkDevice(c, d, `$.devices[${i}]`));
  c.arr(b, 'ratios', '$').forEach((r, i) => checkRatios(c, r, `$.ratios[${i}]`));
  return c.problems;
}

// ---- ratios ----

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a == null || b == null || !(b > 0) ? null : a / b;

/** Every other device's NDR, PDR and MRR over the reference's, size by size (sizes the reference has). */
export function computeRatios(devices: readonly DeviceJson[], referenceKey: string): RatiosJson {
  const ref = devices.find((d) => d.key === referenceKey && !d.skipped);
  const rows: RatioRow[] = [];
  if (!ref) return { reference: referenceKey, rows };
  for (const d of devices) {
    if (d === ref || d.skipped) continue;
    for (const r of d.results) {
      const base = ref.results.find((x) => x.frame_size === r.frame_size);
      if (!base) continue;
      rows.push({
        device: d.key,
        frame_size: r.frame_size,
        ndr_ratio: ratio(r.ndr?.pps, base.ndr?.pps),
        pdr_ratio: ratio(r.pdr?.pps, base.pdr?.pps),
        mrr_ratio: ratio(r.mrr?.rx_pps, base.mrr?.rx_pps),
      });
    }
  }
  return { reference: referenceKey, rows };
}

// ---- the end-of-run table ----

const mpps = (pps: number | null | undefined): string => (pps == null ? '-' : (pps / 1e6).toFixed(3));
const fixed = (v: number | null | undefined, digits: number, unit = ''): string => (v == null ? '-' : v.toFixed(digits) + unit);

/** The latency measured nearest to 50 % of PDR (or whatever load there is). */
function latencyAt50(r: SizeResultJson): LatencyJson | undefined {
  return [...r.latency].sort((a, b) => Math.abs(a.load_pct - 50) - Math.abs(b.load_pct - 50))[0];
}

function latencyCell(r: SizeResultJson): string {
  const l = r.fixed ? r.fixed.latency : latencyAt50(r);
  if (!l || l.samples === 0) return '-';
  return `${(l.p50_ns / 1e3).toFixed(1)}/${(l.p99_ns / 1e3).toFixed(1)} @${Math.round(l.load_pct)}%`;
}

/** The device's and the kernel's share of the CPU during the PDR trial (else the flat-out one). */
function cpuCell(r: SizeResultJson): string {
  const cpu = (r.fixed?.trial ?? r.pdr?.trial ?? r.mrr)?.cpu;
  if (!cpu) return '-';
  return `dut ${Math.round(cpu.dut ?? 0)} gen ${Math.round(cpu.gen ?? 0)} si ${Math.round(cpu.softirq ?? 0)}`;
}

/** One table for people: a row per device and frame size; skipped and failed devices below it. */
export function formatTable(b: BenchJson): string {
  const refs = b.ratios.map((r) => r.reference);
  const header = ['Device', 'Size', 'NDR Mpps', 'PDR Mpps', 'MRR Mpps', 'NDR Gb/s L1', 'Lat p50/p99 µs', 'CPU %', ...refs.map((k) => `PDR/${k}`)];
  const align: Align[] = ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'left', ...refs.map((): Align => 'right')];
  const rows: string[][] = [];
  const notes: string[] = [];
  let limited = false;
  for (const d of b.devices) {
    if (d.skipped) { notes.push(`${d.label} (${d.key}): skipped: ${d.skipped}`); continue; }
    const cap = d.rfc2889?.address_capacity, lr = d.rfc2889?.learning_rate;
    if (cap) {
      notes.push(`${d.label}: RFC 2889 address caching capacity ${cap.addresses}${cap.addresses >= cap.tested_max ? ' (all tried)' : cap.failed_at ? ` (${cap.failed_at} failed)` : ''}`
        + (lr ? `, learning rate ${lr.below_fps ? `< ${Math.round(lr.below_fps).toLocaleString('en-US')}` : `${lr.at_generator_limit ? '≥ ' : ''}${Math.round(lr.fps).toLocaleString('en-US')}`} addresses/s (${lr.addresses} addresses)` : ''));
    }
    if (d.error) notes.push(`${d.label} (${d.key}): error: ${d.error}`);
    for (const r of d.results) {
      if (r.error) notes.push(`${d.label} (${d.key}) ${r.frame_size}: error: ${r.error}`);
      if (r.fixed) {
        const t = r.fixed.trial;
        notes.push(`${d.label} ${r.frame_size}: at a fixed ${mpps(r.fixed.target_pps)} Mpps: offered ${mpps(t.tx_pps)}, received ${mpps(t.rx_pps)} Mpps, loss ${(t.loss_ratio * 100).toFixed(3)} %`);
      }
      const ratios = b.ratios.map((x) => {
        const row = x.rows.find((y) => y.device === d.key && y.frame_size === r.frame_size);
        return x.reference === d.key ? '1.00x' : fixed(row?.pdr_ratio, 2, 'x');
      });
      const ge = r.generator_limited ? '≥' : '';
      if (r.generator_limited) limited = true;
      rows.push([
        d.label, String(r.frame_size), ge + mpps(r.ndr?.pps), ge + mpps(r.pdr?.pps), ge + mpps(r.mrr?.rx_pps),
        fixed(r.ndr ? r.ndr.bps_l1 / 1e9 : null, 2), latencyCell(r), cpuCell(r), ...ratios,
      ]);
    }
  }
  if (limited) notes.unshift('≥: nothing was lost flat out: the figure is what the generator could offer (through veths the kernel pushes back on the sender instead of dropping: it forwards inside the sender\'s own send call, or, with threaded NAPI, a full veth queue refuses the frame)');
  notes.unshift('CPU %: of one core during the PDR trial: the device\'s processes, the generator (the kernel forwards inside its sends), softirq');
  return table(header, rows, align) + notes.map((n) => `${n}\n`).join('');
}
