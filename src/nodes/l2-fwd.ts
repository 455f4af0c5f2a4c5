// l2-fwd — forwards a frame to the port its destination MAC was learned on.
//
// SYNOPSIS   l2-fwd -> port-output (known unicast), l2-flood (broadcast, multicast, unknown)
// DROPS      same-port: the destination lives behind the port the frame came in on (the
//            segment already delivered it; sending it back would duplicate it)
//            no-table: the ingress port is not in a bridged network any more
// Within one vector, a packet with the same destination and ingress port as the one
// before it reuses that lookup's answer.
import { GraphNode } from '../engine/node.js';
import type { PacketPool } from '../engine/pool.js';
import type { L2Domains } from './l2-domains.js';

const NEXT_OUT = 0, NEXT_FLOOD = 1;
const D_SAME_PORT = 0, D_NO_TABLE = 1;

export class L2Fwd extends GraphNode {
  readonly name = 'l2-fwd';
  readonly nextNames = ['port-output', 'l2-flood'] as const;
  readonly dropNames = ['same-port', 'no-table'] as const;
  private readonly domains: L2Domains;

  constructor(pool: PacketPool, domains: L2Domains) {
    super(pool);
    this.domains = domains;
  }

  process(v: Uint32Array, n: number): void {
    const pool = this.pool;
    const dv = pool.view;
    const start = pool.start, rxPort = pool.rxPort, txPort = pool.txPort;
    const tables = this.domains.tableOfPort;
    const out = this.nextQueues[NEXT_OUT], flood = this.nextQueues[NEXT_FLOOD];
    const outs = out.slots, floods = flood.slots;
    let outn = out.count, floodn = flood.count;
    let lastHi = -1, lastLo = -1, lastPort = -1, lastDst = -1;
    for (let i = 0; i < n; i++) {
      const s = v[i];
      const o = start[s];
      const port = rxPort[s];
      const hi = dv.getUint16(o);
      if ((hi & 0x100) !== 0) { floods[floodn++] = s; continue; }
      const lo = dv.getUint32(o + 2);
      let dst: number;
      if (lo === lastLo && hi === lastHi && port === lastPort) {
        dst = lastDst;
      } else {
        const table = tables[port];
        if (table === null) { this.drop(s, D_NO_TABLE); continue; }
        dst = table.lookup(hi, lo);
        lastHi = hi; lastLo = lo; lastPort = port; lastDst = dst;
      }
      if (dst < 0) { floods[floodn++] = s; continue; }
      if (dst === port) { this.drop(s, D_SAME_PORT); continue; }
      txPort[s] = dst;
      outs[outn++] = s;
    }
    out.count = outn;
    flood.count = floodn;
  }
}
