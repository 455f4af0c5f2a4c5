// arp.ts — ARP (RFC 826) for IPv4 over Ethernet, with the RFC 5227 probe/announcement forms.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     Hardware Type (1)         |     Protocol Type (0x0800)    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  HLEN (6)     |   PLEN (4)    |   Operation (1 req, 2 reply)  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                Sender Hardware Address (octets 0-3)           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Sender HW Address (4-5)      |  Sender Protocol Addr (0-1)   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Sender Protocol Addr (2-3)   |  Target HW Address (0-1)      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                Target Hardware Address (octets 2-5)           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                Target Protocol Address                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Readers take (bytes, offset of the ARP header); call them after checkArp() said ok. MACs
// come out either as one 48-bit number or, on the fast path, as hi (16 bits) and lo (32 bits).
//
// RFC 5227 vocabulary: a *probe* is a request with sender IP 0.0.0.0 (someone checking that
// the target IP is free); an *announcement* (a.k.a. gratuitous ARP) has sender IP == target
// IP (someone claiming its address). Both must not be taken as a binding of the target IP.
//
// Builders write a whole Ethernet + ARP frame at b[o..) and return its length. They pad to 60
// bytes (ETH_ZLEN, the 64-byte minimum without the FCS): veth and TAP accept shorter frames,
// but a physical NIC must send 64 on the wire and not every driver pads; 18 zero bytes cost
// nothing. The caller provides at least ARP_FRAME_LEN bytes from o. Frames are untagged.

import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETH_HLEN } from './ethernet.js';

export const ARP_LEN = 28;
/** Length of the frames the builders write: 14 + 28, padded to the Ethernet minimum. */
export const ARP_FRAME_LEN = 60;

export const ArpOp = {
  request: 1,
  reply: 2,
} as const;

// Plain module constants for the fast path: property loads on an `as const` object cost
// measurably more under tsx (see checksum.ts).
const OP_REQUEST = ArpOp.request;
const OP_REPLY = ArpOp.reply;

/** What checkArp() found. OK is 0; the others are reasons to drop. */
export const ArpCheck = {
  ok: 0,
  /** fewer than 28 bytes */
  truncated: 1,
  /** not Ethernet (1) / IPv4 (0x0800) with lengths 6 and 4 */
  notEthIp4: 2,
  /** an operation other than request or reply (RARP, InARP, ...) */
  badOp: 3,
} as const;

/** Structural check of the ARP header at o with `avail` bytes from o to the end of the frame. */
export function checkArp(b: Uint8Array, o: number, avail: number): number {
  if (avail < ARP_LEN) return ArpCheck.truncated;
  if (((b[o] << 8) | b[o + 1]) !== 1 || ((b[o + 2] << 8) | b[o + 3]) !== ETHERTYPE_IPV4 ||
    b[o + 4] !== 6 || b[o + 5] !== 4) return ArpCheck.notEthIp4;
  const op = (b[o + 6] << 8) | b[o + 7];
  if (op !== OP_REQUEST && op !== OP_REPLY) return ArpCheck.badOp;
  return ArpCheck.ok;
}

/** checkArp() === ArpCheck.ok. */
export function validArp(b: Uint8Array, o: number, avail: number): boolean {
  return checkArp(b, o, avail) === ArpCheck.ok;
}

// Field offsets inside the ARP header.
export const ARP_OP = 6;
export const ARP_SHA = 8;
export const ARP_SPA = 14;
export const ARP_THA = 18;
export const ARP_TPA = 24;

export function arpOp(b: Uint8Array, o: number): number { return (b[o + 6] << 8) | b[o + 7]; }

export function senderMacHi(b: Uint8Array, o: number): number { return (b[o + 8] << 8) | b[o + 9]; }
export function senderMacLo(b: Uint8Array, o: number): number {
  return ((b[o + 10] << 24) | (b[o + 11] << 16) | (b[o + 12] << 8) | b[o + 13]) >>> 0;
}
export function senderMac(b: Uint8Array, o: number): number { return senderMacHi(b, o) * 4294967296 + senderMacLo(b, o); }
export function senderIp(b: Uint8Array, o: number): number {
  return ((b[o + 14] << 24) | (b[o + 15] << 16) | (b[o + 16] << 8) | b[o + 17]) >>> 0;
}

export function targetMacHi(b: Uint8Array, o: number): number { return (b[o + 18] << 8) | b[o + 19]; }
export function targetMacLo(b: Uint8Array, o: number): number {
  return ((b[o + 20] << 24) | (b[o + 21] << 16) | (b[o + 22] << 8) | b[o + 23]) >>> 0;
}
export function targetMac(b: Uint8Array, o: number): number { return targetMacHi(b, o) * 4294967296 + targetMacLo(b, o); }
export function targetIp(b: Uint8Array, o: number): number {
  return ((b[o + 24] << 24) | (b[o + 25] << 16) | (b[o + 26] << 8) | b[o + 27]) >>> 0;
}

/** RFC 5227 probe: a request whose sender IP is 0.0.0.0. */
export function isProbe(b: Uint8Array, o: number): boolean {
  return b[o + 7] === OP_REQUEST && b[o + 6] === 0 && (b[o + 14] | b[o + 15] | b[o + 16] | b[o + 17]) === 0;
}

/**
 * RFC 5227 announcement / gratuitous ARP: sender IP == target IP (and not 0.0.0.0). Either
 * operation: RFC 5227 announcements are requests, but some hosts send gratuitous replies.
 */
export function isAnnouncement(b: Uint8Array, o: number): boolean {
  const s = senderIp(b, o);
  return s !== 0 && s === targetIp(b, o);
}

// ---- building (off the fast path, except arpReplyInPlace) ----

/** A MAC held as a 48-bit number, at b[o..o+6). */
function putMac(b: Uint8Array, o: number, mac: number): void {
  const hi = Math.floor(mac / 4294967296), lo = mac >>> 0;
  b[o] = hi >>> 8; b[o + 1] = hi;
  b[o + 2] = lo >>> 24; b[o + 3] = lo >>> 16; b[o + 4] = lo >>> 8; b[o + 5] = lo;
}

function putIp(b: Uint8Array, o: number, ip: number): void {
  b[o] = ip >>> 24; b[o + 1] = ip >>> 16; b[o + 2] = ip >>> 8; b[o + 3] = ip;
}

const BROADCAST = 0xffffffffffff;

/** Ethernet header, ARP fixed part and all four addresses, padding zeroed. */
function writeFrame(b: Uint8Array, o: number, ethDst: number, op: number, sha: number, spa: number, tha: number, tpa: number): number {
  putMac(b, o, ethDst);
  putMac(b, o + 6, sha);
  b[o + 12] = ETHERTYPE_ARP >>> 8; b[o + 13] = ETHERTYPE_ARP & 0xff;
  const a = o + ETH_HLEN;
  b[a] = 0; b[a + 1] = 1;
  b[a + 2] = ETHERTYPE_IPV4 >>> 8; b[a + 3] = ETHERTYPE_IPV4 & 0xff;
  b[a + 4] = 6; b[a + 5] = 4;
  b[a + 6] = 0; b[a + 7] = op;
  putMac(b, a + ARP_SHA, sha);
  putIp(b, a + ARP_SPA, spa);
  putMac(b, a + ARP_THA, tha);
  putIp(b, a + ARP_TPA, tpa);
  b.fill(0, a + ARP_LEN, o + ARP_FRAME_LEN);
  return ARP_FRAME_LEN;
}

export interface ArpReplyFields {
  /** our MAC: Ethernet source and ARP sender */
  srcMac: number;
  /** the address we answer for: ARP sender IP */
  srcIp: number;
  /** the requester: Ethernet destination and ARP target */
  dstMac: number;
  dstIp: number;
}

/** A unicast reply "srcIp is at srcMac" to dstMac/dstIp. Returns the frame length (60). */
export function writeArpReply(b: Uint8Array, o: number, f: ArpReplyFields): number {
  return writeFrame(b, o, f.dstMac, ArpOp.reply, f.srcMac, f.srcIp, f.dstMac, f.dstIp);
}

export interface ArpRequestFields {
  srcMac: number;
  srcIp: number;
  /** the address whose MAC we want */
  targetIp: number;
}

/** A broadcast request "who has targetIp, tell srcIp" (target MAC zero). Returns 60. */
export function writeArpRequest(b: Uint8Array, o: number, f: ArpRequestFields): number {
  return writeFrame(b, o, BROADCAST, ArpOp.request, f.srcMac, f.srcIp, 0, f.targetIp);
}

/**
 * A gratuitous ARP in the RFC 5227 announcement form: a broadcast request with sender IP ==
 * target IP == ip and target MAC zero. Returns 60.
 */
export function writeGratuitous(b: Uint8Array, o: number, f: { srcMac: number; ip: number }): number {
  return writeFrame(b, o, BROADCAST, ArpOp.request, f.srcMac, f.ip, 0, f.ip);
}

/** An RFC 5227 probe for ip: a broadcast request with sender IP 0.0.0.0. Returns 60. */
export function writeProbe(b: Uint8Array, o: number, f: { srcMac: number; ip: number }): number {
  return writeFrame(b, o, BROADCAST, ArpOp.request, f.srcMac, 0, 0, f.ip);
}

/**
 * Turn the ARP request in the frame at o into the reply "target IP is at myMac", in place:
 * Ethernet destination := the requester's sender MAC (as Linux does, not the frame's source),
 * Ethernet source := myMac, op := reply, target := the old sender, sender := (myMac, old target
 * IP). `payloadOff` is the ARP offset from the frame start (payloadOffset() in ethernet.ts;
 * VLAN tags stay as they are). The frame keeps its length and padding. Call it only on a frame
 * checkArp() accepted as a request; whether to answer (e.g. a probe, whose reply goes to
 * 0.0.0.0 as RFC 5227 expects of a defender) is the caller's choice.
 */
export function arpReplyInPlace(b: Uint8Array, o: number, myMac: number, payloadOff: number = ETH_HLEN): void {
  const a = o + payloadOff;
  const hi = Math.floor(myMac / 4294967296), lo = myMac >>> 0;
  // target IP := sender IP, sender IP := requested IP
  for (let k = 14; k < 18; k++) {
    const t = b[a + k + 10];
    b[a + k + 10] = b[a + k];
    b[a + k] = t;
  }
  // Ethernet destination and target MAC := requester's MAC
  for (let k = 0; k < 6; k++) {
    const m = b[a + 8 + k];
    b[o + k] = m;
    b[a + 18 + k] = m;
  }
  b[o + 6] = b[a + 8] = hi >>> 8;
  b[o + 7] = b[a + 9] = hi & 0xff;
  b[o + 8] = b[a + 10] = lo >>> 24;
  b[o + 9] = b[a + 11] = (lo >>> 16) & 0xff;
  b[o + 10] = b[a + 12] = (lo >>> 8) & 0xff;
  b[o + 11] = b[a + 13] = lo & 0xff;
  b[a + 6] = 0; b[a + 7] = OP_REPLY;
}
