// golden.ts — whole-graph golden tests, Snabb style: per-port input pcaps are replayed in
// timestamp order through a Dataplane with in-memory ports; what every port sends must
// equal the committed per-port output pcaps byte for byte, and the drop/learn counters must
// equal the committed counters.json.
//
// Regenerate the inputs and outputs after an intended change with
//   node --import tsx test/golden/golden.ts --update
// and read the diff of counters.json and `tcpdump -r` of the outputs before committing.
import { readFileSync, writeFileSync, readdirSync, existsSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPcap, encodePcap } from '../../src/io/pcap.ts';
import { Lab } from '../helpers/harness.ts';
import { eth, udpFrame, arpRequest, ip4 } from '../helpers/frames.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface GoldenResult { outputs: Record<string, Buffer>; counters: Record<string, number> }

/** Replay dir/in-*.pcap through a bridged network of the ports named by the files (plus out-only ports). */
export function replay(dir: string, ports: string[]): GoldenResult {
  const lab = new Lab();
  lab.network('br0', ports, { agingSeconds: 300, maxEntries: 1024 });
  const events: { t: bigint; port: string; data: Uint8Array }[] = [];
  for (const f of readdirSync(dir)) {
    const m = /^in-(.+)\.pcap$/.exec(f);
    if (!m) continue;
    for (const r of readPcap(readFileSync(join(dir, f))).records) events.push({ t: r.timeNs, port: m[1], data: r.data });
  }
  events.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
  const out: Record<string, { timeNs: bigint; data: Uint8Array }[]> = {};
  for (const p of ports) out[p] = [];
  for (const e of events) {
    lab.clock.ms = Number(e.t / 1_000_000n);
    lab.send(e.port, e.data);
    for (const [p, io] of lab.io) for (const d of io.take()) out[p].push({ timeNs: e.t, data: d });
  }
  const counters: Record<string, number> = { ...lab.drops() };
  const t = lab.dp.networks[0]!.table;
  counters.fdbEntries = t.size; counters.fdbMoves = t.moves; counters.poolInFlight = lab.pool.inFlight;
  const outputs: Record<string, Buffer> = {};
  for (const p of ports) outputs[p] = encodePcap(out[p]);
  return { outputs, counters };
}

const A = '02:00:00:00:00:0a', B = '02:00:00:00:00:0b', C = '02:00:00:00:00:0c';

/** The bridged scenario's inputs: learning, flooding, a move, tags, malformed frames. */
function bridgedInputs(): Record<string, { t: number; f: Uint8Array }[]> {
  return {
    p1: [
      { t: 1, f: arpRequest(A, '10.0.0.1', '10.0.0.2') },               // flood to p2, p3; learn A@p1
      { t: 4, f: udpFrame(A, B, 'a->b') },                              // B known @p2: unicast
      { t: 5, f: eth({ dst: B, src: A, vlan: [42], type: 0x0800, payload: ip4({ src: '10.0.0.1', dst: '10.0.0.2', payload: [9, 9] }) }) }, // tagged unicast
      { t: 6, f: eth({ dst: B, src: A, type: 0x0800, payload: [0x45, 0, 0, 40] }) }, // ip4-truncated
      { t: 7, f: eth({ dst: B, src: A, vlan: [1] }).slice(0, 15) },   // runt (tag cut)
      { t: 9, f: udpFrame(A, B, 'a->b after move') },                   // B moved to p3
    ],
    p2: [
      { t: 2, f: udpFrame(B, A, 'b->a') },                              // A known @p1: unicast; learn B@p2
      { t: 3, f: udpFrame(B, C, 'b->c unknown') },                      // flood to p1, p3
    ],
    p3: [
      { t: 8, f: udpFrame(B, A, 'b moved') },                           // B moves to p3
      { t: 10, f: udpFrame(C, 'ff:ff:ff:ff:ff:ff', 'broadcast') },      // flood to p1, p2
    ],
  };
}

/** Hand-written expectations: what the scenario must count, whatever the engine does. */
export const BRIDGED_COUNTERS = { runt: 1, 'ip4-truncated': 1, fdbEntries: 3, fdbMoves: 1, poolInFlight: 0 };
export const BRIDGED_PORTS = ['p1', 'p2', 'p3'];
export const BRIDGED_DIR = join(here, 'bridged');

if (process.argv.includes('--update')) {
  mkdirSync(BRIDGED_DIR, { recursive: true });
  for (const [port, frames] of Object.entries(bridgedInputs())) {
    writeFileSync(join(BRIDGED_DIR, `in-${port}.pcap`), encodePcap(frames.map((x) => ({ timeNs: BigInt(x.t) * 1_000_000_000n, data: x.f }))));
  }
  const r = replay(BRIDGED_DIR, BRIDGED_PORTS);
  for (const [p, b] of Object.entries(r.outputs)) writeFileSync(join(BRIDGED_DIR, `out-${p}.pcap`), b);
  writeFileSync(join(BRIDGED_DIR, 'counters.json'), JSON.stringify(r.counters, null, 2) + '\n');
  console.log('golden: wrote', BRIDGED_DIR, r.counters, existsSync(BRIDGED_DIR));
}
