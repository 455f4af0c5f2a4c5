// ports.ts — the port table the graph sees: per-port I/O, state, counters and capture taps.
//
// A port is a small integer. Its I/O is anything that can move a burst of pool slots in
// and out (PortIo): the native AF_PACKET/TAP ports, an in-memory port in tests and the
// in-process benchmark. Counters are flat Float64Arrays indexed by port (exact integers up
// to 2^53, no overflow in practice), so updating them allocates nothing.
//
// Capture: a port with subscribers has capturing[port] = 1; only then do the rx/tx paths
// call out with a view of each frame (that costs an allocation per frame, which is fine
// for a debugging tap and free when nobody listens).
import type { PacketPool } from './pool.js';

export interface PortIo {
  /** Fill slots[0..n) with received frames; return how many were filled. */
  rx(slots: Uint32Array, n: number): number;
  /** Transmit slots[0..n); return how many the device accepted. The caller frees all n. */
  tx(slots: Uint32Array, n: number): number;
}

export type CaptureFn = (dir: 'rx' | 'tx', frame: Uint8Array, timeNs: bigint) => void;

export const MAX_PORTS = 1024;

/** Network modes as small numbers for the packet path. */
export const Mode = { none: 0, bridged: 1, routed: 2, nat: 3, isolated: 4 } as const;
export const TX_BATCH = 256;

export class PortTable {
  readonly io: (PortIo | null)[] = [];
  readonly names: string[] = [];
  /** 1 while the port can send and receive */
  readonly up = new Uint8Array(MAX_PORTS);
  /** network id of the port, -1 when in none */
  readonly network = new Int16Array(MAX_PORTS).fill(-1);
  /** mode of the port's network (Mode values), Mode.none when in none */
  readonly mode = new Uint8Array(MAX_PORTS);
  /** what eth-input does with the port's frames: its mode while up, Mode.none (drop) when down.
   *  Kept by setMode/setUp so the packet path reads one array, not two. */
  readonly ingress = new Uint8Array(MAX_PORTS);
  /** largest frame accepted (MTU + Ethernet header; tags add 4 each on top) */
  readonly maxFrame = new Uint16Array(MAX_PORTS);
  readonly rxPackets = new Float64Array(MAX_PORTS);
  readonly rxBytes = new Float64Array(MAX_PORTS);
  readonly txPackets = new Float64Array(MAX_PORTS);
  readonly txBytes = new Float64Array(MAX_PORTS);
  /** frames that could not be sent (device queue full, port down) */
  readonly txDrops = new Float64Array(MAX_PORTS);
  readonly capturing = new Uint8Array(MAX_PORTS);
  /**
   * Patch ports come in pairs and have no device: a frame sent out of one comes in on the
   * other (port-output turns it around). A nat or isolated network is a bridged segment plus
   * the switch's own router interface, joined by such a pair (a veth pair in Linux terms).
   */
  readonly peer = new Int16Array(MAX_PORTS).fill(-1);
  private readonly taps: CaptureFn[][] = [];
  private readonly pool: PacketPool;

  constructor(pool: PacketPool) { this.pool = pool; }

  /** Register a port; returns its number (reusing a free number). */
  add(name: string, io: PortIo, maxFrame: number): number {
    let id = this.names.indexOf('');
    if (id < 0) id = this.names.length;
    if (id >= MAX_PORTS) throw new Error(`too many ports (max ${MAX_PORTS})`);
    this.io[id] = io;
    this.names[id] = name;
    this.maxFrame[id] = maxFrame;
    this.up[id] = 1;
    this.network[id] = -1;
    this.mode[id] = Mode.none;
    this.ingress[id] = Mode.none;
    this.taps[id] = [];
    this.capturing[id] = 0;
    for (const a of [this.rxPackets, this.rxBytes, this.txPackets, this.txBytes, this.txDrops]) a[id] = 0;
    return id;
  }

  setMode(id: number, mode: number): void {
    this.mode[id] = mode;
    this.ingress[id] = this.up[id] === 1 ? mode : Mode.none;
  }

  setUp(id: number, up: boolean): void {
    this.up[id] = up ? 1 : 0;
    this.ingress[id] = up ? this.mode[id] : Mode.none;
  }

  /** Two device-less ports joined to each other; returns [a, b]. */
  addPatch(nameA: string, nameB: string, maxFrame: number): [number, number] {
    const none: PortIo = { rx: () => 0, tx: () => 0 };
    const a = this.add(nameA, none, maxFrame);
    const b = this.add(nameB, none, maxFrame);
    this.peer[a] = b;
    this.peer[b] = a;
    return [a, b];
  }

  remove(id: number): void {
    const peer = this.peer[id];
    if (peer >= 0) { this.peer[peer] = -1; this.peer[id] = -1; }
    this.io[id] = null;
    this.names[id] = '';
    this.up[id] = 0;
    this.network[id] = -1;
    this.mode[id] = Mode.none;
    this.ingress[id] = Mode.none;
    this.taps[id] = [];
    this.capturing[id] = 0;
  }

  id(name: string): number {
    const i = name ? this.names.indexOf(name) : -1;
    return i;
  }

  get count(): number { return this.names.length; }

  subscribe(id: number, fn: CaptureFn): () => void {
    this.taps[id].push(fn);
    this.capturing[id] = 1;
    return () => {
      const list = this.taps[id];
      const i = list ? list.indexOf(fn) : -1;
      if (i >= 0) list.splice(i, 1);
      if (list && list.length === 0) this.capturing[id] = 0;
    };
  }

  /** Hand slots[from..to) of port id to its capture subscribers. */
  tapFrames(id: number, dir: 'rx' | 'tx', slots: Uint32Array, from: number, to: number): void {
    const t = process.hrtime.bigint();
    const pool = this.pool;
    for (let i = from; i < to; i++) {
      const s = slots[i];
      const frame = pool.bytes.subarray(pool.start[s], pool.start[s] + pool.length[s]);
      for (const fn of this.taps[id]) {
        try { fn(dir, frame, t); } catch { /* a broken subscriber must not stop forwarding */ }
      }
    }
  }
}
