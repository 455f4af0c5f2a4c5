// l2-domains.ts — what the L2 nodes know about bridged networks: which MAC table serves a
// port, and which ports a frame is flooded to. Plain data, updated when ports come and go.
import type { MacTable } from '../tables/mac-table.js';
import { MAX_PORTS } from '../engine/ports.js';

export class L2Domains {
  /** MAC table of the port's bridged network, indexed by port; null when not bridged */
  readonly tableOfPort: (MacTable | null)[] = new Array(MAX_PORTS).fill(null);
  /** flood list (member ports) of the port's network, indexed by port */
  readonly floodOfPort: Uint16Array[] = new Array(MAX_PORTS).fill(new Uint16Array(0));

  /** Set the members of one network: every member shares table and flood list. */
  setNetwork(members: number[], table: MacTable): void {
    const list = Uint16Array.from(members);
    for (const p of members) { this.tableOfPort[p] = table; this.floodOfPort[p] = list; }
  }

  clearPort(port: number): void {
    this.tableOfPort[port] = null;
    this.floodOfPort[port] = new Uint16Array(0);
  }
}
