// harness.ts — `switchyard bench`: builds its own topology (gen → DUT → sink, plus a monitor
// port), then for every device under test and every frame size runs, in one run and on one
// topology:
//
//   1. learning / warm-up: bridges hear every endpoint first; every flow is sent once at a
//      modest rate (a NAT creates its conntrack entries here, not during the measurement);
//   2. the maximum receive rate (MRR): the generator as fast as it can for one trial;
//   3. NDR (0 % loss) and PDR (≤ 0.5 % loss) by one binary search (search.ts) of paced
//      trials, each trial deciding for both;
//   4. latency at 10, 50 and 90 % of the PDR (stamped frames, percentiles from the sink's
//      histogram);
//   5. for learning bridges, RFC 2889 address caching capacity and learning rate.
//
// Then ratios to the kernel bridge and to the minimal forwarder, a table, the JSON (TRex /
// MoonGen-like field names) and an SVG chart of rate against frame size per device.
// Everything it creates carries a prefix unique to the run and is removed in finally (and on
// SIGINT / SIGTERM).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { startAgent, type Agent } from './agent.js';
import { exec, execOk, sleep } from './exec.js';
import { imixAverageBytes, l1Bits, wireBits, type FrameSize } from './frames.js';
import { summarize } from './histogram.js';
import { computeRatios, type BenchJson, type DeviceJson, type LatencyJson, type SizeResultJson, type TrialJson } from './results.js';
import { rfc2889 } from './rfc2889.js';
import { searchNdrPdr } from './search.js';
import { BenchNet } from './topology.js';
import { DISTURBED_PCT, runTrial, type TrialResult, type Traffic } from './trial.js';
import { waitQuiet } from './cpu.js';
import type { Device, DeviceEnv } from './types.js';

export interface BenchOptions {
  devices: Device[];
  sizes: FrameSize[];
  flows: number;
  /** seconds per trial (MRR and search) */
  trialSeconds: number;
  /** search trials per frame size */
  maxTrials: number;
  precision: number;
  pdrLoss: number;
  /** one trial per size at this rate (pps, both directions together), no MRR and no search */
  fixedPps?: number;
  /** % of PDR at which latency is measured */
  latencyLoads: number[];
  latencySeconds: number;
  bidirectional: boolean;
  /** RFC 2889 tests on learning bridges */
  rfc2889: boolean;
  macMax: number;
  macTrials: number;
  /** log every search trial */
  verbose?: boolean;
  /** live progress line (a TTY) or one line per trial */
  progress: (line: string, final: boolean) => void;
  log: (line: string) => void;
}

const mpps = (pps: number | null | undefined): string => (pps == null ? '-' : (pps / 1e6).toFixed(3));

function trialJson(t: TrialResult): TrialJson {
  return {
    target_pps: t.targetPps,
    tx_packets: t.sent, rx_packets: t.received,
    tx_pps: Math.round(t.offeredPps), rx_pps: Math.round(t.receivedPps),
    tx_bps: Math.round(t.txBps), rx_bps: Math.round(t.rxBps),
    tx_bps_l1: Math.round(t.txBpsL1), rx_bps_l1: Math.round(t.rxBpsL1),
    loss_ratio: t.loss, duration_s: Number(t.seconds.toFixed(4)),
    ...(t.disturbed ? { disturbed: true } : {}),
    cpu: t.cpu,
    ...(Object.keys(t.drops).length ? { drops: t.drops } : {}),
  };
}

function rateJson(t: TrialResult | undefined, avg: number): SizeResultJson['ndr'] {
  if (!t) return null;
  return { pps: Math.round(t.offeredPps), bps: Math.round(wireBits(t.offeredPps, avg)), bps_l1: Math.round(l1Bits(t.offeredPps, avg)), trial: trialJson(t) };
}

function latencyJson(load: number, t: TrialResult): LatencyJson {
  const l = t.latency;
  const hist = new Float64Array(608);
  for (const [i, n] of l?.hist ?? []) hist[i] += n;
  const s = l && l.count > 0 ? summarize(hist, { minNs: l.minNs, maxNs: l.maxNs, count: l.count, sumNs: l.sumNs }) : null;
  return {
    load_pct: load, target_pps: Math.round(t.targetPps ?? 0), samples: s?.samples ?? 0,
    min_ns: s?.minNs ?? 0, mean_ns: Math.round(s?.meanNs ?? 0), p50_ns: s?.p50Ns ?? 0, p90_ns: s?.p90Ns ?? 0,
    p99_ns: s?.p99Ns ?? 0, max_ns: s?.maxNs ?? 0, reordered: t.reordered, rx_pps: Math.round(t.receivedPps), loss_ratio: t.loss,
  };
}

/** The traffic agents, in their namespaces. */
async function startTraffic(net: BenchNet, bidirectional: boolean, track: (c: ChildProcess) => void): Promise<Traffic> {
  const mk = (name: string, ns: string, role: 'gen' | 'sink'): Agent => startAgent(name, 'traffic-agent', ['eth0', role], ns, track);
  const t: Traffic = {
    gen: mk('generator', net.gen.ns, 'gen'),
    sink: mk('sink', net.sink.ns, 'sink'),
    mon: mk('monitor', net.mon.ns, 'sink'),
    // the gen side's sink: the reverse direction's, and RFC 2889's count of forwarded test frames
    revSink: mk('reverse sink', net.gen.ns, 'sink'),
    ...(bidirectional ? { revGen: mk('reverse generator', net.sink.ns, 'gen') } : {}),
  };
  for (const a of [t.gen, t.sink, t.mon, t.revGen, t.revSink]) if (a) await a.next(30000); // ready
  return t;
}

async function stopTraffic(t: Traffic | null): Promise<void> {
  if (!t) return;
  await Promise.all([t.gen, t.sink, t.mon, t.revGen, t.revSink].map((a) => a?.quit()));
}

/** Bridges hear every endpoint before anything is measured (RFC 2544 26: learning frames first). */
async function learn(t: Traffic, net: BenchNet): Promise<void> {
  await t.sink.ask({ op: 'learn', dstMac: net.gen.mac, count: 8, pps: 10000 });
  await t.gen.ask({ op: 'learn', dstMac: net.sink.mac, count: 8, pps: 10000 });
  await sleep(50);
}

async function measureSize(t: Traffic, dev: Device, net: BenchNet, size: FrameSize, o: BenchOptions, tag: string): Promise<SizeResultJson> {
  const verbose = o.verbose === true;
  const avg = size === 'imix' ? imixAverageBytes() : size;
  const res: SizeResultJson = { frame_size: size, avg_frame_bytes: Number(avg.toFixed(2)), mrr: null, ndr: null, pdr: null, latency: [], trials: [] };
  const spec = { size, flows: o.flows, bidirectional: o.bidirectional && dev.kind !== 'nat' };
  if (dev.kind === 'bridge' || dev.kind === 'wire') await learn(t, net);
  // warm-up: every flow once (NAT entries, learned addresses), not measured
  const warmPps = 200000;
  await runTrial(t, dev, { ...spec, pps: warmPps, seconds: Math.max(0.2, o.flows / warmPps) });

  if (o.fixedPps) {
    o.progress(`${tag} at ${mpps(o.fixedPps)} Mpps for ${o.trialSeconds} s`, false);
    const r = await runTrial(t, dev, { ...spec, pps: spec.bidirectional ? o.fixedPps / 2 : o.fixedPps, seconds: o.trialSeconds, latency: true });
    res.fixed = { target_pps: o.fixedPps, trial: trialJson(r), latency: latencyJson(100, r) };
    res.trials.push(res.fixed.trial);
    const l = res.fixed.latency;
    o.log(`  ${tag} at ${mpps(o.fixedPps)} Mpps: offered ${mpps(r.offeredPps)}, received ${mpps(r.receivedPps)} Mpps, loss ${(r.loss * 100).toFixed(3)} %, latency p50 ${(l.p50_ns / 1e3).toFixed(1)} us, p99 ${(l.p99_ns / 1e3).toFixed(1)} us`);
    return res;
  }
  o.progress(`${tag} MRR (flat out, ${o.trialSeconds} s)`, false);
  // the flat-out trial bounds the whole search: on a shared machine, wait for quiet and
  // repeat it (twice at most) if someone else's work disturbed it
  let mrr: TrialResult;
  for (let attempt = 0; ; attempt++) {
    const others = await waitQuiet({ dut: dev.pids() }, DISTURBED_PCT, 10000);
    if (others > DISTURBED_PCT) o.log(`  ${tag}: the machine stayed busy (others use ${others} % of a CPU)`);
    if (dev.nodeTimes) await dev.nodeTimes(true);
    mrr = await runTrial(t, dev, { ...spec, pps: 0, seconds: o.trialSeconds });
    res.trials.push(trialJson(mrr));
    if (dev.nodeTimes) res.mrr_nodes = (await dev.nodeTimes(false)).map((n) => ({ name: n.name, packets: n.packets, vector_size: n.vectorSize, ns_per_packet: n.nsPerPacket }));
    if (!mrr.disturbed || attempt >= 2) break;
  }
  res.mrr = trialJson(mrr);
  res.generator_limited = mrr.loss === 0;
  o.log(`  ${tag} MRR: offered ${mpps(mrr.offeredPps)} Mpps, received ${mpps(mrr.receivedPps)} Mpps, loss ${(mrr.loss * 100).toFixed(3)} %${mrr.disturbed ? ' (disturbed)' : ''}`);
  if (verbose && res.mrr_nodes?.length) o.log(`  ${tag} MRR ns/packet per node: ${res.mrr_nodes.map((n) => `${n.name} ${Math.round(n.ns_per_packet)}`).join(', ')}`);
  if (mrr.received === 0) {
    res.error = `nothing arrived at the sink flat out (sent ${mrr.sent})`;
    return res;
  }
  const s = await searchNdrPdr({
    maxPps: mrr.offeredPps,
    mrr,
    pdrLoss: o.pdrLoss,
    precision: o.precision,
    maxTrials: o.maxTrials,
    trial: async (pps) => {
      const r = await runTrial(t, dev, { ...spec, pps: spec.bidirectional ? pps / 2 : pps, seconds: o.trialSeconds });
      res.trials.push(trialJson(r));
      return r;
    },
    onTrial: (pps, r, st) => {
      if (verbose) o.log(`  ${tag} trial ${st.trials}: ${mpps(pps)} Mpps offered ${mpps(r.offeredPps)}, loss ${(r.loss * 100).toFixed(3)} %${r.disturbed ? ' (disturbed)' : ''}`);
      o.progress(`${tag} trial ${st.trials}/${o.maxTrials} @ ${mpps(pps)} Mpps: loss ${(r.loss * 100).toFixed(3)} %  NDR [${mpps(st.ndr.lo)}, ${mpps(st.ndr.hi)}]  PDR [${mpps(st.pdr.lo)}, ${mpps(st.pdr.hi)}]`, false);
    },
  });
  // the search keeps the passing trial beside every lower bound (the MRR trial or one of ours)
  const ndr = s.ndr.loTrial as TrialResult | undefined, pdr = s.pdr.loTrial as TrialResult | undefined;
  res.ndr = rateJson(ndr, avg);
  res.pdr = rateJson(pdr, avg);
  res.ndr_upper_pps = s.ndr.hi == null ? null : Math.round(s.ndr.hi);
  res.pdr_upper_pps = s.pdr.hi == null ? null : Math.round(s.pdr.hi);
  o.log(`  ${tag} NDR ${mpps(ndr?.offeredPps)} Mpps, PDR ${mpps(pdr?.offeredPps)} Mpps (${s.trials.length} trials)`);

  if (pdr) {
    for (const load of o.latencyLoads) {
      o.progress(`${tag} latency at ${load} % of PDR`, false);
      const pps = (pdr.offeredPps * load) / 100;
      const r = await runTrial(t, dev, { ...spec, pps: spec.bidirectional ? pps / 2 : pps, seconds: o.latencySeconds, latency: true });
      const l = latencyJson(load, r);
      res.latency.push(l);
      o.log(`  ${tag} latency at ${load} % (${mpps(pps)} Mpps): p50 ${(l.p50_ns / 1e3).toFixed(1)} us, p99 ${(l.p99_ns / 1e3).toFixed(1)} us, max ${(l.max_ns / 1e3).toFixed(1)} us, loss ${(l.loss_ratio * 100).toFixed(3)} %`);
    }
  }
  return res;
}

/** Run the whole benchmark; the caller prints / writes what it returns. */
export async function runBench(o: BenchOptions): Promise<BenchJson> {
  const started = new Date();
  const children: ChildProcess[] = [];
  const track = (c: ChildProcess): void => { children.push(c); };
  const workDir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  let net: BenchNet | null = null;
  let traffic: Traffic | null = null;
  const devices: DeviceJson[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (net) await net.dispose();
    net = null;
    rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    o.log(`\n${sig}: removing the benchmark's namespaces`);
    void cleanup().then(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    net = await BenchNet.create();
    const env: DeviceEnv = {
      topo: net, workDir, log: o.log, track,
      exec: (cmd, args, ms) => exec(cmd, args, ms),
      execOk: (cmd, args, ms) => execOk(cmd, args, ms),
      spawn: (cmd, args) => {
        const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        // flowing, so a chatty daemon never blocks on a full pipe nobody reads
        c.stdout?.resume();
        c.stderr?.resume();
        track(c);
        return c;
      },
    };
    o.log(`topology ${net.prefix}: gen ${net.gen.mac}, sink ${net.sink.mac}, mon ${net.mon.mac}${net.nftDrop ? '' : ' (no nft: the sinks\' stacks drop the traffic)'}`);
    traffic = await startTraffic(net, o.bidirectional, track);
    for (const dev of o.devices) {
      const dj: DeviceJson = { key: dev.key, label: dev.label, kind: dev.kind, results: [] };
      devices.push(dj);
      const why = await dev.available();
      if (why) {
        dj.skipped = why;
        o.log(`${dev.label}: skipped: ${why}`);
        continue;
      }
      o.log(`${dev.label}:`);
      try {
        await dev.up(env);
        await dev.prepare(env);
        for (const size of o.sizes) {
          const tag = `(${devices.length}/${o.devices.length}) ${dev.key} ${size === 'imix' ? 'IMIX' : `${size}B`}`;
          try {
            dj.results.push(await measureSize(traffic, dev, net, size, o, tag));
          } catch (e) {
            dj.results.push({ frame_size: size, avg_frame_bytes: size === 'imix' ? imixAverageBytes() : size, mrr: null, ndr: null, pdr: null, latency: [], trials: [], error: (e as Error).message });
            o.log(`  ${tag}: ${(e as Error).message}`);
          }
        }
        const first = dj.results.find((r) => r.mrr && r.mrr.rx_packets > 0)?.mrr;
        if (first) {
          const c = first.cpu;
          const cpuSecs = (((c.dut ?? 0) + (c.gen ?? 0) + (c.sink ?? 0) + (c.softirq ?? 0)) / 100) * first.duration_s;
          dj.cpu_ns_per_packet = Math.round((cpuSecs * 1e9) / first.rx_packets);
        }
        if (o.rfc2889 && dev.kind === 'bridge') {
          o.progress(`${dev.key} RFC 2889`, false);
          // learning and test frames at half the device's 64-byte NDR (10k..100k frames/s): RFC
          // 2889 measures the table here, not the forwarding rate
          const r64 = dj.results.find((r) => r.frame_size === 64);
          const fwd = r64?.ndr?.pps ?? r64?.pdr?.pps ?? r64?.mrr?.rx_pps ?? 100000;
          const learnPps = Math.round(Math.max(10000, Math.min(100000, fwd / 2)));
          const r = await rfc2889(traffic, dev, {
            macMax: o.macMax, learnPps, maxTrials: o.macTrials,
            onTrial: (what, n, pps, pass, p) => o.log(`  ${dev.key} RFC 2889 ${what}: ${n} addresses at ${Math.round(pps)} fps: ${pass ? 'pass' : `fail (${p.flooded} flooded, ${p.forwarded} of ${p.sent} forwarded)`}`),
          });
          dj.rfc2889 = r;
        }
        if (dev.details) dj.details = await dev.details();
      } catch (e) {
        dj.error = (e as Error).message;
        o.log(`${dev.label}: ${dj.error}`);
      } finally {
        await dev.down(env).catch((e: Error) => o.log(`${dev.label}: down: ${e.message}`));
      }
    }
  } finally {
    o.progress('', true);
    await stopTraffic(traffic).catch(() => {});
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  const cpuModel = cpus()[0]?.model ?? 'unknown';
  const bench: BenchJson = {
    schema: 'switchyard-bench/1',
    started_at: started.toISOString(),
    duration_s: Math.round((Date.now() - started.getTime()) / 100) / 10,
    host: { kernel: release(), cpus: cpus().length, cpu_model: cpuModel, node: process.version },
    options: {
      devices: o.devices.map((d) => d.key), sizes: o.sizes, flows: o.flows, trial_s: o.trialSeconds, max_trials: o.maxTrials,
      precision: o.precision, pdr_loss: o.pdrLoss, latency_loads_pct: o.latencyLoads, latency_s: o.latencySeconds,
      bidirectional: o.bidirectional, rfc2889: o.rfc2889, mac_max: o.macMax, ...(o.fixedPps ? { rate_pps: o.fixedPps } : {}),
    },
    devices,
    ratios: [],
  };
  for (const ref of ['kernel-bridge', 'forwarder']) if (devices.some((d) => d.key === ref && d.results.length)) bench.ratios.push(computeRatios(devices, ref));
  return bench;
}
