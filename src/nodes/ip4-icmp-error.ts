// ip4-icmp-error — turns an offending packet into the ICMP error about it, in its own slot.
//
// SYNOPSIS   ip4-icmp-error -> ip4-rewrite
// aux = type << 24 | code << 16 | next-hop MTU (see ip4-lookup). The error quotes the
// original datagram (up to 576 bytes in all, RFC 1812 4.3.2.3), comes from the switch's
// address on the port the packet arrived on (the gateway on VM ports), and is routed back to
// the original source. Never about an ICMP error, a fragment after the first, a broadcast
// or multicast, or a source that is not one host (RFC 1812 4.3.2.7); rate-limited with a
// token bucket (RFC 1812 4.3.2.8): RATE per second, BURST at once.
// DROPS      icmp-suppressed: the rules forbid an error about this packet (or it is the
//              switch's own packet)
//            icmp-rate-limited: over the rate; no-route-back: no route to the source
import { Ip4Node } from './ip4-node.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { mayReplyWithError, writeIcmpError } from '../wire/icmp4.js';
import { Role } from './ip4-context.js';
import { untranslateInbound } from './nat44-icmp.js';

const NEXT_REWRITE = 0;
const D_SUPPRESSED = 0, D_RATE = 1, D_NO_ROUTE = 2;
const RATE = 1000;
const BURST = 100;

export class Ip4IcmpError extends Ip4Node {
  readonly name = 'ip4-icmp-error';
  readonly nextNames = ['ip4-rewrite'] as const;
  readonly dropNames = ['icmp-suppressed', 'icmp-rate-limited', 'no-route-back'] as const;
  override readonly counterNames = ['icmp-errors-sent'] as const;
  private tokens = BURST;
  private lastMs = 0;

  process(v: Uint32Array, n: number): void {
    const pool = this.pool;
    const b = pool.bytes;
    const dv = pool.view;
    const ctx = this.ip;
    const now = this.ctx.nowMs;
    this.tokens = Math.min(BURST, this.tokens + ((now - this.lastMs) * RATE) / 1000);
    this.lastMs = now;
    const rw = this.nextQueues[NEXT_REWRITE];
    for (let i = 0; i < n; i++) {
      const s = v[i];
      const o = pool.start[s];
      const ipo = o + ETH_HLEN;
      if (!mayReplyWithError(b, ipo, pool.length[s] - ETH_HLEN, (b[o] & 1) === 1)) { this.drop(s, D_SUPPRESSED); continue; }
      if (this.tokens < 1) { this.drop(s, D_RATE); continue; }
      const port = pool.rxPort[s];
      const origSrc = dv.getUint32(ipo + 12);
      // never about the switch's own packets (an echo reply whose next hop vanished)
      if (ctx.isLocal(origSrc)) { this.drop(s, D_SUPPRESSED); continue; }
      const nh = ctx.route(port, origSrc);
      if (nh === 0) { this.drop(s, D_NO_ROUTE); continue; }
      this.tokens--;
      // a packet that came in through a nat uplink is quoted as it arrived, not as translated
      const nat = ctx.natOfPort[port];
      if (nat >= 0 && ctx.role[port] === Role.uplink) untranslateInbound(b, dv, ipo, ctx.nats[nat], ctx.natAddr[nat]);
      const a = pool.aux[s];
      pool.length[s] = writeIcmpError(b, o, {
        srcMac: 0, dstMac: 0, srcIp: ctx.addr[port], dstIp: origSrc,
        type: a >>> 24, code: (a >>> 16) & 255, mtu: a & 0xffff,
        original: b, originalOff: ipo, originalLen: pool.length[s] - ETH_HLEN,
      });
      pool.aux[s] = nh;
      rw.slots[rw.count++] = s;
      this.counters[0]++;
    }
  }
}
