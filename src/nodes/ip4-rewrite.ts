// ip4-rewrite — writes the Ethernet header for the next hop and hands the packet to its port.
//
// SYNOPSIS   ip4-rewrite -> port-output
// aux holds the next hop chosen by ip4-lookup (or ip4-local / ip4-icmp-error). The MAC of
// the next hop (the gateway, or the destination itself on a connected or host route) comes
// from the neighbour table; the source MAC is the switch's on the egress port (the uplink
// interface's own MAC there). An unresolved next hop: the packet waits in the neighbour
// table's bounded queue and an ARP request goes out (once per address, not per packet); a
// stale entry is used and re-verified with a unicast request.
// DROPS      arp-queue-full: the wait queue for that address (or in all) was full
//            no-buffer: no slot for the ARP request
import { Ip4Node } from './ip4-node.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { Resolve } from '../tables/neighbors.js';
import { arpRequestSlot } from './arp-request.js';

const NEXT_OUT = 0;
const D_QUEUE_FULL = 0, D_NO_BUFFER = 1;
const C_ARP_REQUESTS = 0;

export class Ip4Rewrite extends Ip4Node {
  readonly name = 'ip4-rewrite';
  readonly nextNames = ['port-output'] as const;
  readonly dropNames = ['arp-queue-full', 'no-buffer'] as const;
  override readonly counterNames = ['arp-requests'] as const;

  process(v: Uint32Array, n: number): void {
    const pool = this.pool;
    const dv = pool.view;
    const start = pool.start, aux = pool.aux, txPort = pool.txPort;
    const ctx = this.ip;
    const neigh = ctx.neighbors;
    const nhPort = ctx.nhPort, nhGateway = ctx.nhGateway, macHi = ctx.macHi, macLo = ctx.macLo;
    const now = this.ctx.nowMs;
    const out = this.nextQueues[NEXT_OUT];
    const outs = out.slots;
    let outn = out.count;
    let lastHop = -1, lastE = -1;
    for (let i = 0; i < n; i++) {
      const s = v[i];
      const o = start[s];
      const nh = aux[s];
      const port = nhPort[nh];
      const gw = nhGateway[nh];
      const hop = gw !== 0 ? gw : dv.getUint32(o + ETH_HLEN + 16);
      let e: number;
      if (hop === lastHop) {
        e = lastE;
      } else {
        e = neigh.lookup(hop);
        if (e >= 0 && neigh.use(e, now)) {
          const r = arpRequestSlot(pool, ctx, neigh.port(e), hop, neigh.macHi(e), neigh.macLo(e));
          if (r >= 0) { outs[outn++] = r; this.counters[C_ARP_REQUESTS]++; }
        }
        lastHop = hop; lastE = e;
      }
      if (e < 0) {
        lastHop = -1; // the queue may fill or resolve: decide again for the next packet
        const r = neigh.resolve(hop, port, now, s);
        if (r === Resolve.dropped) { this.drop(s, D_QUEUE_FULL); continue; }
        if (r === Resolve.request) {
          const q = arpRequestSlot(pool, ctx, port, hop);
          if (q >= 0) { outs[outn++] = q; this.counters[C_ARP_REQUESTS]++; } else { this.drops[D_NO_BUFFER]++; }
        }
        continue; // held by the neighbour table until resolved or failed
      }
      dv.setUint16(o, neigh.macHi(e));
      dv.setUint32(o + 2, neigh.macLo(e));
      dv.setUint16(o + 6, macHi[port]);
      dv.setUint32(o + 8, macLo[port]);
      txPort[s] = port;
      outs[outn++] = s;
    }
    out.count = outn;
  }
}
