// traffic-agent.ts — a generator or a sink of the benchmark, run inside its namespace by the
// harness (`ip netns exec NS node traffic-agent.js IFNAME`). It owns one AF_PACKET port on
// IFNAME and drives the addon's blocking C loops (generateTraffic, sinkTraffic): no pool, no
// graph, no JavaScript per packet. One JSON command per stdin line, one JSON reply per line:
//
//   {"op":"gen","size":64|"imix","dstMac","dstIp","flows","vary","addresses","stamp","count","pps","durationMs"}
//        -> {"sent","bytes","ns","avgWireBytes"}       pps 0 = as fast as it can
//   {"op":"learn","dstMac","count","pps","srcMacs","srcBase","dstMacs","dstBase"} -> {"sent","ns"}
//        learning frames (EtherType 0x88b5, 64 bytes): from this port's MAC to dstMac, or (RFC
//        2889) from srcMacs source MACs counting up from srcBase and/or to dstMacs destination
//        MACs counting up from dstBase
//   {"op":"sink","durationMs","idleMs","latency","napUs"} -> {"armed":true}, then the count:
//        {"frames","bytes","stamped","reordered","ns","latency":{count,minNs,maxNs,sumNs,hist:[[bucket,n]...]}|null}
//        (whatever arrived before it was armed is drained first and not counted)
//   {"op":"stats"} -> the port's addon counters;   {"op":"quit"} (or EOF) -> close, exit
import { createInterface } from 'node:readline';
import { native } from '../io/native.js';
import { PacketPool } from '../engine/pool.js';
import { ETHERTYPE_LEARN, ethFrame, templatesFor, type FrameSize } from './frames.js';
import { PLAN } from './types.js';

const [ifname, role] = process.argv.slice(2);
if (!ifname || (role !== 'gen' && role !== 'sink')) {
  process.stderr.write('usage: traffic-agent IFNAME gen|sink\n');
  process.exit(2);
}
const addon = native();
const mac = addon.linkInfo(ifname).mac;
// the addon wants a pool registered before any port opens (this agent never uses it)
const pool = new PacketPool(64);
addon.attachPool(pool.buffer, pool.slotSize, pool.headroom, pool.start, pool.length);
// A generator needs a deep TX ring; a sink a deep RX ring (a sink descheduled for a few ms on
// a shared core must not lose what the device under test delivered).
const handle = role === 'gen'
  ? addon.openAfPacket(ifname, { promiscuous: false, qdiscBypass: true, rxFrames: 16, txFrames: 4096 })
  : addon.openAfPacket(ifname, { promiscuous: true, qdiscBypass: true, rxFrames: 32768, txFrames: 16 });

const reply = (o: unknown): void => { process.stdout.write(JSON.stringify(o) + '\n'); };
const num = (v: unknown, d: number): number => (v === undefined ? d : Number(v));

function gen(c: Record<string, unknown>): unknown {
  const size = (c.size === 'imix' ? 'imix' : Number(c.size ?? 64)) as FrameSize;
  const t = templatesFor(size, {
    dstMac: String(c.dstMac), srcMac: mac,
    srcIp: String(c.srcIp ?? PLAN.genIp), dstIp: String(c.dstIp ?? PLAN.sinkIp),
    sport: PLAN.sport, dport: PLAN.dport,
  });
  const r = addon.generateTraffic(handle, {
    templates: t.templates, ...(t.order ? { order: t.order } : {}),
    flows: num(c.flows, 1), vary: num(c.vary, 1), addresses: num(c.addresses, 1),
    stamp: c.stamp !== false, count: num(c.count, 0), pps: num(c.pps, 0),
    ...(c.durationMs ? { durationMs: Number(c.durationMs) } : {}),
  });
  return { ...r, avgWireBytes: t.avgWireBytes };
}

function learn(c: Record<string, unknown>): unknown {
  const srcMacs = num(c.srcMacs, 0), dstMacs = num(c.dstMacs, 0);
  const frame = ethFrame({
    dstMac: String(c.dstBase ?? c.dstMac), srcMac: srcMacs > 0 ? String(c.srcBase) : mac, etherType: ETHERTYPE_LEARN, size: 64,
  });
  const flows = Math.max(1, srcMacs, dstMacs);
  const r = addon.generateTraffic(handle, {
    templates: [frame], flows, vary: (srcMacs > 0 ? 2 : 0) | (dstMacs > 0 ? 4 : 0), count: num(c.count, flows), pps: num(c.pps, 0),
  });
  return { sent: r.sent, ns: r.ns };
}

function sink(c: Record<string, unknown>): void {
  addon.sinkTraffic(handle, { durationMs: 20, idleMs: 0, napUs: 1000 }); // stragglers of the last trial
  reply({ armed: true });
  const r = addon.sinkTraffic(handle, {
    durationMs: num(c.durationMs, 1000), idleMs: num(c.idleMs, 0), napUs: num(c.napUs, 1000), latency: c.latency === true,
  });
  let latency = null;
  if (r.latency) {
    const hist: [number, number][] = [];
    r.latency.hist.forEach((n, i) => { if (n) hist.push([i, n]); });
    latency = { count: r.latency.count, minNs: r.latency.minNs, maxNs: r.latency.maxNs, sumNs: r.latency.sumNs, hist };
  }
  reply({ ...r, latency });
}

const rl = createInterface({ input: process.stdin });
reply({ ready: true, mac, pid: process.pid });
rl.on('line', (line) => {
  let c: Record<string, unknown>;
  try { c = JSON.parse(line); } catch { reply({ error: `bad command: ${line}` }); return; }
  try {
    switch (c.op) {
      case 'gen': reply(gen(c)); break;
      case 'learn': reply(learn(c)); break;
      case 'sink': sink(c); break;
      case 'stats': reply(addon.stats(handle)); break;
      case 'quit': addon.close(handle); process.exit(0); break;
      default: reply({ error: `unknown op ${String(c.op)}` });
    }
  } catch (e) {
    reply({ error: (e as Error).message });
  }
});
rl.on('close', () => { addon.close(handle); process.exit(0); });
