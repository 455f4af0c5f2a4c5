// port-output — hands packets to their egress ports, in bursts.
//
// SYNOPSIS   port-output -> eth-input (patch ports only); otherwise a sink: every slot it
//            gets is transmitted or dropped, then freed
// Collects the packets of each egress port (pool.txPort) into a batch and transmits a batch
// with one call when it is full and at the end of every vector, so the native edge sees
// bursts, never single packets. Frames the device refused are counted on the egress port
// (txDrops) and as tx-full here.
// A patch port (a nat/isolated network's link between its segment and the switch's router
// interface) has no device: its frames come back in on its peer, through eth-input.
// DROPS      port-down: the egress port was removed or is down
//            tx-full: the device's queue (TX ring, TAP fd) had no room
import { GraphNode } from '../engine/node.js';
import type { PacketPool } from '../engine/pool.js';
import { MAX_PORTS, TX_BATCH, type PortTable } from '../engine/ports.js';

const D_PORT_DOWN = 0, D_TX_FULL = 1;

export class PortOutput extends GraphNode {
  readonly name = 'port-output';
  readonly nextNames = ['eth-input'] as const;
  readonly dropNames = ['port-down', 'tx-full'] as const;
  private readonly ports: PortTable;
  private readonly batches: Uint32Array[] = [];
  private readonly batchLen = new Uint16Array(MAX_PORTS);
  private readonly dirty = new Uint16Array(MAX_PORTS);
  private readonly isDirty = new Uint8Array(MAX_PORTS);
  private dirtyCount = 0;

  constructor(pool: PacketPool, ports: PortTable) {
    super(pool);
    this.ports = ports;
    for (let p = 0; p < MAX_PORTS; p++) this.batches.push(new Uint32Array(0));
  }

  process(v: Uint32Array, n: number): void {
    const pool = this.pool;
    const txPort = pool.txPort;
    const up = this.ports.up;
    const batchLen = this.batchLen, batches = this.batches;
    for (let i = 0; i < n; i++) {
      const s = v[i];
      const p = txPort[s];
      if (up[p] !== 1) {
        this.drops[D_PORT_DOWN]++;
        this.ports.txDrops[p]++;
        pool.free(s);
        continue;
      }
      const peer = this.ports.peer[p];
      if (peer >= 0) { this.patch(s, p, peer); continue; }
      let k = batchLen[p];
      if (this.isDirty[p] === 0) {
        this.isDirty[p] = 1;
        this.dirty[this.dirtyCount++] = p;
        if (this.batches[p].length === 0) this.batches[p] = new Uint32Array(TX_BATCH);
      }
      batches[p][k++] = s;
      batchLen[p] = k;
      if (k === TX_BATCH) this.flush(p);
    }
    for (let d = 0; d < this.dirtyCount; d++) {
      const p = this.dirty[d];
      this.isDirty[p] = 0;
      if (batchLen[p] > 0) this.flush(p);
    }
    this.dirtyCount = 0;
  }

  private patch(s: number, p: number, peer: number): void {
    const ports = this.ports;
    const len = this.pool.length[s];
    ports.txPackets[p]++; ports.txBytes[p] += len;
    ports.rxPackets[peer]++; ports.rxBytes[peer] += len;
    this.pool.rxPort[s] = peer;
    const q = this.nextQueues[0];
    q.slots[q.count++] = s;
  }

  private flush(p: number): void {
    const batch = this.batches[p];
    const n = this.batchLen[p];
    this.batchLen[p] = 0;
    const ports = this.ports;
    const pool = this.pool;
    if (ports.capturing[p] === 1) ports.tapFrames(p, 'tx', batch, 0, n);
    const io = ports.io[p];
    const sent = io === null ? 0 : io.tx(batch, n);
    const length = pool.length;
    let bytes = 0;
    for (let i = 0; i < sent; i++) bytes += length[batch[i]];
    ports.txPackets[p] += sent;
    ports.txBytes[p] += bytes;
    if (sent < n) {
      this.drops[D_TX_FULL] += n - sent;
      ports.txDrops[p] += n - sent;
    }
    pool.freeRange(batch, 0, n);
  }
}
