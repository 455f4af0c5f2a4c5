// l3-golden.ts — the machinery of the routed and NAT golden tests: a scenario directory
// holds config.json (the switch config, the ports' MACs, how long to run the timers),
// in-PORT.pcap per port and the expected out-PORT.pcap and counters.json. run() replays the
// inputs in time order through the in-memory lab (built like the Switch builds it);
// update() rewrites the directory from a scenario; assertGolden() compares byte for byte.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readPcap, encodePcap } from '../../src/io/pcap.ts';
import { NatLab, replayNat, type NatGoldenEvent, type NatGoldenResult } from '../helpers/nat-lab.ts';

export interface Scenario { config: Record<string, unknown>; macs: Record<string, string>; endMs: number }
export type Inputs = Record<string, { t: number; f: Uint8Array }[]>;

export function run(dir: string): NatGoldenResult {
  const sc = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Scenario;
  const lab = new NatLab(sc.config, { macs: sc.macs });
  const events: NatGoldenEvent[] = [];
  for (const f of readdirSync(dir)) {
    const m = /^in-(.+)\.pcap$/.exec(f);
    if (!m) continue;
    for (const r of readPcap(readFileSync(join(dir, f))).records) events.push({ t: Number(r.timeNs / 1_000_000n), port: m[1], data: r.data });
  }
  return replayNat(lab, events, sc.endMs);
}

/** Write the scenario's inputs, replay them, and keep what came out as the new golden files. */
export function update(dir: string, scenario: Scenario, inputs: Inputs, ports: string[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(scenario, null, 2) + '\n');
  for (const [port, frames] of Object.entries(inputs)) {
    writeFileSync(join(dir, `in-${port}.pcap`), encodePcap(frames.map((x) => ({ timeNs: BigInt(x.t) * 1_000_000n, data: x.f }))));
  }
  const r = run(dir);
  for (const p of ports) writeFileSync(join(dir, `out-${p}.pcap`), encodePcap(r.outputs[p]));
  writeFileSync(join(dir, 'counters.json'), JSON.stringify(r.counters, null, 2) + '\n');
  console.log('golden: wrote', dir, r.counters);
}

/** Every port sends exactly its golden output and the counters match. */
export function assertGolden(dir: string, ports: string[]): void {
  const r = run(dir);
  for (const p of ports) {
    const want = readFileSync(join(dir, `out-${p}.pcap`));
    assert.equal(encodePcap(r.outputs[p]).toString('hex'), want.toString('hex'), `port ${p}`);
  }
  assert.deepEqual(r.counters, JSON.parse(readFileSync(join(dir, 'counters.json'), 'utf8')));
}
