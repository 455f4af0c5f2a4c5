// ip4-lookup — the forwarding decision: longest-prefix match, TTL, MTU.
//
// SYNOPSIS   ip4-lookup -> ip4-rewrite (aux = next hop), ip4-icmp-error (aux = the error),
//                           nat44-in2out (from a nat segment out through its uplink)
// The table is the one the ingress port's rule names (policy routing, seed 004), falling
// back to main when it has no route. No route: ICMP destination unreachable (net). TTL of
// 1 or less: ICMP time exceeded. Bigger than the egress MTU with DF set: ICMP
// fragmentation needed with the next-hop MTU (RFC 1191). Otherwise the TTL goes down by one
// with an incremental checksum update (RFC 1624) and the packet goes to ip4-rewrite.
// DROPS      ip4-needs-fragmentation: bigger than the egress MTU without DF (this router
//            does not fragment; counted)
import { Ip4Node } from './ip4-node.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { ip4DecrementTtl } from '../wire/checksum.js';
import { IcmpType, UnreachCode, TimeExceededCode } from '../wire/icmp4.js';

const NEXT_REWRITE = 0, NEXT_ICMP = 1, NEXT_NAT = 2;
const D_NEEDS_FRAG = 0;

/** aux encoding of an ICMP error to send: type << 24 | code << 16 | next-hop MTU */
export function icmpAux(type: number, code: number, mtu = 0): number {
  return ((type << 24) | (code << 16) | mtu) >>> 0;
}

const NET_UNREACH = icmpAux(IcmpType.destUnreachable, UnreachCode.net);
const TTL_EXCEEDED = icmpAux(IcmpType.timeExceeded, TimeExceededCode.ttl);

export class Ip4Lookup extends Ip4Node {
  readonly name = 'ip4-lookup';
  readonly nextNames = ['ip4-rewrite', 'ip4-icmp-error', 'nat44-in2out'] as const;
  readonly dropNames = ['ip4-needs-fragmentation'] as const;

  process(v: Uint32Array, n: number): void {
    const pool = this.pool;
    const b = pool.bytes;
    const dv = pool.view;
    const start = pool.start, rxPort = pool.rxPort, aux = pool.aux;
    const ctx = this.ip;
    const tableOfPort = ctx.tableOfPort, tables = ctx.tables, main = tables[0], nhPort = ctx.nhPort, mtu = ctx.mtu;
    const natOfPort = ctx.natOfPort, role = ctx.role;
    const rw = this.nextQueues[NEXT_REWRITE], icmp = this.nextQueues[NEXT_ICMP];
    const rws = rw.slots;
    let rwn = rw.count;
    for (let i = 0; i < n; i++) {
      const s = v[i];
      const ipo = start[s] + ETH_HLEN;
      const dst = dv.getUint32(ipo + 16);
      const t = tableOfPort[rxPort[s]];
      let nh = t === 0 ? 0 : tables[t].lookup(dst);
      if (nh === 0) nh = main.lookup(dst);
      if (nh === 0) { aux[s] = NET_UNREACH; icmp.slots[icmp.count++] = s; continue; }
      if (b[ipo + 8] <= 1) { aux[s] = TTL_EXCEEDED; icmp.slots[icmp.count++] = s; continue; }
      const total = dv.getUint16(ipo + 2);
      const egressMtu = mtu[nhPort[nh]];
      if (total > egressMtu) {
        if ((b[ipo + 6] & 0x40) !== 0) {
          aux[s] = icmpAux(IcmpType.destUnreachable, UnreachCode.fragNeeded, egressMtu);
          icmp.slots[icmp.count++] = s;
        } else {
          this.drop(s, D_NEEDS_FRAG);
        }
        continue;
      }
      ip4DecrementTtl(b, ipo);
      aux[s] = nh;
      const nat = natOfPort[rxPort[s]];
      if (nat >= 0 && natOfPort[nhPort[nh]] === nat && role[nhPort[nh]] === 2 /* Role.uplink */) {
        const q = this.nextQueues[NEXT_NAT];
        q.slots[q.count++] = s;
        continue;
      }
      rws[rwn++] = s;
    }
    rw.count = rwn;
  }
}
