// bench/cli.ts — the `switchyard bench` command: flags → the devices and options of one run
// (harness.ts), a live progress line while it runs, then the table, the JSON and the SVG.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rateChart } from './chart.js';
import { parseFrameSizes } from './frames.js';
import { runBench, type BenchOptions } from './harness.js';
import { formatTable, validateBench } from './results.js';
import { kernelBridge, kernelRouter } from './devices/kernel.js';
import { forwarder, switchyard } from './devices/switchyard.js';
import { ovsDevice } from './devices/ovs.js';
import { vdeDevice } from './devices/vde.js';
import type { Device } from './types.js';

export const BENCH_USAGE = `usage: switchyard bench [options]

Measures packet rates through its own topology (generator namespace -> device -> sink
namespace, plus a monitor port): the maximum receive rate, NDR (0 % loss) and PDR
(<= 0.5 % loss) by binary search, latency at 10/50/90 % of PDR, and RFC 2889 MAC
learning for bridges, for every device and frame size, all in one run. Needs root.

  --quick               about a minute: 64-byte frames, short trials, latency at 50 % only
  --devices LIST        comma-separated (default: all that are installed):
                        {DEVICES}
  --sizes LIST          frame sizes on the wire: 64,128,256,512,1024,1280,1518,imix or all (default all)
  --flows N             UDP flows, 1..1000000: source address and port vary (default 16)
  --rate PPS            instead of MRR and the search, one trial per size at this rate
                        (frames/s offered, both directions together), with latency
  --trial SECONDS       length of each MRR / search trial (default 1; quick 0.5; RFC 2544 asks 60)
  --trials N            search trials per frame size (default 10; quick 4)
  --precision P         search until upper/lower - 1 <= P (default 0.02)
  --pdr-loss PCT        loss allowed at PDR, in % (default 0.5)
  --latency-loads LIST  % of PDR for latency trials (default 10,50,90; quick 50; none to skip)
  --latency-trial S     seconds per latency trial (default 1; quick 0.5)
  --bidirectional       traffic both ways at once (not through nat devices)
  --no-rfc2889          skip the MAC capacity / learning rate tests
  --mac-max N           largest MAC table tried by RFC 2889 (default 131072; quick 8192)
  --mac-trials N        trials per RFC 2889 search (default 12; quick 4)
  --ring FRAMES         switchyard's afpacket RX ring size (default: the switch's)
  --out DIR             where to write switchyard-bench-<time>.json and .svg (default .)
  --list                the devices and whether they can run here
  -v                    log every trial, not only the live line
`;

interface Io { stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown; isTTY?: boolean } }

const DEVICE_KEYS = ['kernel-bridge', 'kernel-bridge-napi', 'bridged', 'forwarder', 'kernel-router', 'kernel-router-napi', 'routed', 'nft-masq', 'nft-masq-napi', 'nat', 'ovs', 'ovs-afxdp', 'vde'];

function makeDevice(key: string, ring?: number): Device {
  switch (key) {
    case 'kernel-bridge': return kernelBridge();
    case 'kernel-bridge-napi': return kernelBridge(true);
    case 'kernel-router': return kernelRouter(false);
    case 'kernel-router-napi': return kernelRouter(false, true);
    case 'nft-masq': return kernelRouter(true);
    case 'nft-masq-napi': return kernelRouter(true, true);
    case 'bridged': case 'routed': case 'nat': return switchyard(key, ring ? { ring } : {});
    case 'forwarder': return forwarder();
    case 'ovs': return ovsDevice('afpacket');
    case 'ovs-afxdp': return ovsDevice('afxdp');
    case 'vde': return vdeDevice();
    default: throw new BenchUsageError(`unknown device ${JSON.stringify(key)} (one of ${DEVICE_KEYS.join(', ')})`);
  }
}

export class BenchUsageError extends Error {}

function intFlag(v: string | undefined, name: string, min: number, max: number): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min || n > max) throw new BenchUsageError(`${name} wants an integer ${min}..${max}, got ${JSON.stringify(v)}`);
  return n;
}

function numFlag(v: string | undefined, name: string, min: number, max: number): number {
  const n = Number(v);
  if (v === undefined || v === '' || !Number.isFinite(n) || n < min || n > max) throw new BenchUsageError(`${name} wants a number ${min}..${max}, got ${JSON.stringify(v)}`);
  return n;
}

export interface ParsedBench { opts: Omit<BenchOptions, 'progress' | 'log'>; out: string; list: boolean; verbose: boolean }

/** Flags → options (pure: no devices are started). Throws BenchUsageError. */
export function parseBenchArgs(args: string[]): ParsedBench {
  const quick = args.includes('--quick');
  let deviceKeys: string[] | null = null;
  let ring: number | undefined;
  const o: ParsedBench['opts'] = {
    devices: [], sizes: quick ? [64] : parseFrameSizes('all'), flows: 16,
    trialSeconds: quick ? 0.5 : 1, maxTrials: quick ? 4 : 10, precision: 0.02, pdrLoss: 0.005,
    latencyLoads: quick ? [50] : [10, 50, 90], latencySeconds: quick ? 0.5 : 1,
    bidirectional: false, rfc2889: true, macMax: quick ? 8192 : 131072, macTrials: quick ? 4 : 12,
  };
  let out = '.', list = false, verbose = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const val = (): string => {
      const v = args[++i];
      if (v === undefined) throw new BenchUsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--quick': break;
      case '--devices': deviceKeys = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--sizes':
        try { o.sizes = parseFrameSizes(val()); } catch (e) { throw new BenchUsageError(`--sizes: ${(e as Error).message}`); }
        break;
      case '--flows': o.flows = intFlag(val(), a, 1, 1_000_000); break;
      case '--trial': o.trialSeconds = numFlag(val(), a, 0.1, 600); break;
      case '--rate': o.fixedPps = numFlag(val(), a, 1, 100e6); break;
      case '--trials': o.maxTrials = intFlag(val(), a, 1, 100); break;
      case '--precision': o.precision = numFlag(val(), a, 0.001, 1); break;
      case '--pdr-loss': o.pdrLoss = numFlag(val(), a, 0.0001, 50) / 100; break;
      case '--latency-loads': {
        const v = val();
        o.latencyLoads = v === 'none' ? [] : v.split(',').map((s) => numFlag(s, a, 1, 100));
        break;
      }
      case '--latency-trial': o.latencySeconds = numFlag(val(), a, 0.1, 600); break;
      case '--bidirectional': o.bidirectional = true; break;
      case '--no-rfc2889': o.rfc2889 = false; break;
      case '--mac-max': o.macMax = intFlag(val(), a, 16, 16_777_216); break;
      case '--mac-trials': o.macTrials = intFlag(val(), a, 1, 100); break;
      case '--ring': ring = intFlag(val(), a, 64, 1 << 20); break;
      case '--out': out = val(); break;
      case '--list': list = true; break;
      case '-v': case '--verbose': verbose = true; break;
      default: throw new BenchUsageError(`unknown option ${JSON.stringify(a)}`);
    }
  }
  o.devices = (deviceKeys ?? DEVICE_KEYS).map((k) => makeDevice(k, ring));
  if (!o.devices.length) throw new BenchUsageError('--devices names no device');
  return { opts: o, out, list, verbose };
}

/** A line that rewrites itself on a terminal; elsewhere (CI logs) one line per update, at most every 5 s. */
function progressLine(err: Io['stderr'], t0: number): (line: string, final: boolean) => void {
  let last = 0;
  return (line, final) => {
    const secs = Math.round((Date.now() - t0) / 1000);
    const text = line ? `[${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}] ${line}` : '';
    if (err.isTTY) {
      err.write(`\r\x1b[K${final ? '' : text.slice(0, (process.stderr.columns || 120) - 1)}`);
    } else if (!final && Date.now() - last > 5000) {
      err.write(text + '\n');
      last = Date.now();
    }
  };
}

export async function cmdBench(args: string[], io: Io): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(BENCH_USAGE.replace('{DEVICES}', DEVICE_KEYS.join(',')));
    return 0;
  }
  let p: ParsedBench;
  try {
    p = parseBenchArgs(args);
  } catch (e) {
    if (e instanceof BenchUsageError) {
      io.stderr.write(`switchyard bench: ${e.message}\n\n${BENCH_USAGE.replace('{DEVICES}', DEVICE_KEYS.join(','))}`);
      return 2;
    }
    throw e;
  }
  if (p.list) {
    for (const d of p.opts.devices) {
      const why = await d.available();
      io.stdout.write(`${d.key.padEnd(18)} ${d.label.padEnd(46)} ${why ? `not available: ${why}` : 'available'}\n`);
    }
    return 0;
  }
  if (process.getuid?.() !== 0) {
    io.stderr.write('switchyard bench: needs root (it creates network namespaces)\n');
    return 1;
  }
  const t0 = Date.now();
  const progress = progressLine(io.stderr, t0);
  const log = (line: string): void => {
    if (!p.verbose && / RFC 2889 (capacity|learning rate): /.test(line)) return; // one line per probe: -v
    if (io.stderr.isTTY) progress('', true);
    io.stderr.write(line + '\n');
  };
  const bench = await runBench({ ...p.opts, verbose: p.verbose, progress, log });
  const problems = validateBench(bench);
  if (problems.length) io.stderr.write(`switchyard bench: the results do not validate (a bug): ${problems.join('; ')}\n`);
  io.stdout.write(formatTable(bench) + '\n');
  mkdirSync(p.out, { recursive: true });
  const stamp = bench.started_at.replace(/[:.]/g, '-');
  const jsonPath = join(p.out, `switchyard-bench-${stamp}.json`);
  const svgPath = join(p.out, `switchyard-bench-${stamp}.svg`);
  writeFileSync(jsonPath, JSON.stringify(bench, null, 1) + '\n');
  writeFileSync(svgPath, rateChart(bench, 'pdr'));
  io.stdout.write(`\nresults: ${jsonPath}\nchart:   ${svgPath}\n`);
  const measured = bench.devices.some((d) => d.results.some((r) => r.mrr && r.mrr.rx_packets > 0));
  return measured && !problems.length ? 0 : 1;
}
