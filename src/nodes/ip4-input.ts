// ip4-input — IPv4 packets arriving on the ports of routed networks.
//
// SYNOPSIS   ip4-input -> ip4-lookup (to be forwarded), ip4-local (for the switch itself),
//                          nat44-out2in (to a nat uplink address: replies, forwards),
//                          nat44-in2out (hairpin: from a nat segment to its own uplink address),
//                          dhcp-server (UDP to port 67 on a router interface with a server,
//                          before any other check: a DISCOVER comes from 0.0.0.0 as a broadcast)
// eth-input already checked version, IHL and total length against the frame. Here:
// DROPS      not-for-us: unicast to another MAC than the switch's on that port
//            ip4-l2-broadcast: broadcast/multicast frames (a router does not forward them)
//            ip4-bad-checksum: the header checksum is wrong
//            ip4-martian-source: a source in 0/8, 127/8, 224/4 or 240/4
//            ip4-martian-destination: a destination in 0/8, 127/8, 224/4 (no multicast
//              routing) or 240/4 with 255.255.255.255, which a router never forwards
//              (RFC 1812 5.3.5.1, 5.3.7), even when sent to its unicast MAC
//            nat-unsolicited: on a nat uplink, anything not addressed to the uplink
//              (the private subnet is not reachable from outside)
//            spoofed-source: on a VM port with anti-spoofing, a source that is not the
//              port's VM address (its /32 host route does not point at this port)
// IP options and fragments pass: they are forwarded, not dropped.
import { Ip4Node } from './ip4-node.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { ip4ChecksumValidDv } from '../wire/checksum.js';
import { Role } from './ip4-context.js';

const NEXT_LOOKUP = 0, NEXT_LOCAL = 1, NEXT_OUT2IN = 2, NEXT_IN2OUT = 3, NEXT_DHCP = 4;
const D_NOT_FOR_US = 0, D_L2_BCAST = 1, D_CSUM = 2, D_MARTIAN = 3, D_SPOOF = 4, D_MARTIAN_DST = 5, D_NAT_INBOUND = 6;

/** A DHCP request for the segment's server: broadcast, or unicast to the server (renewing). */
function isForServer(dst: number, server: number): boolean {
  return dst === 0xffffffff || dst === server;
}

export class Ip4Input extends Ip4Node {
  readonly name = 'ip4-input';
  readonly nextNames = ['ip4-lookup', 'ip4-local', 'nat44-out2in', 'nat44-in2out', 'dhcp-server'] as const;
  readonly dropNames = ['not-for-us', 'ip4-l2-broadcast', 'ip4-bad-checksum', 'ip4-martian-source', 'spoofed-source', 'ip4-martian-destination', 'nat-unsolicited'] as const;

  process(v: Uint32Array, n: number): void {
    const pool = this.pool;
    const b = pool.bytes;
    const dv = pool.view;
    const start = pool.start, rxPort = pool.rxPort;
    const ctx = this.ip;
    const macHi = ctx.macHi, macLo = ctx.macLo, antiSpoof = ctx.antiSpoof, nhPort = ctx.nhPort, nhGateway = ctx.nhGateway;
    const dhcpOfPort = ctx.dhcpOfPort;
    const main = ctx.tables[0];
    const lookup = this.nextQueues[NEXT_LOOKUP], local = this.nextQueues[NEXT_LOCAL];
    const ls = lookup.slots;
    let ln = lookup.count;
    for (let i = 0; i < n; i++) {
      const s = v[i];
      const o = start[s];
      const port = rxPort[s];
      if (dhcpOfPort[port] >= 0 && b[o + ETH_HLEN + 9] === 17 && dv.getUint16(o + ETH_HLEN + ((b[o + ETH_HLEN] & 15) << 2) + 2) === 67 &&
          isForServer(dv.getUint32(o + ETH_HLEN + 16), ctx.addr[port])) {
        const q = this.nextQueues[NEXT_DHCP];
        q.slots[q.count++] = s;
        continue;
      }
      const dHi = dv.getUint16(o);
      if (dHi !== macHi[port] || dv.getUint32(o + 2) !== macLo[port]) {
        this.drop(s, (dHi & 0x100) !== 0 ? D_L2_BCAST : D_NOT_FOR_US);
        continue;
      }
      const ipo = o + ETH_HLEN;
      if (!ip4ChecksumValidDv(dv, ipo)) { this.drop(s, D_CSUM); continue; }
      const s0 = b[ipo + 12];
      if (s0 === 0 || s0 === 127 || s0 >= 224) { this.drop(s, D_MARTIAN); continue; }
      const d0 = b[ipo + 16];
      if (d0 === 0 || d0 === 127 || d0 >= 224) { this.drop(s, D_MARTIAN_DST); continue; }
      if (antiSpoof[port] === 1) {
        const nh = main.lookup(dv.getUint32(ipo + 12));
        if (nh === 0 || nhPort[nh] !== port || nhGateway[nh] !== 0) { this.drop(s, D_SPOOF); continue; }
      }
      const dst = dv.getUint32(ipo + 16);
      if (ctx.isLocal(dst)) {
        const nat = ctx.natOfPort[port];
        const proto = b[ipo + 9];
        // to a nat uplink address: NAT, except a VM pinging it (the switch itself answers)
        if (nat < 0 || ctx.natAddr[nat] !== dst || (ctx.role[port] !== Role.uplink && proto !== 6 && proto !== 17)) {
          local.slots[local.count++] = s;
          continue;
        }
        const q = this.nextQueues[ctx.role[port] === Role.uplink ? NEXT_OUT2IN : NEXT_IN2OUT];
        q.slots[q.count++] = s;
      } else if (ctx.natOfPort[port] >= 0 && ctx.role[port] === Role.uplink) {
        // a nat uplink takes only what is addressed to it: the private side is not routable from outside
        this.drop(s, D_NAT_INBOUND);
      } else {
        ls[ln++] = s;
      }
    }
    lookup.count = ln;
  }
}
