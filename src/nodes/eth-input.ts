// eth-input — the first node every received frame meets.
//
// SYNOPSIS   eth-input -> l2-learn (bridged networks), arp-input, ip4-input (routed networks)
// CHECKS     runt: shorter than 14 bytes, or than a VLAN tag it announces
//            bad-length: an 802.3 length field larger than the payload
//            oversize: longer than the port's MTU + Ethernet header (+4 per VLAN tag)
//            bad-source-mac: a group (multicast/broadcast) or all-zero source address
//            ip4-truncated / ip4-bad-header / ip4-bad-length: an IPv4 header that does not
//              fit the frame, a version/IHL that is not IPv4, a total length that lies
//            no-network: the port belongs to no network (or is down)
//            unknown-ethertype: on a routed port, neither untagged IPv4 nor ARP
// On bridged ports everything else goes on untouched: an L2 switch forwards unknown
// EtherTypes and tagged frames as they are. Routed ports take untagged IPv4 and ARP. Counts: one drop counter per reason, per node and per ingress port.
// Fast path: an untagged IPv4 frame is checked inline; everything else takes the general
// parser in wire/ethernet.ts.
import { GraphNode } from '../engine/node.js';
import type { PortTable } from '../engine/ports.js';
import type { PacketPool } from '../engine/pool.js';
import { payloadOffset, FrameCheck, ETHERTYPE_IPV4, ETHERTYPE_ARP, ETH_HLEN } from '../wire/ethernet.js';
import { check4, Ip4Check } from '../wire/ip4.js';

const NEXT_L2 = 0, NEXT_ARP = 1, NEXT_IP4 = 2;
const D_RUNT = 0, D_BAD_LENGTH = 1, D_OVERSIZE = 2, D_BAD_SRC = 3, D_IP4_TRUNC = 4, D_IP4_HDR = 5, D_IP4_LEN = 6, D_NO_NET = 7, D_ETHERTYPE = 8;
const IP4_DROP = [0, D_IP4_TRUNC, D_IP4_HDR, D_IP4_LEN];

export class EthInput extends GraphNode {
  readonly name = 'eth-input';
  readonly nextNames = ['l2-learn', 'arp-input', 'ip4-input'] as const;
  readonly dropNames = ['runt', 'bad-length', 'oversize', 'bad-source-mac', 'ip4-truncated', 'ip4-bad-header', 'ip4-bad-length', 'no-network', 'unknown-ethertype'] as const;
  private readonly ports: PortTable;

  constructor(pool: PacketPool, ports: PortTable) {
    super(pool);
    this.ports = ports;
  }

  process(v: Uint32Array, n: number): void {
    const pool = this.pool;
    const b = pool.bytes;
    const dv = pool.view;
    const start = pool.start, length = pool.length, rxPort = pool.rxPort;
    const ports = this.ports;
    const maxFrame = ports.maxFrame, ingress = ports.ingress;
    const l2 = this.nextQueues[NEXT_L2];
    const l2s = l2.slots;
    let l2n = l2.count;
    const arp = this.nextQueues[NEXT_ARP], ip4 = this.nextQueues[NEXT_IP4];
    for (let i = 0; i < n; i++) {
      const s = v[i];
      const o = start[s];
      const len = length[s];
      const port = rxPort[s];
      if (len < ETH_HLEN) { this.drop(s, D_RUNT); continue; }
      const srcHi = dv.getUint16(o + 6);
      if ((srcHi & 0x100) !== 0 || (srcHi | dv.getUint32(o + 8)) === 0) { this.drop(s, D_BAD_SRC); continue; }
      const type = dv.getUint16(o + 12);
      if (type === ETHERTYPE_IPV4) {
        // untagged IPv4: inline checks
        if (len > maxFrame[port]) { this.drop(s, D_OVERSIZE); continue; }
        if (len < ETH_HLEN + 20) { this.drop(s, D_IP4_TRUNC); continue; }
        const vihl = b[o + 14];
        const hl = (vihl & 15) << 2;
        if ((vihl & 0xf0) !== 0x40 || hl < 20) { this.drop(s, D_IP4_HDR); continue; }
        const total = dv.getUint16(o + 16);
        if (hl > len - ETH_HLEN) { this.drop(s, D_IP4_TRUNC); continue; }
        if (total < hl || total > len - ETH_HLEN) { this.drop(s, D_IP4_LEN); continue; }
      } else {
        const off = payloadOffset(b, o, len);
        if (off < 0) { this.drop(s, off === -FrameCheck.runt ? D_RUNT : D_BAD_LENGTH); continue; }
        // each VLAN tag (off - 14 bytes of them) is allowed on top of the MTU
        if (len - (off - ETH_HLEN) > maxFrame[port]) { this.drop(s, D_OVERSIZE); continue; }
        if (((b[o + off - 2] << 8) | b[o + off - 1]) === ETHERTYPE_IPV4) {
          const c = check4(b, o + off, len - off);
          if (c !== Ip4Check.ok) { this.drop(s, IP4_DROP[c]); continue; }
        }
      }
      const mode = ingress[port];
      if (mode === 1 /* Mode.bridged */) {
        l2s[l2n++] = s;
      } else if (mode === 2 /* Mode.routed */) {
        if (type === ETHERTYPE_IPV4) ip4.slots[ip4.count++] = s;
        else if (type === ETHERTYPE_ARP) arp.slots[arp.count++] = s;
        else this.drop(s, D_ETHERTYPE);
      } else {
        this.drop(s, D_NO_NET);
      }
    }
    l2.count = l2n;
  }
}
