// ip4-context.ts — what the routed nodes know: per-port router facts, the routing tables,
// the next hops (adjacencies), the switch's own addresses and the neighbour table.
// Plain data in typed arrays indexed by port or next-hop number; the control plane
// (src/routing.ts) fills it from the configuration, the nodes only read it (and the
// neighbour table, which they update from ARP).
//
// Next hops: number 0 means "no route". A next hop is an egress port and a gateway
// address; gateway 0 means the destination is on the link (connected route, host route).
import { MAX_PORTS } from '../engine/ports.js';
import { Lpm4 } from '../tables/lpm4.js';
import { Neighbors } from '../tables/neighbors.js';
import type { Conntrack } from '../tables/conntrack.js';

/** Port roles: VM ports and uplinks of routed networks; `inside`: the switch's router
 *  interface on a nat or isolated segment (its address is the VMs' gateway). */
export const Role = { none: 0, vm: 1, uplink: 2, inside: 3 } as const;

export const MAX_NEXT_HOPS = 4096;

/** What the dhcp-server node needs of a DHCP server (src/dhcp/server.ts). */
export interface DhcpHandler {
  /** Handle the request frame at b[o..o+len); write the reply frame in place, return its length (0: none). */
  handle(b: Uint8Array, o: number, len: number, nowMs: number): number;
}

export class Ip4Context {
  /** the MAC the switch uses on the port (uplink: the interface's own; VM ports: the switch's) */
  readonly macHi = new Uint16Array(MAX_PORTS);
  readonly macLo = new Uint32Array(MAX_PORTS);
  /** the switch's address on the port: source of its ARP requests and ICMP errors */
  readonly addr = new Uint32Array(MAX_PORTS);
  readonly role = new Uint8Array(MAX_PORTS);
  /** IP MTU of the port */
  readonly mtu = new Uint16Array(MAX_PORTS);
  /** routing table chosen for packets that arrive on the port (policy rule by ingress port) */
  readonly tableOfPort = new Uint8Array(MAX_PORTS);
  /** drop packets from VM ports whose source is not that port's VM address */
  readonly antiSpoof = new Uint8Array(MAX_PORTS);
  /** the network's gateway address on VM ports (answered by proxy ARP), 0 elsewhere */
  readonly gateway = new Uint32Array(MAX_PORTS);
  /** the network (index) a routed port belongs to, for publishing */
  readonly network = new Int16Array(MAX_PORTS).fill(-1);

  /** routing tables; 0 is main. Created on first use: each reserves 48 MiB of address
   *  space (pages become resident only when written), so a bridged-only switch has none. */
  readonly tables: Lpm4[] = [];
  readonly tableNames: string[] = [];

  readonly nhPort = new Uint16Array(MAX_NEXT_HOPS);
  readonly nhGateway = new Uint32Array(MAX_NEXT_HOPS);
  nextHops = 1; // 0 is "no route"

  /** the switch's own addresses (local delivery), a short list */
  local = new Uint32Array(0);
  /** addresses answered by proxy ARP on an uplink port: published[i] on publishedPort[i] */
  published = new Uint32Array(0);
  publishedPort = new Uint16Array(0);

  readonly neighbors: Neighbors;

  /** NAT: the connection table of each nat network, its uplink (masquerade) address, and
   *  which nat network a port belongs to (its router interface and its uplink), -1 none */
  readonly nats: Conntrack[] = [];
  natAddr = new Uint32Array(0);
  readonly natOfPort = new Int16Array(MAX_PORTS).fill(-1);

  /** DHCP servers of nat/isolated networks, and which one serves a router interface (-1 none) */
  readonly dhcp: DhcpHandler[] = [];
  readonly dhcpOfPort = new Int16Array(MAX_PORTS).fill(-1);

  constructor(neighbors: Neighbors) {
    this.neighbors = neighbors;
  }

  /** A next hop (port, gateway), shared when the same pair was added before. */
  nextHop(port: number, gateway: number): number {
    for (let i = 1; i < this.nextHops; i++) if (this.nhPort[i] === port && this.nhGateway[i] === gateway) return i;
    if (this.nextHops >= MAX_NEXT_HOPS) throw new RangeError(`routing: more than ${MAX_NEXT_HOPS - 1} next hops`);
    const i = this.nextHops++;
    this.nhPort[i] = port;
    this.nhGateway[i] = gateway;
    return i;
  }

  table(name: string): number {
    if (this.tables.length === 0 && name !== 'main') this.table('main');
    let t = this.tableNames.indexOf(name);
    if (t < 0) {
      if (this.tables.length >= 255) throw new RangeError('routing: more than 255 tables');
      t = this.tables.length;
      this.tables.push(new Lpm4());
      this.tableNames.push(name);
    }
    return t;
  }

  isLocal(ip: number): boolean {
    const l = this.local;
    for (let i = 0; i < l.length; i++) if (l[i] === ip) return true;
    return false;
  }

  /** The nat network whose uplink address is ip, or -1. */
  natOfAddr(ip: number): number {
    const a = this.natAddr;
    for (let i = 0; i < a.length; i++) if (a[i] === ip) return i;
    return -1;
  }

  /** Port on which ip is published by proxy ARP, or -1. */
  publishedOn(ip: number): number {
    const p = this.published;
    for (let i = 0; i < p.length; i++) if (p[i] === ip) return this.publishedPort[i];
    return -1;
  }

  /** Next hop for dst from a packet that arrived on port: its table, then main. */
  route(port: number, dst: number): number {
    const t = this.tableOfPort[port];
    if (t !== 0) {
      const nh = this.tables[t].lookup(dst);
      if (nh !== 0) return nh;
    }
    return this.tables[0].lookup(dst);
  }
}
