// nat44-icmp.ts — translating ICMP errors across the NAT (RFC 5508 section 4, RFC 4787
// REQ-13): the outer header and the datagram the error quotes are rewritten so that the
// error reaches the host whose packet caused it, with every checksum still right. An
// error never creates, refreshes or tears down a mapping: it is looked up only.
//
//   from outside (time exceeded beyond the switch, port unreachable from a remote host):
//     outer dst       uplink address     -> the VM's address
//     quoted src:port uplink:ext port    -> the VM's address:port   (echo: identifier)
//   from inside (a VM's error about a flow that came in through a forward):
//     outer src       the VM's address   -> uplink address
//     quoted dst:port VM:port            -> uplink:ext port
// The quoted transport checksum is updated when the quote holds it (UDP always; TCP only
// when more than 8 bytes were quoted); the ICMP checksum is recomputed over the message.
import { ip4SetSrc, ip4SetDst, l4UpdateAddr, l4UpdatePort } from '../wire/checksum.js';
import { icmpFillChecksum, setEchoId } from '../wire/icmp4.js';
import type { Conntrack } from '../tables/conntrack.js';

const TCP = 6, UDP = 17, ICMP = 1;

/** Translate the ICMP error in the datagram at ipo (total bytes); false when it cannot be (no flow). */
export function translateIcmpError(b: Uint8Array, dv: DataView, ipo: number, total: number, ct: Conntrack, ext: number, fromInside: boolean): boolean {
  const hl = (b[ipo] & 15) << 2;
  const l4 = ipo + hl;
  const type = b[l4];
  if (type !== 3 && type !== 11 && type !== 12) return false;
  const e = l4 + 8; // the quoted datagram
  const end = ipo + total;
  if (e + 20 > end || b[e] >> 4 !== 4) return false;
  const ehl = (b[e] & 15) << 2;
  const el4 = e + ehl;
  if (ehl < 20 || el4 + 8 > end) return false;
  const proto = b[e + 9];
  if (proto !== TCP && proto !== UDP && proto !== ICMP) return false;
  const esrc = dv.getUint32(e + 12), edst = dv.getUint32(e + 16);
  // from outside, the quote is of a packet the NAT sent: from the uplink address (lookupIn
  // keys on the remote and the external port only)
  if (!fromInside && esrc !== ext >>> 0) return false;
  let f: number;
  if (proto === ICMP) {
    const id = dv.getUint16(el4 + 4);
    f = fromInside ? ct.lookupOut(ICMP, edst, id, esrc, id) : ct.lookupIn(ICMP, edst, id, id);
  } else {
    const sport = dv.getUint16(el4), dport = dv.getUint16(el4 + 2);
    f = fromInside ? ct.lookupOut(proto, edst, dport, esrc, sport) : ct.lookupIn(proto, edst, dport, sport);
  }
  if (f < 0) return false;
  // is the quoted transport checksum there to fix?
  const csumThere = proto === UDP || proto === ICMP || el4 + 18 <= end;
  if (fromInside) {
    ip4SetSrc(b, ipo, ext);
    ip4SetDst(b, e, ext);
    if (proto === ICMP) setEchoId(b, el4, ct.extPort(f));
    else if (csumThere) { l4UpdateAddr(b, el4, proto, edst, ext); l4UpdatePort(b, el4, proto, 2, ct.extPort(f)); }
    else dv.setUint16(el4 + 2, ct.extPort(f));
  } else {
    const inside = ct.insideIp(f);
    ip4SetDst(b, ipo, inside);
    ip4SetSrc(b, e, inside);
    if (proto === ICMP) setEchoId(b, el4, ct.insidePort(f));
    else if (csumThere) { l4UpdateAddr(b, el4, proto, esrc, inside); l4UpdatePort(b, el4, proto, 0, ct.insidePort(f)); }
    else dv.setUint16(el4, ct.insidePort(f));
  }
  icmpFillChecksum(b, l4, total - hl);
  return true;
}

/**
 * Undo the inbound translation of a packet that came in through a nat uplink (DNAT of a reply
 * or a forward), so that an ICMP error the switch builds about it (host unreachable when the
 * VM never answers ARP) quotes it as its sender sent it: to the uplink address and the
 * external port, never the VM's private address. False when no flow matches (left as is).
 */
export function untranslateInbound(b: Uint8Array, dv: DataView, ipo: number, ct: Conntrack, ext: number): boolean {
  const hl = (b[ipo] & 15) << 2;
  const l4 = ipo + hl;
  const proto = b[ipo + 9];
  const src = dv.getUint32(ipo + 12), dst = dv.getUint32(ipo + 16);
  if ((dv.getUint16(ipo + 6) & 0x1fff) !== 0) return false;
  if (proto === TCP || proto === UDP) {
    const f = ct.lookupOut(proto, dst, dv.getUint16(l4 + 2), src, dv.getUint16(l4));
    if (f < 0) return false;
    ip4SetDst(b, ipo, ext);
    l4UpdateAddr(b, l4, proto, dst, ext);
    l4UpdatePort(b, l4, proto, 2, ct.extPort(f));
    return true;
  }
  if (proto === ICMP && b[l4] === 0) {
    const id = dv.getUint16(l4 + 4);
    const f = ct.lookupOut(ICMP, dst, id, src, id);
    if (f < 0) return false;
    ip4SetDst(b, ipo, ext);
    setEchoId(b, l4, ct.extPort(f));
    return true;
  }
  return false;
}
