// dut-switchyard.ts — the device under test of bench/kernel.ts: a switchyard with two
// afpacket ports in one bridged network, through the library API (Switch.start), in a process
// of its own so that it gets a core of its own.
//
//   node --import tsx bench/dut-switchyard.ts IF_A IF_B
//
// Prints {"ready":true} once the ports are open and polled. stdin, one command per line:
// "stats" -> Switch.stats() as one JSON line (plus the event-loop delay since the last
// "stats" and memory use); "fdb" -> Switch.fdb(); "quit" (or EOF, SIGTERM, SIGINT) -> stop, exit.
// Node flags such as --cpu-prof go before the script (bench/kernel.ts --cpu-prof passes them).
// SY_RX_FRAMES, SY_TX_FRAMES and SY_POLL_MS are experiment knobs (below).
import { createInterface } from 'node:readline';
import { loopDelayMonitor } from './agent.ts';
import { Switch } from '../src/index.ts';
import { MAX_BURSTS, RX_BURST } from '../src/dataplane.ts';
import { native, type NativeAddon } from '../src/io/native.ts';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const [ifA, ifB] = process.argv.slice(2);
if (!ifA || !ifB) {
  process.stderr.write('usage: dut-switchyard.ts IF_A IF_B\n');
  process.exit(2);
}

// Experiment knobs, for bench/kernel.ts's device specs (switchyard:rx=N:tx=N:pollms=N):
//   SY_RX_FRAMES / SY_TX_FRAMES  ring sizes instead of the addon's defaults (4096 RX, 1024 TX
//                                frames; the switch passes none);
//   SY_POLL_MS                   service every port from a timer every N ms instead of when
//                                uv_poll reports it readable: coalesced wakeups (what a
//                                TPACKET_V3 block timeout would give), at the price of up to
//                                N ms of latency.
// The addon's exports are read-only, so the module cache gets a copy with openAfPacket / poll
// wrapped, before anything loads the addon.
const rxFrames = Number(process.env.SY_RX_FRAMES) || undefined;
const txFrames = Number(process.env.SY_TX_FRAMES) || undefined;
const pollMs = Number(process.env.SY_POLL_MS) || undefined;
if (rxFrames || txFrames || pollMs) {
  const req = createRequire(import.meta.url);
  const path = fileURLToPath(new URL('../native/build/Release/switchyard.node', import.meta.url));
  const real = req(path) as NativeAddon;
  const wrapped: NativeAddon = { ...real };
  wrapped.openAfPacket = (ifname, opts) => real.openAfPacket(ifname, { ...opts, ...(rxFrames ? { rxFrames } : {}), ...(txFrames ? { txFrames } : {}) });
  if (pollMs) wrapped.poll = () => {}; // no readiness callbacks: the timer below services the ports
  req.cache[path]!.exports = wrapped;
  if (native() !== wrapped) throw new Error('dut-switchyard: could not wrap the addon');
}

const sw = await Switch.start({
  name: `bench-${process.pid}`,
  runDir: `/tmp/switchyard-bench-${process.pid}`,
  ports: { a: { afpacket: ifA }, b: { afpacket: ifB } },
  networks: { lan: { mode: 'bridged', ports: ['a', 'b'] } },
}, { log: () => {} });

if (pollMs) {
  // every pollMs: each port until its ring is empty (a breath that filled all its bursts
  // may have left frames), at most 16 breaths per port per tick
  const full = RX_BURST * MAX_BURSTS;
  const tick = (): void => {
    const dp = sw.dataplane;
    for (let id = 0; id < dp.ports.count; id++) {
      if (dp.ports.io[id] === null) continue;
      for (let k = 0; k < 16 && dp.service(id) === full; k++);
    }
    setTimeout(tick, pollMs).unref();
  };
  setTimeout(tick, pollMs).unref();
}

let stopping = false;
async function quit(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await sw.stop();
  // a --cpu-prof profile is written on a normal exit
  process.exit(0);
}
process.on('SIGTERM', () => void quit());
process.on('SIGINT', () => void quit());

// how long the event loop was kept from turning (a long breath, a GC pause, being descheduled)
const loopDelay = loopDelayMonitor();

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'stats') process.stdout.write(JSON.stringify({ ...sw.stats(), loop: loopDelay(), memory: process.memoryUsage() }) + '\n');
  else if (cmd === 'fdb') process.stdout.write(JSON.stringify(sw.fdb()) + '\n');
  else if (cmd === 'quit') void quit();
});
rl.on('close', () => void quit());
process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + '\n');
