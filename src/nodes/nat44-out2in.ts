// nat44-out2in — packets to a nat network's uplink address: replies of tracked flows and
// forwarded ports (DNAT) go in to their VM; anything else unsolicited is dropped, counted.
//
// SYNOPSIS   nat44-out2in -> ip4-lookup (translated: routed in to the segment),
//                             ip4-local (for the switch itself: ping of the uplink address),
//                             ip4-icmp-error (TTL exceeded, about the packet as it came in)
// A reply matches its flow by (protocol, remote address:port, external port); a packet
// that matches no flow but a `forwards` entry creates one (DNAT, "tcp 2222 -> vm:22").
// Destination address and port (or echo identifier) are rewritten with incremental
// checksums; ICMP errors about a flow are translated (nat44-icmp.ts) and never tear it down.
// A packet of a flow that arrives with TTL 1 is not translated: its time exceeded must quote
// what the sender sent (the uplink address and port), never the VM's address behind the NAT
// (Linux gets the same by translating errors RELATED to a connection back).
// DROPS      nat-unsolicited: no flow and no forward (an outside host cannot open
//            connections in unless forwarded); nat-unsupported: fragments, cut headers
import { Ip4Node } from './ip4-node.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { ip4SetDst, l4UpdateAddr, l4UpdatePort } from '../wire/checksum.js';
import { setEchoId, IcmpType, TimeExceededCode } from '../wire/icmp4.js';
import { icmpAux } from './ip4-lookup.js';
import { translateIcmpError } from './nat44-icmp.js';

const NEXT_LOOKUP = 0, NEXT_LOCAL = 1, NEXT_ICMP = 2;
const TTL_EXCEEDED = icmpAux(IcmpType.timeExceeded, TimeExceededCode.ttl);
const D_UNSOLICITED = 0, D_UNSUPPORTED = 1;
const TCP = 6, UDP = 17, ICMP = 1;

export class Nat44Out2In extends Ip4Node {
  readonly name = 'nat44-out2in';
  readonly nextNames = ['ip4-lookup', 'ip4-local', 'ip4-icmp-error'] as const;
  readonly dropNames = ['nat-unsolicited', 'nat-unsupported'] as const;
  override readonly counterNames = ['nat-in', 'nat-forwarded-new'] as const;

  process(v: Uint32Array, n: number): void {
    const pool = this.pool;
    const b = pool.bytes;
    const dv = pool.view;
    const ctx = this.ip;
    const now = this.ctx.nowSec;
    const counters = this.counters;
    const lookup = this.nextQueues[NEXT_LOOKUP], local = this.nextQueues[NEXT_LOCAL], icmp = this.nextQueues[NEXT_ICMP];
    for (let i = 0; i < n; i++) {
      const s = v[i];
      const ipo = pool.start[s] + ETH_HLEN;
      const dst = dv.getUint32(ipo + 16);
      const nat = ctx.natOfAddr(dst);
      if (nat < 0) { local.slots[local.count++] = s; continue; }
      const ct = ctx.nats[nat];
      const hl = (b[ipo] & 15) << 2;
      const total = dv.getUint16(ipo + 2);
      const l4 = ipo + hl;
      const proto = b[ipo + 9];
      const src = dv.getUint32(ipo + 12);
      if ((dv.getUint16(ipo + 6) & 0x1fff) !== 0) { this.drop(s, D_UNSUPPORTED); continue; }
      if (proto === TCP || proto === UDP) {
        if (total - hl < (proto === TCP ? 20 : 8)) { this.drop(s, D_UNSUPPORTED); continue; }
        const sport = dv.getUint16(l4), dport = dv.getUint16(l4 + 2);
        let f = ct.lookupIn(proto, src, sport, dport);
        if (f < 0) {
          f = ct.createIn(proto, src, sport, dport, now);
          if (f < 0) { this.drop(s, D_UNSOLICITED); continue; }
          counters[1]++;
        }
        if (b[ipo + 8] <= 1) { pool.aux[s] = TTL_EXCEEDED; icmp.slots[icmp.count++] = s; continue; }
        if (proto === TCP) ct.tcp(f, false, b[l4 + 13], now); else ct.touch(f, false, now);
        const inside = ct.insideIp(f);
        ip4SetDst(b, ipo, inside);
        l4UpdateAddr(b, l4, proto, dst, inside);
        l4UpdatePort(b, l4, proto, 2, ct.insidePort(f));
      } else if (proto === ICMP) {
        if (total - hl < 8) { this.drop(s, D_UNSUPPORTED); continue; }
        const type = b[l4];
        if (type === 0) {
          const id = dv.getUint16(l4 + 4);
          const f = ct.lookupIn(ICMP, src, id, id);
          if (f < 0) { this.drop(s, D_UNSOLICITED); continue; }
          if (b[ipo + 8] <= 1) { pool.aux[s] = TTL_EXCEEDED; icmp.slots[icmp.count++] = s; continue; }
          ct.touch(f, false, now);
          ip4SetDst(b, ipo, ct.insideIp(f));
          setEchoId(b, l4, ct.insidePort(f));
        } else if (type === 8) {
          local.slots[local.count++] = s; // ping of the uplink address: the switch answers
          continue;
        } else if (!translateIcmpError(b, dv, ipo, total, ct, dst, false)) {
          this.drop(s, D_UNSOLICITED); continue;
        }
      } else {
        this.drop(s, D_UNSOLICITED); continue;
      }
      counters[0]++;
      lookup.slots[lookup.count++] = s;
    }
  }
}
