// ip4-local — packets for the switch's own addresses (the gateway on VM ports, the
// uplink address).
//
// SYNOPSIS   ip4-local -> ip4-rewrite (echo replies), ip4-icmp-error (port unreachable)
// ICMP echo requests are answered in place (RFC 792; the reply is routed back like any
// packet, from the address that was pinged). UDP and TCP get ICMP port unreachable: the
// switch runs no service on them (yet). Anything else is dropped and counted.
// DROPS      local-unsupported: another protocol, or an ICMP message that is not an echo
//            request; local-fragment: fragments are not reassembled; no-route-back
import { Ip4Node } from './ip4-node.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { echoReplyInPlace, IcmpType, UnreachCode } from '../wire/icmp4.js';
import { icmpAux } from './ip4-lookup.js';

const NEXT_REWRITE = 0, NEXT_ICMP = 1;
const D_UNSUPPORTED = 0, D_FRAGMENT = 1, D_NO_ROUTE = 2;
const PORT_UNREACH = icmpAux(IcmpType.destUnreachable, UnreachCode.port);

export class Ip4Local extends Ip4Node {
  readonly name = 'ip4-local';
  readonly nextNames = ['ip4-rewrite', 'ip4-icmp-error'] as const;
  readonly dropNames = ['local-unsupported', 'local-fragment', 'no-route-back'] as const;
  override readonly counterNames = ['echo-replies'] as const;

  process(v: Uint32Array, n: number): void {
    const pool = this.pool;
    const b = pool.bytes;
    const dv = pool.view;
    const ctx = this.ip;
    const rw = this.nextQueues[NEXT_REWRITE], icmp = this.nextQueues[NEXT_ICMP];
    for (let i = 0; i < n; i++) {
      const s = v[i];
      const ipo = pool.start[s] + ETH_HLEN;
      if ((dv.getUint16(ipo + 6) & 0x3fff) !== 0) { this.drop(s, D_FRAGMENT); continue; }
      const proto = b[ipo + 9];
      if (proto === 1) {
        const hl = (b[ipo] & 15) << 2;
        const total = dv.getUint16(ipo + 2);
        if (total < hl + 8 || !echoReplyInPlace(b, ipo)) { this.drop(s, D_UNSUPPORTED); continue; }
        const nh = ctx.route(pool.rxPort[s], dv.getUint32(ipo + 16));
        if (nh === 0) { this.drop(s, D_NO_ROUTE); continue; }
        pool.aux[s] = nh;
        rw.slots[rw.count++] = s;
        this.counters[0]++;
      } else if (proto === 6 || proto === 17) {
        pool.aux[s] = PORT_UNREACH;
        icmp.slots[icmp.count++] = s;
      } else {
        this.drop(s, D_UNSUPPORTED);
      }
    }
  }
}
