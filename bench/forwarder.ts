// forwarder.ts — the ceiling reference of bench/kernel.ts: the same I/O as switchyard (the
// addon's AF_PACKET rings, the pool, uv_poll readiness, bursts of 256, 4 bursts per wakeup)
// with no graph at all: whatever port A receives goes out of port B and back.
//
//   node --import tsx bench/forwarder.ts IF_A IF_B
//
// Same stdin/stdout protocol as dut-switchyard.ts: {"ready":true}; "stats" -> the two ports'
// addon counters; "quit" / EOF / SIGTERM -> close and exit.
import { createInterface } from 'node:readline';
import { loopDelayMonitor } from './agent.ts';
import { native } from '../src/io/native.ts';
import { PacketPool } from '../src/engine/pool.ts';

const [ifA, ifB] = process.argv.slice(2);
if (!ifA || !ifB) {
  process.stderr.write('usage: forwarder.ts IF_A IF_B\n');
  process.exit(2);
}
const BURST = 256, BURSTS = 4;
const addon = native();
const pool = new PacketPool(16384);
addon.attachPool(pool.buffer, pool.slotSize, pool.headroom, pool.start, pool.length);
// SY_RX_FRAMES / SY_TX_FRAMES: ring sizes, as for dut-switchyard.ts (default: the addon's)
const rings = {
  ...(Number(process.env.SY_RX_FRAMES) ? { rxFrames: Number(process.env.SY_RX_FRAMES) } : {}),
  ...(Number(process.env.SY_TX_FRAMES) ? { txFrames: Number(process.env.SY_TX_FRAMES) } : {}),
};
const a = addon.openAfPacket(ifA, { promiscuous: false, qdiscBypass: true, ...rings });
const b = addon.openAfPacket(ifB, { promiscuous: false, qdiscBypass: true, ...rings });
const slots = new Uint32Array(BURST);
const moved = { ab: 0, ba: 0, txShort: 0 };

function forward(from: number, to: number): number {
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
}

addon.poll(a, () => { moved.ab += forward(a, b); });
addon.poll(b, () => { moved.ba += forward(b, a); });

let closed = false;
function quit(): void {
  if (closed) return;
  closed = true;
  addon.poll(a, null); addon.poll(b, null);
  addon.close(a); addon.close(b);
  process.exit(0);
}
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
// how long the event loop was kept from turning (a long breath, a GC pause, being descheduled)
const loopDelay = loopDelayMonitor();

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'stats') process.stdout.write(JSON.stringify({ moved, a: addon.stats(a), b: addon.stats(b), poolInFlight: pool.inFlight, loop: loopDelay() }) + '\n');
  else if (cmd === 'quit') quit();
});
rl.on('close', quit);
process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + '\n');
