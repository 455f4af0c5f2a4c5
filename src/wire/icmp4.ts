// icmp4.ts — ICMP for IPv4 (RFC 792), the router's share of it: echo, and the errors a router
// sends (RFC 1812 4.3): destination unreachable, fragmentation needed (RFC 1191), time exceeded.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     Type      |     Code      |          Checksum             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Identifier          |        Sequence Number        |  echo (8) / reply (0)
//   |            unused             |         Next-Hop MTU          |  unreachable, code 4
//   |                            unused                             |  other errors
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  echo: data, returned as is.  errors: the original IP header,  |
//   |  options and the start of its payload (see writeIcmpError)     |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Readers take (bytes, offset of the ICMP header); call them after checkIcmp() said ok. The
// checksum covers the whole ICMP message, no pseudo-header. echoReplyInPlace() is for the fast
// path; writeIcmpError() builds a new frame and is not.

import { ETHERTYPE_IPV4, ETH_HLEN } from './ethernet.js';
import { IP4_MIN_HLEN } from './ip4.js';
import { csumPartial, csumUpdate16, ip4FillChecksum } from './checksum.js';
import { IpProto } from './l4.js';

export const ICMP_HLEN = 8;

export const IcmpType = {
  echoReply: 0,
  destUnreachable: 3,
  sourceQuench: 4,
  redirect: 5,
  echoRequest: 8,
  routerAdvertisement: 9,
  routerSolicitation: 10,
  timeExceeded: 11,
  parameterProblem: 12,
  timestamp: 13,
  timestampReply: 14,
} as const;

/** Codes of destination unreachable (type 3). */
export const UnreachCode = {
  net: 0,
  host: 1,
  protocol: 2,
  port: 3,
  /** fragmentation needed and DF set; carries the next-hop MTU (RFC 1191) */
  fragNeeded: 4,
  /** communication administratively prohibited (RFC 1812) */
  adminProhibited: 13,
} as const;

/** Codes of time exceeded (type 11). */
export const TimeExceededCode = {
  ttl: 0,
  reassembly: 1,
} as const;

/** What checkIcmp() found. */
export const IcmpCheck = {
  ok: 0,
  /** fewer than 8 bytes */
  truncated: 1,
} as const;

// Plain module constants for the fast path: property loads on an `as const` object cost
// measurably more under tsx (see checksum.ts).
const PROTO_ICMP = IpProto.icmp;
const ECHO_REQUEST = IcmpType.echoRequest;

/** Structural check with `avail` bytes from o to the end of the IP datagram. */
export function checkIcmp(_b: Uint8Array, _o: number, avail: number): number {
  return avail < ICMP_HLEN ? IcmpCheck.truncated : IcmpCheck.ok;
}

export function icmpType(b: Uint8Array, o: number): number { return b[o]; }
export function icmpCode(b: Uint8Array, o: number): number { return b[o + 1]; }
export function icmpChecksum(b: Uint8Array, o: number): number { return (b[o + 2] << 8) | b[o + 3]; }
export function echoId(b: Uint8Array, o: number): number { return (b[o + 4] << 8) | b[o + 5]; }
export function echoSeq(b: Uint8Array, o: number): number { return (b[o + 6] << 8) | b[o + 7]; }
/** Next-hop MTU of a "fragmentation needed" message (0 from pre-RFC 1191 routers). */
export function nextHopMtu(b: Uint8Array, o: number): number { return (b[o + 6] << 8) | b[o + 7]; }

/** True if the ICMP message b[o..o+len) carries a correct checksum. */
export function icmpChecksumValid(b: Uint8Array, o: number, len: number): boolean {
  return csumPartial(b, o, len, 0) === 0xffff;
}

/** Compute and store the checksum of the ICMP message b[o..o+len). */
export function icmpFillChecksum(b: Uint8Array, o: number, len: number): void {
  const c = ~csumPartial(b, o + 4, len - 4, csumPartial(b, o, 2, 0)) & 0xffff;
  b[o + 2] = c >>> 8; b[o + 3] = c;
}

/** Set the echo identifier (the "port" a NAT rewrites), keeping the checksum. Returns the old one. */
export function setEchoId(b: Uint8Array, o: number, id: number): number {
  const old = (b[o + 4] << 8) | b[o + 5];
  b[o + 4] = id >>> 8; b[o + 5] = id;
  const c = csumUpdate16((b[o + 2] << 8) | b[o + 3], old, id & 0xffff);
  b[o + 2] = c >>> 8; b[o + 3] = c;
  return old;
}

/**
 * Turn the echo request in the IPv4 datagram at ipOff into its reply, in place: addresses
 * swapped (or the source set to `replySrc`, e.g. when the request went to a broadcast
 * address), TTL 64, IP header checksum recomputed, ICMP type 0 with the checksum fixed
 * incrementally. Identification, TOS, DF and IP options stay as they were (RFC 1122 3.2.2.6
 * asks to reverse a Record Route or Timestamp option; we do not). Returns false and changes
 * nothing if the datagram is not an unfragmented ICMP echo request. The L2 header is the
 * caller's (the reply is routed like any other datagram). Call after check4 and checkIcmp.
 */
export function echoReplyInPlace(b: Uint8Array, ipOff: number, replySrc?: number): boolean {
  const hl = (b[ipOff] & 15) << 2;
  const i = ipOff + hl;
  if (b[ipOff + 9] !== PROTO_ICMP || b[i] !== ECHO_REQUEST) return false;
  if ((((b[ipOff + 6] << 8) | b[ipOff + 7]) & 0x3fff) !== 0) return false; // MF or offset
  for (let k = 12; k < 16; k++) {
    const s = b[ipOff + k];
    b[ipOff + k] = b[ipOff + k + 4];
    b[ipOff + k + 4] = s;
  }
  if (replySrc !== undefined) {
    b[ipOff + 12] = replySrc >>> 24; b[ipOff + 13] = replySrc >>> 16;
    b[ipOff + 14] = replySrc >>> 8; b[ipOff + 15] = replySrc;
  }
  b[ipOff + 8] = 64;
  ip4FillChecksum(b, ipOff);
  const code = b[i + 1];
  b[i] = 0; // echo reply
  const c = csumUpdate16((b[i + 2] << 8) | b[i + 3], (ECHO_REQUEST << 8) | code, code);
  b[i + 2] = c >>> 8; b[i + 3] = c;
  return true;
}

// ---- errors ----

/**
 * Largest IP datagram an error we build may be (RFC 1812 4.3.2.3: "as much of the original
 * datagram as possible without the length of the ICMP datagram exceeding 576 bytes"). Linux
 * does the same. More than RFC 792's header + 8 bytes helps tracepath/mtr and lets a NAT or
 * tunnel on the way find its own headers; 576 never needs fragmenting.
 */
export const ICMP_ERROR_MAX_IP_LEN = 576;
/** Bytes of the original datagram an error quotes at most: 576 - 20 - 8. */
export const ICMP_ERROR_MAX_QUOTE = ICMP_ERROR_MAX_IP_LEN - IP4_MIN_HLEN - ICMP_HLEN;

export interface IcmpErrorFields {
  srcMac: number;
  dstMac: number;
  /** our address on the interface the error leaves by */
  srcIp: number;
  /** the original datagram's source */
  dstIp: number;
  type: number;
  code: number;
  /** next-hop MTU for destination unreachable / fragmentation needed */
  mtu?: number;
  /** bytes holding the original datagram (may be `out` itself: the quote is copied first) */
  original: Uint8Array;
  /** offset of the original IP header in `original` */
  originalOff: number;
  /** bytes of the original datagram present from originalOff (at least its IP header) */
  originalLen: number;
}

/**
 * Write an Ethernet + IPv4 + ICMP error frame at out[o..) and return its length. The quote is
 * the original datagram from its IP header on, up to ICMP_ERROR_MAX_QUOTE bytes and never past
 * its own total length (no Ethernet padding). IPv4: no options, TOS (original & 0x1E) | 0xC0
 * (internetwork control, as Linux), ID 0 with DF (an atomic datagram, RFC 6864), TTL 64.
 * Checksums are computed in full. `out` needs 14 + 576 bytes from o. Decide first with
 * mayReplyWithError() whether an error may be sent at all.
 */
export function writeIcmpError(out: Uint8Array, o: number, f: IcmpErrorFields): number {
  const src = f.original, so = f.originalOff;
  const origTotal = f.originalLen >= 4 ? (src[so + 2] << 8) | src[so + 3] : 0;
  let q = f.originalLen;
  if (origTotal >= IP4_MIN_HLEN && origTotal < q) q = origTotal;
  if (q > ICMP_ERROR_MAX_QUOTE) q = ICMP_ERROR_MAX_QUOTE;
  if (q < 0) q = 0;
  const tos = ((f.originalLen >= 2 ? src[so + 1] : 0) & 0x1e) | 0xc0;
  const ip = o + ETH_HLEN;
  const ic = ip + IP4_MIN_HLEN;
  out.set(src.subarray(so, so + q), ic + ICMP_HLEN);

  putMac(out, o, f.dstMac);
  putMac(out, o + 6, f.srcMac);
  out[o + 12] = ETHERTYPE_IPV4 >>> 8; out[o + 13] = ETHERTYPE_IPV4 & 0xff;

  const total = IP4_MIN_HLEN + ICMP_HLEN + q;
  out[ip] = 0x45; out[ip + 1] = tos;
  out[ip + 2] = total >>> 8; out[ip + 3] = total;
  out[ip + 4] = 0; out[ip + 5] = 0;
  out[ip + 6] = 0x40; out[ip + 7] = 0;
  out[ip + 8] = 64; out[ip + 9] = IpProto.icmp;
  out[ip + 10] = 0; out[ip + 11] = 0;
  putIp(out, ip + 12, f.srcIp);
  putIp(out, ip + 16, f.dstIp);
  ip4FillChecksum(out, ip);

  out[ic] = f.type; out[ic + 1] = f.code;
  out[ic + 2] = 0; out[ic + 3] = 0;
  const mtu = f.mtu ?? 0;
  out[ic + 4] = 0; out[ic + 5] = 0;
  out[ic + 6] = mtu >>> 8; out[ic + 7] = mtu;
  icmpFillChecksum(out, ic, ICMP_HLEN + q);

  const len = ETH_HLEN + total;
  if (len < 60) { out.fill(0, o + len, o + 60); return 60; }
  return len;
}

/** ICMP types that are not error messages (RFC 792, 950, 1256, 8335); all others count as errors. */
const INFORMATIONAL = new Uint8Array(256);
for (const t of [0, 8, 9, 10, 13, 14, 15, 16, 17, 18, 42, 43]) INFORMATIONAL[t] = 1;

/**
 * RFC 1812 4.3.2.7 (and RFC 1122 3.2.2): may a router answer the datagram at ipOff with an
 * ICMP error? No for
 *   - a datagram that came as a link-layer broadcast or multicast (`l2WasBroadcast`),
 *   - a destination that is multicast (224/4) or the limited broadcast 255.255.255.255,
 *   - a non-initial fragment,
 *   - an ICMP error message (anything but the informational types: echo, timestamp, ...),
 *   - a source that is not one host: 0/8, loopback 127/8, multicast 224/4, class E 240/4
 *     (255.255.255.255 included),
 *   - a header that is not there to read (fewer than 20 bytes, bad version/IHL, ICMP type cut).
 * Directed (subnet) broadcasts need the interface's prefix: the caller checks those, and rate
 * limits (RFC 1812 4.3.2.8). `avail` is the bytes from ipOff to the end of the frame.
 */
export function mayReplyWithError(b: Uint8Array, ipOff: number, avail: number, l2WasBroadcast: boolean): boolean {
  if (l2WasBroadcast || avail < IP4_MIN_HLEN) return false;
  const vihl = b[ipOff];
  const hl = (vihl & 15) << 2;
  if (vihl >> 4 !== 4 || hl < IP4_MIN_HLEN || hl > avail) return false;
  const s0 = b[ipOff + 12];
  if (s0 === 0 || s0 === 127 || s0 >= 224) return false;
  const d0 = b[ipOff + 16];
  if ((d0 & 0xf0) === 0xe0) return false;
  if ((d0 & b[ipOff + 17] & b[ipOff + 18] & b[ipOff + 19]) === 0xff) return false;
  if ((((b[ipOff + 6] << 8) | b[ipOff + 7]) & 0x1fff) !== 0) return false;
  if (b[ipOff + 9] === PROTO_ICMP) {
    const total = (b[ipOff + 2] << 8) | b[ipOff + 3];
    if (hl >= avail || hl >= total) return false;
    if (INFORMATIONAL[b[ipOff + hl]] === 0) return false;
  }
  return true;
}

function putMac(b: Uint8Array, o: number, mac: number): void {
  const hi = Math.floor(mac / 4294967296), lo = mac >>> 0;
  b[o] = hi >>> 8; b[o + 1] = hi;
  b[o + 2] = lo >>> 24; b[o + 3] = lo >>> 16; b[o + 4] = lo >>> 8; b[o + 5] = lo;
}

function putIp(b: Uint8Array, o: number, ip: number): void {
  b[o] = ip >>> 24; b[o + 1] = ip >>> 16; b[o + 2] = ip >>> 8; b[o + 3] = ip;
}
