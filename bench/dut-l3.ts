// dut-l3.ts — the switchyard device under test of bench/kernel-l3.ts: Switch.start with the
// configuration given as JSON on the command line (bridged, routed or nat networks over
// afpacket ports), in a process of its own (and, there, inside the DUT's namespace), so that it
// gets a core of its own. bench/dut-switchyard.ts does the same for its one bridged network;
// this one takes any configuration.
//
//   ip netns exec DUT node --import tsx bench/dut-l3.ts '{"name":...,"ports":...,"networks":...}'
//
// Prints {"ready":true,"pid":N,"mac":M} once the ports are open and polled. stdin, one command
// per line, one JSON line back:
//   stats  -> Switch.stats() plus the event-loop delay since the last "stats" and memory use
//   fdb    -> Switch.fdb();   neigh -> Switch.neighbors()
//   reset  -> forget the graph's runtime statistics (calls, packets, per-node time), so that the
//             next "stats" reports per-node ns/packet over one trial only -> {"reset":true}
//   quit (or EOF, SIGTERM, SIGINT) -> stop, exit.
import { createInterface } from 'node:readline';
import { loopDelayMonitor } from './agent.ts';
import { Switch } from '../src/index.ts';

const text = process.argv[2];
if (!text) {
  process.stderr.write('usage: dut-l3.ts CONFIG_JSON\n');
  process.exit(2);
}

const sw = await Switch.start(JSON.parse(text), { log: () => {} });

let stopping = false;
async function quit(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await sw.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void quit());
process.on('SIGINT', () => void quit());

// how long the event loop was kept from turning (a long breath, a GC pause, being descheduled)
const loopDelay = loopDelayMonitor();

const out = (o: unknown): void => { process.stdout.write(JSON.stringify(o) + '\n'); };
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'stats') out({ ...sw.stats(), loop: loopDelay(), memory: process.memoryUsage() });
  else if (cmd === 'fdb') out(sw.fdb());
  else if (cmd === 'neigh') out(sw.neighbors());
  else if (cmd === 'reset') { sw.dataplane.graph.resetRuntime(); out({ reset: true }); }
  else if (cmd === 'quit') void quit();
  else if (cmd) out({ error: `unknown command ${cmd}` });
});
rl.on('close', () => void quit());
out({ ready: true, pid: process.pid, mac: sw.config.mac });
