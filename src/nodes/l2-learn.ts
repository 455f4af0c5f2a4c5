// l2-learn — learns which port each source MAC lives behind.
//
// SYNOPSIS   l2-learn -> l2-fwd
// Looks the source MAC up in the MAC table of the ingress port's network and adds it,
// refreshes it, or moves it (a MAC seen on another port than before is relearned there).
// The table bounds itself (oldest first) and counts evictions. Never drops.
// Within one vector, a packet with the same source MAC and port as the packet before it
// skips the table (VPP's l2-learn keeps the same one-entry cache): the first packet
// already refreshed the entry this second.
// COUNTERS   learned (new MACs), moved (MACs relearned on another port)
import { GraphNode } from '../engine/node.js';
import type { PacketPool } from '../engine/pool.js';
import { Learn } from '../tables/mac-table.js';
import type { L2Domains } from './l2-domains.js';

const NEXT_FWD = 0;
const C_LEARNED = 0, C_MOVED = 1;

export class L2Learn extends GraphNode {
  readonly name = 'l2-learn';
  readonly nextNames = ['l2-fwd'] as const;
  readonly dropNames = [] as const;
  override readonly counterNames = ['learned', 'moved'] as const;
  private readonly domains: L2Domains;

  constructor(pool: PacketPool, domains: L2Domains) {
    super(pool);
    this.domains = domains;
  }

  process(v: Uint32Array, n: number): void {
    const pool = this.pool;
    const dv = pool.view;
    const start = pool.start, rxPort = pool.rxPort;
    const tables = this.domains.tableOfPort;
    const now = this.ctx.nowSec;
    const counters = this.counters;
    const fwd = this.nextQueues[NEXT_FWD];
    const fwds = fwd.slots;
    let fwdn = fwd.count;
    let lastHi = -1, lastLo = -1, lastPort = -1;
    for (let i = 0; i < n; i++) {
      const s = v[i];
      const o = start[s];
      const port = rxPort[s];
      const hi = dv.getUint16(o + 6);
      const lo = dv.getUint32(o + 8);
      if (lo !== lastLo || hi !== lastHi || port !== lastPort) {
        const table = tables[port];
        if (table !== null) {
          const r = table.learn(hi, lo, port, now);
          if (r !== 0 /* Learn.refreshed */) counters[r === Learn.added ? C_LEARNED : C_MOVED]++;
        }
        lastHi = hi; lastLo = lo; lastPort = port;
      }
      fwds[fwdn++] = s;
    }
    fwd.count = fwdn;
  }
}
