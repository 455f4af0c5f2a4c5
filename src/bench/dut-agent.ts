// dut-agent.ts — a device under test that runs in a process of its own inside the DUT
// namespace (so it gets a core of its own, as a deployed switch would):
//
//   dut-agent switch CONFIG_JSON   switchyard itself: Switch.start(config), any mode
//   dut-agent forwarder IF_A IF_B  the minimal forwarder: the same addon I/O as switchyard
//                                  (pool, AF_PACKET rings, uv_poll readiness, bursts of 256,
//                                  4 bursts per wakeup) and no graph: whatever one port
//                                  receives leaves the other. The reference for "what this
//                                  I/O path can do from JavaScript at all".
//
// Prints {"ready":true,"pid":N} once its ports are polled. One command per stdin line, one
// JSON line back: stats (counters, event-loop delay since the last stats), fdb, neigh, reset
// (forget per-node timing), quit (or EOF, SIGTERM, SIGINT: stop and exit).
import { createInterface } from 'node:readline';
import { loopDelayMonitor } from './agent.js';
import { Switch } from '../switch.js';
import { native } from '../io/native.js';
import { PacketPool } from '../engine/pool.js';

const [mode, ...args] = process.argv.slice(2);
const out = (o: unknown): void => { process.stdout.write(JSON.stringify(o) + '\n'); };

interface Dut {
  stats(): unknown;
  command(cmd: string): unknown;
  stop(): Promise<void>;
}

async function startSwitch(configJson: string): Promise<Dut> {
  const sw = await Switch.start(JSON.parse(configJson), { log: () => {} });
  return {
    stats: () => sw.stats(),
    command: (cmd) => {
      if (cmd === 'fdb') return sw.fdb();
      if (cmd === 'neigh') return sw.neighbors();
      if (cmd === 'reset') { sw.dataplane.graph.resetRuntime(); return { reset: true }; }
      return { error: `unknown command ${cmd}` };
    },
    stop: () => sw.stop(),
  };
}

function startForwarder(ifA: string, ifB: string): Dut {
  const BURST = 256, BURSTS = 4;
  const addon = native();
  const pool = new PacketPool(16384);
  addon.attachPool(pool.buffer, pool.slotSize, pool.headroom, pool.start, pool.length);
  const a = addon.openAfPacket(ifA, { promiscuous: true, qdiscBypass: true });
  const b = addon.openAfPacket(ifB, { promiscuous: true, qdiscBypass: true });
  const slots = new Uint32Array(BURST);
  const moved = { ab: 0, ba: 0, txShort: 0 };
  const forward = (from: number, to: number): number => {
    let total = 0;
    for (let k = 0; k < BURSTS; k++) {
      const got = pool.allocBurst(slots, BURST);
      const n = addon.rx(from, slots, got);
      if (n === 0) { pool.freeRange(slots, 0, got); break; }
      const sent = addon.tx(to, slots, n);
      if (sent < n) moved.txShort += n - sent;
      pool.freeRange(slots, 0, got);
      total += n;
      if (n < BURST) break;
    }
    return total;
  };
  addon.poll(a, () => { moved.ab += forward(a, b); });
  addon.poll(b, () => { moved.ba += forward(b, a); });
  return {
    stats: () => ({ moved, a: addon.stats(a), b: addon.stats(b) }),
    command: (cmd) => ({ error: `unknown command ${cmd}` }),
    stop: async () => { addon.poll(a, null); addon.poll(b, null); addon.close(a); addon.close(b); },
  };
}

let dut: Dut;
if (mode === 'switch' && args[0]) dut = await startSwitch(args[0]);
else if (mode === 'forwarder' && args[1]) dut = startForwarder(args[0], args[1]);
else {
  process.stderr.write('usage: dut-agent switch CONFIG_JSON | dut-agent forwarder IF_A IF_B\n');
  process.exit(2);
}

let stopping = false;
async function quit(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await dut.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void quit());
process.on('SIGINT', () => void quit());

const loopDelay = loopDelayMonitor();
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  if (!cmd) return;
  if (cmd === 'quit') { void quit(); return; }
  if (cmd === 'stats') { out({ ...(dut.stats() as object), loop: loopDelay() }); return; }
  out(dut.command(cmd));
});
rl.on('close', () => void quit());
out({ ready: true, pid: process.pid });
