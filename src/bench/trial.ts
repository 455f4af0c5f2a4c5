// trial.ts — one trial of the benchmark: arm the sinks, let the generators send (one
// direction or both at once), then count what arrived and where the CPU and the lost frames
// went. A trial is either paced (a target rate for a number of seconds) or flat out (as fast
// as the generator can, for a number of seconds: RFC 2544's maximum receive rate).
//
// Frames are counted by the sinks only when they carry the generator's stamp (magic at
// offset 42), so stray frames (ARP, a flood) never count as received; loss = 1 - stamped
// received / sent, rates are per second of the generator's run (RFC 2544: frames over the
// trial duration), latency comes from the stamps' transmit times.
import { type Agent, diff, type Counters } from './agent.js';
import { cpuSnapshot, cpuUse } from './cpu.js';
import { l1Bits, wireBits, type FrameSize } from './frames.js';
import { PLAN, type Device } from './types.js';
import type { TrialOutcome } from './search.js';

/** The traffic agents of a run. Reverse ones exist with --bidirectional. */
export interface Traffic {
  gen: Agent;
  sink: Agent;
  mon: Agent;
  /** the gen side's sink (always there: RFC 2889 counts forwarded test frames with it) */
  revSink: Agent;
  revGen?: Agent;
}

export interface TrialSpec {
  size: FrameSize;
  flows: number;
  /** 0 = flat out */
  pps: number;
  seconds: number;
  latency?: boolean;
  bidirectional?: boolean;
}

export interface LatencyRaw { count: number; minNs: number; maxNs: number; sumNs: number; hist: [number, number][] }

interface GenReply { sent: number; bytes: number; ns: number; avgWireBytes: number }
interface SinkReply { frames: number; stamped: number; reordered: number; ns: number; latency: LatencyRaw | null }

export interface TrialResult extends TrialOutcome {
  targetPps: number | null;
  seconds: number;
  avgWireBytes: number;
  txBps: number; rxBps: number; txBpsL1: number; rxBpsL1: number;
  reordered: number;
  latency: LatencyRaw | null;
  /** % of one CPU: dut, gen, sink, softirq, others, busy */
  cpu: Record<string, number>;
  /** the device's counters that moved (drops by reason) */
  drops: Counters;
}

/** Other processes using more than this % of one CPU make a trial "disturbed". */
export const DISTURBED_PCT = 20;

export async function runTrial(t: Traffic, dev: Device, spec: TrialSpec): Promise<TrialResult> {
  const dirs: { gen: Agent; sink: Agent; dst: string; srcIp: string; dstIp: string }[] = [
    { gen: t.gen, sink: t.sink, dst: dev.nextHopMac('forward'), srcIp: PLAN.genIp, dstIp: PLAN.sinkIp },
  ];
  if (spec.bidirectional && t.revGen) {
    dirs.push({ gen: t.revGen, sink: t.revSink, dst: dev.nextHopMac('reverse'), srcIp: PLAN.sinkIp, dstIp: PLAN.genIp });
  }
  const c0 = dev.counters ? await dev.counters() : {};
  const waitMs = Math.ceil(spec.seconds * 3000) + 3000;
  for (const d of dirs) d.sink.send({ op: 'sink', durationMs: waitMs, idleMs: 300, latency: spec.latency === true, napUs: 1000 });
  for (const d of dirs) await d.sink.next(10000); // armed
  const groups = {
    dut: dev.pids(),
    gen: dirs.map((d) => d.gen.pid),
    sink: dirs.map((d) => d.sink.pid),
  };
  const cpu0 = cpuSnapshot(groups);
  const count = spec.pps > 0 ? Math.max(1, Math.round(spec.pps * spec.seconds)) : 0;
  const gens = await Promise.all(dirs.map((d) => d.gen.ask<GenReply>({
    op: 'gen', size: spec.size, dstMac: d.dst, srcIp: d.srcIp, dstIp: d.dstIp,
    flows: spec.flows, vary: 1, addresses: Math.min(spec.flows, PLAN.maxSourceAddresses), stamp: true,
    count, pps: spec.pps, durationMs: Math.ceil(spec.seconds * 1000),
  }, waitMs + 20000)));
  const cpu1 = cpuSnapshot(groups);
  const sinks = await Promise.all(dirs.map((d) => d.sink.next<SinkReply>(waitMs + 10000)));
  const c1 = dev.counters ? await dev.counters() : {};

  const sent = gens.reduce((s, g) => s + g.sent, 0);
  const received = sinks.reduce((s, r) => s + r.stamped, 0);
  const seconds = Math.max(...gens.map((g) => g.ns)) / 1e9;
  const avg = gens[0].avgWireBytes;
  const offeredPps = seconds > 0 ? sent / seconds : 0;
  const receivedPps = seconds > 0 ? received / seconds : 0;
  const cpu = cpuUse(cpu0, cpu1);
  let latency: LatencyRaw | null = null;
  for (const s of sinks) {
    if (!s.latency) continue;
    if (!latency) { latency = { ...s.latency, hist: [...s.latency.hist] }; continue; }
    latency.count += s.latency.count; latency.sumNs += s.latency.sumNs;
    latency.minNs = Math.min(latency.minNs, s.latency.minNs); latency.maxNs = Math.max(latency.maxNs, s.latency.maxNs);
    latency.hist.push(...s.latency.hist);
  }
  return {
    targetPps: spec.pps > 0 ? spec.pps * dirs.length : null,
    offeredPps, receivedPps, sent, received,
    loss: sent > 0 ? Math.max(0, 1 - received / sent) : 1,
    disturbed: cpu.others > DISTURBED_PCT,
    seconds, avgWireBytes: avg,
    txBps: wireBits(offeredPps, avg), rxBps: wireBits(receivedPps, avg),
    txBpsL1: l1Bits(offeredPps, avg), rxBpsL1: l1Bits(receivedPps, avg),
    reordered: sinks.reduce((s, r) => s + r.reordered, 0),
    latency, cpu, drops: diff(c0, c1),
  };
}
