// l2-flood — sends a frame to every other port of its network.
//
// SYNOPSIS   l2-flood -> port-output
// Broadcast, multicast and unknown unicast go to every member port of the ingress port's
// network that is up, never back out of the ingress port and never into another network.
// One owner per slot: the original goes to the last port, every other port gets a copy.
// DROPS      no-buffer: the pool was empty for a copy (that copy is lost, counted)
//            no-flood-port: the network has no other port that is up
// COUNTERS   copies
import { GraphNode } from '../engine/node.js';
import type { PacketPool } from '../engine/pool.js';
import type { PortTable } from '../engine/ports.js';
import type { L2Domains } from './l2-domains.js';

const NEXT_OUT = 0;
const D_NO_BUFFER = 0, D_NO_PORT = 1;
const C_COPIES = 0;

export class L2Flood extends GraphNode {
  readonly name = 'l2-flood';
  readonly nextNames = ['port-output'] as const;
  readonly dropNames = ['no-buffer', 'no-flood-port'] as const;
  override readonly counterNames = ['copies'] as const;
  private readonly domains: L2Domains;
  private readonly ports: PortTable;

  constructor(pool: PacketPool, ports: PortTable, domains: L2Domains) {
    super(pool);
    this.ports = ports;
    this.domains = domains;
  }

  process(v: Uint32Array, n: number): void {
    const pool = this.pool;
    const up = this.ports.up;
    const floods = this.domains.floodOfPort;
    for (let i = 0; i < n; i++) {
      const s = v[i];
      const inPort = pool.rxPort[s];
      const members = floods[inPort];
      // the last eligible member gets the original
      let last = -1;
      for (let k = members.length - 1; k >= 0; k--) {
        const p = members[k];
        if (p !== inPort && up[p] === 1) { last = k; break; }
      }
      if (last < 0) { this.drop(s, D_NO_PORT); continue; }
      for (let k = 0; k < last; k++) {
        const p = members[k];
        if (p === inPort || up[p] !== 1) continue;
        const c = pool.clone(s);
        if (c < 0) { this.drops[D_NO_BUFFER]++; this.ctx.portDrops[inPort * this.ctx.reasons + this.dropIds[D_NO_BUFFER]]++; continue; }
        pool.txPort[c] = p;
        this.counters[C_COPIES]++;
        this.toNext(NEXT_OUT, c);
      }
      pool.txPort[s] = members[last];
      this.toNext(NEXT_OUT, s);
    }
  }
}
