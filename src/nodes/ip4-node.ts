// ip4-node.ts — the base of the nodes on the IPv4 path (routed, nat and isolated networks):
// a graph node that also reads the shared Ip4Context (ports' router facts, tables, next
// hops, neighbours, connection tracking, DHCP servers).
import { GraphNode } from '../engine/node.js';
import type { PacketPool } from '../engine/pool.js';
import type { Ip4Context } from './ip4-context.js';

export abstract class Ip4Node extends GraphNode {
  protected readonly ip: Ip4Context;

  constructor(pool: PacketPool, ip: Ip4Context) {
    super(pool);
    this.ip = ip;
  }
}
