// traffic.ts — the generator and the sink of the kernel benchmark (bench/kernel.ts), run
// inside their network namespaces:
//
//   ip netns exec GEN  node --import tsx bench/traffic.ts gen  eth0
//   ip netns exec SINK node --import tsx bench/traffic.ts sink eth0
//
// Long-lived, so that a binary search does not pay node's start-up on every trial: one JSON
// command per stdin line, one JSON reply per stdout line. Both use the addon's AF_PACKET
// port and its blocking C loops (generate(), sink()), never the pool or the graph.
//
//   gen:  {"op":"gen","dst":MAC,"count":N,"pps":R[,"dstIp":A]} -> {"sent":N,"ns":T}  (pps 0 = flat out)
//   sink: {"op":"learn","dst":MAC,"count":N}        -> {"sent":N}          (frames from the sink's MAC)
//         {"op":"sink","durationMs":D,"idleMs":I}   -> {"armed":true} then {"frames","bytes","ns","drained"}
//         {"op":"sinkPoll",...,"intervalMs":P}      -> the same, counted with rx() bursts every P ms
//                                                     instead of the addon's sink() (see below)
//   both: {"op":"stats"} -> the port's addon counters;  {"op":"quit"}
import { createInterface } from 'node:readline';
import { native } from '../src/io/native.ts';
import { PacketPool } from '../src/engine/pool.ts';

const [role, ifname] = process.argv.slice(2);
if ((role !== 'gen' && role !== 'sink') || !ifname) {
  process.stderr.write('usage: traffic.ts gen|sink IFNAME\n');
  process.exit(2);
}
const addon = native();
const mac = addon.linkInfo(ifname).mac;
// a small pool for the polling sink (rx() copies frames into pool slots); registered before any port
const pool = new PacketPool(512);
addon.attachPool(pool.buffer, pool.slotSize, pool.headroom, pool.start, pool.length);
// The generator only transmits (a big TX ring); the sink only receives (a big RX ring, so a
// sink descheduled for a few ms on a shared core does not lose what the DUT delivered).
const handle = role === 'gen'
  ? addon.openAfPacket(ifname, { promiscuous: false, qdiscBypass: true, rxFrames: 16, txFrames: 4096 })
  : addon.openAfPacket(ifname, { promiscuous: false, qdiscBypass: true, rxFrames: 32768, txFrames: 16 });

function macBytes(m: string): number[] { return m.split(':').map((h) => parseInt(h, 16)); }

function csum16(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i] << 8) | b[off + i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/**
 * 64-byte frames on the wire (60 + FCS): Ethernet to the sink's MAC, IPv4 10.99.0.1 ->
 * dstIp (by default a multicast group nobody joined: the sink's stack drops it at the route
 * lookup, its cheapest drop), UDP with `flows` different source ports.
 */
function udpFrames(dst: string, src: string, flows: number, dstIp: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let f = 0; f < flows; f++) {
    const b = new Uint8Array(60);
    b.set(macBytes(dst), 0); b.set(macBytes(src), 6);
    b[12] = 0x08; b[13] = 0x00;
    const ip = 14;
    b[ip] = 0x45; b[ip + 3] = 46;           // total length 46 = 20 IP + 8 UDP + 18 payload
    b[ip + 6] = 0x40; b[ip + 8] = 64; b[ip + 9] = 17;
    b.set([10, 99, 0, 1], ip + 12); b.set(dstIp, ip + 16);
    const c = csum16(b, ip, 20); b[ip + 10] = c >> 8; b[ip + 11] = c & 255;
    const udp = ip + 20, sport = 10000 + f;
    b[udp] = sport >> 8; b[udp + 1] = sport & 255; b[udp + 2] = 0x23; b[udp + 3] = 0x28; // dport 9000
    b[udp + 5] = 26;                        // UDP length; checksum 0 (none)
    out.push(b);
  }
  return out;
}

/** Frames from the sink's MAC so that both switches learn where it is (a local-experimental EtherType the stacks ignore). */
function learnFrame(dst: string, src: string): Uint8Array {
  const b = new Uint8Array(60);
  b.set(macBytes(dst), 0); b.set(macBytes(src), 6);
  b[12] = 0x88; b[13] = 0xb5;
  return b;
}

const DST_IP = '239.255.0.99';

/**
 * A sink that sleeps: every intervalMs it drains the RX ring with rx() bursts and goes back to
 * sleep, so it costs a few % of a CPU however many frames arrive. The addon's sink() instead
 * ppoll()s as soon as the ring is empty and is woken by the next frame, which at these rates
 * means a wakeup every frame or two (about 1 us of CPU per frame on this machine) taken from
 * the cores the device under test needs. First/last-frame times are good to one interval.
 */
const slots = new Uint32Array(256);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
function pollSink(durationMs: number, idleMs: number, intervalMs: number): { frames: number; bytes: number; ns: number } {
  if (pool.inFlight === 0) pool.allocBurst(slots, slots.length);
  const t0 = performance.now();
  let first = 0, last = 0, frames = 0, bytes = 0;
  for (;;) {
    let got = 0;
    for (;;) {
      const n = addon.rx(handle, slots, slots.length);
      for (let i = 0; i < n; i++) bytes += pool.length[slots[i]];
      got += n;
      if (n < slots.length) break;
    }
    const now = performance.now();
    if (got) {
      if (!first) first = now;
      last = now;
      frames += got;
    }
    if (now - t0 >= durationMs || (idleMs && last && now - last >= idleMs)) break;
    Atomics.wait(sleeper, 0, 0, intervalMs);
  }
  return { frames, bytes, ns: Math.round((last - first) * 1e6) };
}

function reply(o: unknown): void { process.stdout.write(JSON.stringify(o) + '\n'); }

const rl = createInterface({ input: process.stdin });
reply({ ready: true, role, mac });
rl.on('line', (line) => {
  let cmd: Record<string, unknown>;
  try { cmd = JSON.parse(line); } catch { reply({ error: `bad command: ${line}` }); return; }
  try {
    switch (cmd.op) {
      case 'gen': {
        const frames = udpFrames(String(cmd.dst), mac, Number(cmd.flows ?? 16), String(cmd.dstIp ?? DST_IP).split('.').map(Number));
        reply(addon.generate(handle, frames, Number(cmd.count), Number(cmd.pps ?? 0)));
        break;
      }
      case 'learn': {
        const f = learnFrame(String(cmd.dst), mac);
        let sent = 0;
        for (let i = 0; i < Number(cmd.count ?? 4); i++) { addon.send(handle, f); sent++; }
        reply({ sent });
        break;
      }
      case 'sink': {
        // whatever arrived since the last trial (learning frames, stragglers) is not counted
        const drained = addon.sink(handle, 20, 0).frames;
        reply({ armed: true });
        const r = addon.sink(handle, Number(cmd.durationMs), Number(cmd.idleMs));
        reply({ ...r, drained });
        break;
      }
      case 'sinkPoll': {
        const iv = Number(cmd.intervalMs ?? 1);
        const drained = pollSink(20, 0, iv).frames;
        reply({ armed: true });
        reply({ ...pollSink(Number(cmd.durationMs), Number(cmd.idleMs), iv), drained });
        break;
      }
      case 'stats': reply(addon.stats(handle)); break;
      case 'quit': addon.close(handle); process.exit(0); break;
      default: reply({ error: `unknown op ${String(cmd.op)}` });
    }
  } catch (e) {
    reply({ error: (e as Error).message });
  }
});
rl.on('close', () => { addon.close(handle); process.exit(0); });
