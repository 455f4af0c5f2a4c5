// harness.ts — drives a Dataplane with in-memory ports and a fake clock: push frames into
// ports, run a breath, read what every port sent. Used by node and golden tests.
import { PacketPool } from '../../src/engine/pool.ts';
import { Dataplane } from '../../src/dataplane.ts';
import { MemoryPort } from '../../src/io/memory-port.ts';
import { FakeClock } from '../../src/engine/clock.ts';

export class Lab {
  readonly pool = new PacketPool(4096);
  readonly clock = new FakeClock();
  readonly dp = new Dataplane(this.pool, { clock: this.clock });
  readonly io = new Map<string, MemoryPort>();
  readonly ids = new Map<string, number>();

  network(name: string, ports: string[], fdb = { agingSeconds: 300, maxEntries: 1024 }, mtu = 1500): void {
    const net = this.dp.addNetwork(name, 'bridged', fdb);
    for (const p of ports) {
      const io = new MemoryPort(this.pool);
      const id = this.dp.addPort(p, io, mtu);
      this.io.set(p, io);
      this.ids.set(p, id);
      this.dp.joinNetwork(id, net);
    }
  }

  /** Frames enter `port`; run until quiet. */
  send(port: string, ...frames: Uint8Array[]): void {
    this.io.get(port)!.push(...frames);
    while (this.io.get(port)!.pending > 0) this.dp.service(this.ids.get(port)!);
  }

  /** What each port sent since the last call, as hex strings (ports with nothing are left out). */
  sent(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [name, io] of this.io) {
      const f = io.take();
      if (f.length) out[name] = f.map((b) => Buffer.from(b).toString('hex'));
    }
    return out;
  }

  drops(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of this.dp.graph.stats()) for (const [k, v] of Object.entries(n.counters)) if (v && !['learned', 'moved', 'copies'].includes(k)) out[k] = (out[k] ?? 0) + v;
    return out;
  }
}
