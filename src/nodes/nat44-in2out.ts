// nat44-in2out — masquerade: packets from a nat segment leaving through its uplink get the
// uplink address as source (libvirt NAT, Xen vif-nat, VMware vmnet8).
//
// SYNOPSIS   nat44-in2out -> ip4-rewrite (aux = next hop, from ip4-lookup),
//                            nat44-out2in (hairpin: the destination is the uplink address),
//                            ip4-icmp-error (a hairpin packet with TTL 1: ip4-input sent it
//                            here before any TTL check; the error quotes it untranslated)
// TCP, UDP and ICMP echo (the identifier plays the port) are tracked in the segment's
// connection table: endpoint-independent mapping, the source port kept when free, no port
// overloading (RFC 4787, 5382, 5508). Source address, port/identifier and every checksum
// that covers them are updated incrementally (RFC 1624); a UDP checksum of 0 stays 0.
// An ICMP error a VM sends about a flow that came in (a forwarded port) is translated too:
// its outer source and the quoted datagram's destination become the uplink's.
// DROPS      nat-no-mapping: the table is full of established flows or no port is free
//            nat-unsupported: another protocol, a non-first fragment, a header cut short
import { Ip4Node } from './ip4-node.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { ip4SetSrc, l4UpdateAddr, l4UpdatePort } from '../wire/checksum.js';
import { setEchoId, IcmpType, TimeExceededCode } from '../wire/icmp4.js';
import { icmpAux } from './ip4-lookup.js';
import { translateIcmpError } from './nat44-icmp.js';

const NEXT_REWRITE = 0, NEXT_OUT2IN = 1, NEXT_ICMP = 2;
const TTL_EXCEEDED = icmpAux(IcmpType.timeExceeded, TimeExceededCode.ttl);
const D_NO_MAPPING = 0, D_UNSUPPORTED = 1;
const TCP = 6, UDP = 17, ICMP = 1;

export class Nat44In2Out extends Ip4Node {
  readonly name = 'nat44-in2out';
  readonly nextNames = ['ip4-rewrite', 'nat44-out2in', 'ip4-icmp-error'] as const;
  readonly dropNames = ['nat-no-mapping', 'nat-unsupported'] as const;
  override readonly counterNames = ['nat-out', 'nat-new-flows', 'nat-hairpin'] as const;

  process(v: Uint32Array, n: number): void {
    const pool = this.pool;
    const b = pool.bytes;
    const dv = pool.view;
    const ctx = this.ip;
    const now = this.ctx.nowSec;
    const counters = this.counters;
    const rw = this.nextQueues[NEXT_REWRITE], hair = this.nextQueues[NEXT_OUT2IN], icmp = this.nextQueues[NEXT_ICMP];
    for (let i = 0; i < n; i++) {
      const s = v[i];
      const ipo = pool.start[s] + ETH_HLEN;
      const nat = ctx.natOfPort[pool.rxPort[s]];
      const ct = ctx.nats[nat];
      const ext = ctx.natAddr[nat];
      const hl = (b[ipo] & 15) << 2;
      const total = dv.getUint16(ipo + 2);
      const l4 = ipo + hl;
      const proto = b[ipo + 9];
      const src = dv.getUint32(ipo + 12), dst = dv.getUint32(ipo + 16);
      if ((dv.getUint16(ipo + 6) & 0x1fff) !== 0) { this.drop(s, D_UNSUPPORTED); continue; }
      if (proto === TCP || proto === UDP) {
        if (total - hl < (proto === TCP ? 20 : 8)) { this.drop(s, D_UNSUPPORTED); continue; }
        if (dst === ext && b[ipo + 8] <= 1) { pool.aux[s] = TTL_EXCEEDED; icmp.slots[icmp.count++] = s; continue; }
        const sport = dv.getUint16(l4), dport = dv.getUint16(l4 + 2);
        let f = ct.lookupOut(proto, src, sport, dst, dport);
        if (f < 0) {
          f = ct.createOut(proto, src, sport, dst, dport, now);
          if (f < 0) { this.drop(s, D_NO_MAPPING); continue; }
          counters[1]++;
        }
        if (proto === TCP) ct.tcp(f, true, b[l4 + 13], now); else ct.touch(f, true, now);
        ip4SetSrc(b, ipo, ext);
        l4UpdateAddr(b, l4, proto, src, ext);
        l4UpdatePort(b, l4, proto, 0, ct.extPort(f));
      } else if (proto === ICMP) {
        if (total - hl < 8) { this.drop(s, D_UNSUPPORTED); continue; }
        const type = b[l4];
        if (type === 8 || type === 0) {
          const id = dv.getUint16(l4 + 4);
          let f = ct.lookupOut(ICMP, src, id, dst, id);
          if (f < 0) {
            f = ct.createOut(ICMP, src, id, dst, id, now);
            if (f < 0) { this.drop(s, D_NO_MAPPING); continue; }
            counters[1]++;
          }
          ct.touch(f, true, now);
          ip4SetSrc(b, ipo, ext);
          setEchoId(b, l4, ct.extPort(f));
        } else if (!translateIcmpError(b, dv, ipo, total, ct, ext, true)) {
          this.drop(s, D_UNSUPPORTED); continue;
        }
      } else {
        this.drop(s, D_UNSUPPORTED); continue;
      }
      counters[0]++;
      if (dv.getUint32(ipo + 16) === ext) { counters[2]++; hair.slots[hair.count++] = s; }
      else rw.slots[rw.count++] = s;
    }
  }
}
