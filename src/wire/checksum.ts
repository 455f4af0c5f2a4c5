// checksum.ts — the Internet checksum (RFC 1071), the TCP/UDP pseudo-header for IPv4, and
// incremental updates (RFC 1624) applied in place for routing and NAT.
//
//   Pseudo-header summed in front of a TCP or UDP segment (RFC 9293 3.1, RFC 768):
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                       Source Address                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Destination Address                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     zero      |   Protocol    |      TCP/UDP Length           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Vocabulary. A *sum* is the 16-bit one's-complement sum of big-endian words, folded (never
// complemented); it is 0 only when every word was 0. A *checksum* is what the header stores:
// the complement of the sum over the data with the checksum field taken as 0. Data verifies
// when the sum over it, checksum field included, is 0xFFFF.
//
// Incremental updates use RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), on the field values as
// stored. Unlike eqn. 2 (HC' = HC - ~m - m') it never turns a checksum that should be 0x0000
// into 0xFFFF: for any header that is not all zeros it gives exactly what a full recompute
// gives. UDP is the one exception to "0 is a checksum like any other": a stored 0 means "no
// checksum" and stays 0, and a computed 0 is stored as 0xFFFF (RFC 768).
//
// Everything here works in place and allocates nothing.

import { headerLength, totalLength } from './ip4.js';
import { IpProto, TCP_CSUM, UDP_CSUM } from './l4.js';

// Protocol numbers as plain module constants: property loads on an imported object cost
// several times more on the rewrite paths under some loaders (tsx: 19 vs 118 M rewrites/s).
const TCP = IpProto.tcp;
const UDP = IpProto.udp;

/** Fold any non-negative integer sum (up to 2^53) into 16 bits with end-around carry. */
export function csumFold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return sum;
}

/**
 * One's-complement sum of b[o..o+len) as big-endian 16-bit words, plus `initial` (a sum from
 * an earlier call, for data in pieces: every piece but the last must have an even length).
 * An odd last byte is padded with a zero byte. Returns a folded sum.
 */
export function csumPartial(b: Uint8Array, o: number, len: number, initial: number): number {
  // High and low bytes in two small-integer accumulators: no carries to handle in the loop,
  // and they stay small integers up to several megabytes.
  let hi = 0, lo = 0;
  let i = o;
  const end8 = o + (len & ~7);
  for (; i < end8; i += 8) {
    hi += b[i] + b[i + 2] + b[i + 4] + b[i + 6];
    lo += b[i + 1] + b[i + 3] + b[i + 5] + b[i + 7];
  }
  const end2 = o + (len & ~1);
  for (; i < end2; i += 2) { hi += b[i]; lo += b[i + 1]; }
  if ((len & 1) !== 0) hi += b[i];
  return csumFold(initial + hi * 256 + lo);
}

/** RFC 1071 checksum of b[o..o+len): the value to store, or 0 when verifying good data. */
export function internetChecksum(b: Uint8Array, o: number, len: number): number {
  return ~csumPartial(b, o, len, 0) & 0xffff;
}

/** Folded sum of the IPv4 pseudo-header (addresses as unsigned numbers, `len` the L4 length). */
export function pseudoSum4(src: number, dst: number, proto: number, len: number): number {
  return csumFold((src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len);
}

// ---- IPv4 header ----

/** The header checksum the IPv4 header at o should carry (its checksum field is skipped). */
export function ip4HeaderChecksum(b: Uint8Array, o: number): number {
  const hl = (b[o] & 15) << 2;
  return ~csumPartial(b, o + 12, hl - 12, csumPartial(b, o, 10, 0)) & 0xffff;
}

/** Compute and store the IPv4 header checksum. */
export function ip4FillChecksum(b: Uint8Array, o: number): void {
  const c = ip4HeaderChecksum(b, o);
  b[o + 10] = c >>> 8; b[o + 11] = c;
}

/** True if the IPv4 header at o carries a correct checksum. */
export function ip4ChecksumValid(b: Uint8Array, o: number): boolean {
  return csumPartial(b, o, (b[o] & 15) << 2, 0) === 0xffff;
}

/**
 * The same check for the packet path, over a DataView of the same bytes: an option-less
 * header is five 32-bit reads (each split in its two 16-bit halves) instead of a byte loop.
 */
export function ip4ChecksumValidDv(dv: DataView, o: number): boolean {
  const hl = (dv.getUint8(o) & 15) << 2;
  let sum = 0;
  for (let i = 0; i < hl; i += 4) {
    const w = dv.getUint32(o + i);
    sum += (w >>> 16) + (w & 0xffff);
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  sum += sum >>> 16;
  return (sum & 0xffff) === 0xffff;
}

// ---- TCP / UDP over IPv4 (the datagram at ipOff must have passed check4 and checkTcp/Udp) ----

/** L4 bytes the checksum covers: the UDP length field for UDP, the IP payload for TCP. */
function l4Length(b: Uint8Array, ipOff: number, l4Off: number, proto: number): number {
  return proto === UDP ? (b[l4Off + 4] << 8) | b[l4Off + 5] : totalLength(b, ipOff) - headerLength(b, ipOff);
}

function pseudoOf(b: Uint8Array, ipOff: number, proto: number, len: number): number {
  return csumPartial(b, ipOff + 12, 8, proto + len);
}

/**
 * The TCP or UDP checksum the datagram at ipOff should carry, computed in full (checksum field
 * skipped). For UDP a computed 0 comes back as 0xFFFF. -1 for other protocols.
 */
export function l4Checksum4(b: Uint8Array, ipOff: number): number {
  const proto = b[ipOff + 9];
  const cOff = proto === TCP ? TCP_CSUM : proto === UDP ? UDP_CSUM : -1;
  if (cOff < 0) return -1;
  const l4Off = ipOff + headerLength(b, ipOff);
  const len = l4Length(b, ipOff, l4Off, proto);
  let s = pseudoOf(b, ipOff, proto, len);
  s = csumPartial(b, l4Off, cOff, s);
  s = csumPartial(b, l4Off + cOff + 2, len - cOff - 2, s);
  const c = ~s & 0xffff;
  return c === 0 && proto === UDP ? 0xffff : c;
}

/** Compute and store the TCP or UDP checksum of the datagram at ipOff (no-op for others). */
export function l4FillChecksum4(b: Uint8Array, ipOff: number): void {
  const c = l4Checksum4(b, ipOff);
  if (c < 0) return;
  const at = ipOff + headerLength(b, ipOff) + (b[ipOff + 9] === TCP ? TCP_CSUM : UDP_CSUM);
  b[at] = c >>> 8; b[at + 1] = c;
}

/** True if the TCP or UDP checksum verifies; a UDP checksum of 0 ("none") counts as valid. */
export function l4ChecksumValid4(b: Uint8Array, ipOff: number): boolean {
  const proto = b[ipOff + 9];
  if (proto !== TCP && proto !== UDP) return false;
  const l4Off = ipOff + headerLength(b, ipOff);
  if (proto === UDP && (b[l4Off + 6] | b[l4Off + 7]) === 0) return true;
  const len = l4Length(b, ipOff, l4Off, proto);
  return csumPartial(b, l4Off, len, pseudoOf(b, ipOff, proto, len)) === 0xffff;
}

// ---- RFC 1624 incremental updates ----

/** New checksum after a 16-bit word of the covered data changed from oldWord to newWord. */
export function csumUpdate16(oldCsum: number, oldWord: number, newWord: number): number {
  let s = (~oldCsum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** New checksum after a 32-bit value (an IPv4 address) of the covered data changed. */
export function csumUpdate32(oldCsum: number, oldValue: number, newValue: number): number {
  let s = (~oldCsum & 0xffff) + (~oldValue & 0xffff) + (~(oldValue >>> 16) & 0xffff) +
    (newValue & 0xffff) + (newValue >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/**
 * Decrement the TTL of the IPv4 header at o and fix its checksum incrementally. Returns the
 * new TTL, or -1 (and changes nothing) if the TTL was already 0. The caller decides what a
 * result of 0 means (a router sends Time Exceeded instead of forwarding).
 */
export function ip4DecrementTtl(b: Uint8Array, o: number): number {
  const t = b[o + 8];
  if (t === 0) return -1;
  b[o + 8] = t - 1;
  // The word (TTL, protocol) drops by 0x0100, so ~m + m' = 0xFFFF - 0x0100 = 0xFEFF.
  let s = (~((b[o + 10] << 8) | b[o + 11]) & 0xffff) + 0xfeff;
  s = (s & 0xffff) + (s >>> 16);
  s = ~s & 0xffff;
  b[o + 10] = s >>> 8; b[o + 11] = s;
  return t - 1;
}

/** Set the source address of the IPv4 header at o, keeping its checksum. Returns the old one. */
export function ip4SetSrc(b: Uint8Array, o: number, addr: number): number {
  return setAddr(b, o, o + 12, addr);
}

/** Set the destination address of the IPv4 header at o, keeping its checksum. Returns the old one. */
export function ip4SetDst(b: Uint8Array, o: number, addr: number): number {
  return setAddr(b, o, o + 16, addr);
}

function setAddr(b: Uint8Array, o: number, at: number, addr: number): number {
  const old = ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
  b[at] = addr >>> 24; b[at + 1] = addr >>> 16; b[at + 2] = addr >>> 8; b[at + 3] = addr;
  const c = csumUpdate32((b[o + 10] << 8) | b[o + 11], old, addr >>> 0);
  b[o + 10] = c >>> 8; b[o + 11] = c;
  return old;
}

/**
 * Fix the TCP or UDP checksum of the header at l4Off after an IP address it covers through the
 * pseudo-header changed (call it next to ip4SetSrc/ip4SetDst). Other protocols: no-op (ICMP
 * has no pseudo-header).
 */
export function l4UpdateAddr(b: Uint8Array, l4Off: number, proto: number, oldAddr: number, newAddr: number): void {
  if (proto === TCP) {
    const at = l4Off + TCP_CSUM;
    const c = csumUpdate32((b[at] << 8) | b[at + 1], oldAddr >>> 0, newAddr >>> 0);
    b[at] = c >>> 8; b[at + 1] = c;
  } else if (proto === UDP) {
    const at = l4Off + UDP_CSUM;
    const old = (b[at] << 8) | b[at + 1];
    if (old === 0) return;
    const c = csumUpdate32(old, oldAddr >>> 0, newAddr >>> 0) || 0xffff;
    b[at] = c >>> 8; b[at + 1] = c;
  }
}

/**
 * Set the port at l4Off + portOff (SRC_PORT or DST_PORT from l4.ts) of a TCP or UDP header and
 * fix its checksum. Returns the old port, or -1 (nothing written) for other protocols.
 */
export function l4UpdatePort(b: Uint8Array, l4Off: number, proto: number, portOff: number, newPort: number): number {
  const cOff = proto === TCP ? TCP_CSUM : proto === UDP ? UDP_CSUM : -1;
  if (cOff < 0) return -1;
  const p = l4Off + portOff;
  const old = (b[p] << 8) | b[p + 1];
  b[p] = newPort >>> 8; b[p + 1] = newPort;
  const at = l4Off + cOff;
  const oc = (b[at] << 8) | b[at + 1];
  if (oc === 0 && proto === UDP) return old;
  let c = csumUpdate16(oc, old, newPort & 0xffff);
  if (c === 0 && proto === UDP) c = 0xffff;
  b[at] = c >>> 8; b[at + 1] = c;
  return old;
}
