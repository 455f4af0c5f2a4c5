// dhcp.ts — the BOOTP/DHCP message (RFC 951, RFC 2131) and its options (RFC 2132), over UDP
// ports 67/68 on IPv4.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |
//   +---------------+---------------+---------------+---------------+
//   |                            xid (4)                            |
//   +-------------------------------+-------------------------------+
//   |           secs (2)            |           flags (2)           |
//   +-------------------------------+-------------------------------+
//   |                          ciaddr  (4)                          |
//   +---------------------------------------------------------------+
//   |                          yiaddr  (4)                          |
//   +---------------------------------------------------------------+
//   |                          siaddr  (4)                          |
//   +---------------------------------------------------------------+
//   |                          giaddr  (4)                          |
//   +---------------------------------------------------------------+
//   |                          chaddr  (16)                         |
//   +---------------------------------------------------------------+
//   |                          sname   (64)                         |
//   +---------------------------------------------------------------+
//   |                          file    (128)                        |
//   +---------------------------------------------------------------+
//   |                 magic cookie 99.130.83.99 (4)                 |
//   +---------------------------------------------------------------+
//   |                          options (variable)                   |
//   +---------------------------------------------------------------+
//
//   flags: B (bit 15, 0x8000) = the client cannot receive unicast before it has an address.
//   options: code (1), length (1), value (length); 0 is one byte of padding, 255 ends the list.
//
// Readers take (bytes, offset of the BOOTP message = the UDP payload). checkDhcp() is the gate:
// after it said DhcpCheck.ok, the fixed part and the magic cookie lie inside `avail` and every
// option's code, length and value do too, so the option readers below stay in bounds.
// Options overloaded into sname/file (option 52) are not read; nobody on a LAN sends them.
//
// writeDhcpReply() builds a whole Ethernet + IPv4 + UDP + BOOTP reply frame; with the option
// writers (putOpt*) it is for the DHCP server, off the fast path.

import { ETHERTYPE_IPV4, ETH_HLEN } from './ethernet.js';
import { IP4_MIN_HLEN } from './ip4.js';
import { IpProto, UDP_HLEN } from './l4.js';
import { ip4FillChecksum, l4FillChecksum4 } from './checksum.js';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const DHCP_MAGIC = 0x63825363;
/** Fixed part up to (without) the magic cookie. */
export const BOOTP_FIXED_LEN = 236;
/** Offset of the first option: fixed part + cookie. */
export const DHCP_OPTIONS_OFF = 240;
/** Smallest BOOTP message a relay agent or old client accepts (RFC 1542 2.1): pad up to it. */
export const BOOTP_MIN_LEN = 300;
/** Largest DHCP message every client must accept (RFC 2131 2: a 576-byte IP datagram). */
export const DHCP_MAX_LEN = 576 - IP4_MIN_HLEN - UDP_HLEN;
/** Option bytes a reply of at most DHCP_MAX_LEN can hold, the end option not included. */
export const DHCP_MAX_OPTIONS = DHCP_MAX_LEN - DHCP_OPTIONS_OFF - 1;
/** Largest frame writeDhcpReply() writes: 14 + 576. */
export const DHCP_MAX_FRAME = ETH_HLEN + 576;
export const DHCP_FLAG_BROADCAST = 0x8000;

export const BootpOp = {
  request: 1,
  reply: 2,
} as const;

/** Hardware type 1 (Ethernet, 6-byte addresses): the only one a server on Ethernet hands out to. */
export const HTYPE_ETHERNET = 1;

/** Option 53 values (RFC 2132 9.6). */
export const DhcpMsg = {
  discover: 1,
  offer: 2,
  request: 3,
  decline: 4,
  ack: 5,
  nak: 6,
  release: 7,
  inform: 8,
} as const;

/** Names of DhcpMsg values for logs ("DHCPDISCOVER"). */
export const DHCP_MSG_NAMES = ['', 'DHCPDISCOVER', 'DHCPOFFER', 'DHCPREQUEST', 'DHCPDECLINE', 'DHCPACK', 'DHCPNAK', 'DHCPRELEASE', 'DHCPINFORM'] as const;

/** Option codes (RFC 2132) this layer knows by name. */
export const DhcpOpt = {
  pad: 0,
  subnetMask: 1,
  router: 3,
  dns: 6,
  hostname: 12,
  domainName: 15,
  broadcast: 28,
  requestedIp: 50,
  leaseTime: 51,
  overload: 52,
  messageType: 53,
  serverId: 54,
  paramList: 55,
  message: 56,
  maxMessageSize: 57,
  t1: 58,
  t2: 59,
  vendorClass: 60,
  clientId: 61,
  end: 255,
} as const;

/** What checkDhcp() found. OK is 0; the others are reasons to drop. */
export const DhcpCheck = {
  ok: 0,
  /** fewer bytes than the fixed part and the magic cookie */
  truncated: 1,
  /** no DHCP magic cookie (a plain BOOTP message, or not BOOTP at all) */
  badCookie: 2,
  /** an option's length or value runs past the message */
  badOptions: 3,
} as const;

/**
 * Structural check of the BOOTP message at o, with `avail` bytes from o to the end of the UDP
 * payload. Walks the options once: every option up to the end option (or the end of the
 * message, when there is no end option) must lie inside `avail`.
 */
export function checkDhcp(b: Uint8Array, o: number, avail: number): number {
  if (avail < DHCP_OPTIONS_OFF) return DhcpCheck.truncated;
  if (magicCookie(b, o) !== DHCP_MAGIC) return DhcpCheck.badCookie;
  const end = o + avail;
  let p = o + DHCP_OPTIONS_OFF;
  while (p < end) {
    const code = b[p];
    if (code === 255) break;
    if (code === 0) { p++; continue; }
    if (p + 2 > end || p + 2 + b[p + 1] > end) return DhcpCheck.badOptions;
    p += 2 + b[p + 1];
  }
  return DhcpCheck.ok;
}

// ---- fixed part ----

export function op(b: Uint8Array, o: number): number { return b[o]; }
export function htype(b: Uint8Array, o: number): number { return b[o + 1]; }
export function hlen(b: Uint8Array, o: number): number { return b[o + 2]; }
export function hops(b: Uint8Array, o: number): number { return b[o + 3]; }
export function xid(b: Uint8Array, o: number): number { return get32(b, o + 4); }
export function secs(b: Uint8Array, o: number): number { return (b[o + 8] << 8) | b[o + 9]; }
export function flags(b: Uint8Array, o: number): number { return (b[o + 10] << 8) | b[o + 11]; }
export function broadcastFlag(b: Uint8Array, o: number): boolean { return (b[o + 10] & 0x80) !== 0; }
export function ciaddr(b: Uint8Array, o: number): number { return get32(b, o + 12); }
export function yiaddr(b: Uint8Array, o: number): number { return get32(b, o + 16); }
export function siaddr(b: Uint8Array, o: number): number { return get32(b, o + 20); }
export function giaddr(b: Uint8Array, o: number): number { return get32(b, o + 24); }
/** Offset of chaddr inside the message. */
export const CHADDR = 28;
/** First two bytes of chaddr (the high 16 bits of an Ethernet MAC). */
export function chaddrHi(b: Uint8Array, o: number): number { return (b[o + 28] << 8) | b[o + 29]; }
/** Bytes 2..5 of chaddr (the low 32 bits of an Ethernet MAC). */
export function chaddrLo(b: Uint8Array, o: number): number { return get32(b, o + 30); }
/** chaddr as a 48-bit MAC number (meaningful for htype 1, hlen 6). */
export function chaddrMac(b: Uint8Array, o: number): number { return chaddrHi(b, o) * 4294967296 + chaddrLo(b, o); }
export function magicCookie(b: Uint8Array, o: number): number { return get32(b, o + 236); }

// ---- options (call after checkDhcp said ok, with the same avail) ----

/**
 * Offset of the next option after the one at `at` (pass -1 to start), pad skipped; -1 at the
 * end option or the end of the message. The option's code is b[p], its length b[p + 1], its
 * value b[p + 2 .. p + 2 + length).
 */
export function nextOption(b: Uint8Array, o: number, avail: number, at: number): number {
  const end = o + avail;
  let p = at < 0 ? o + DHCP_OPTIONS_OFF : at + 2 + b[at + 1];
  while (p < end && b[p] === 0) p++;
  if (p >= end || b[p] === 255 || p + 2 > end) return -1;
  return p;
}

/** Offset of the first option with this code (its code byte), or -1. */
export function findOption(b: Uint8Array, o: number, avail: number, code: number): number {
  for (let p = nextOption(b, o, avail, -1); p >= 0; p = nextOption(b, o, avail, p)) {
    if (b[p] === code) return p;
  }
  return -1;
}

export function optionCode(b: Uint8Array, p: number): number { return b[p]; }
export function optionLength(b: Uint8Array, p: number): number { return b[p + 1]; }
/** Offset of the option's value. */
export function optionValue(p: number): number { return p + 2; }

/** The DHCP message type (option 53), or 0 when absent or malformed (plain BOOTP). */
export function messageType(b: Uint8Array, o: number, avail: number): number {
  const p = findOption(b, o, avail, DhcpOpt.messageType);
  return p >= 0 && b[p + 1] === 1 ? b[p + 2] : 0;
}

/** An option holding one IPv4 address (50 requested IP, 54 server id), or 0 when absent or malformed. */
export function optionIp4(b: Uint8Array, o: number, avail: number, code: number): number {
  const p = findOption(b, o, avail, code);
  return p >= 0 && b[p + 1] === 4 ? get32(b, p + 2) : 0;
}

/** An option holding a 32-bit number (51 lease time), or -1 when absent or malformed. */
export function optionU32(b: Uint8Array, o: number, avail: number, code: number): number {
  const p = findOption(b, o, avail, code);
  return p >= 0 && b[p + 1] === 4 ? get32(b, p + 2) : -1;
}

// ---- option writers: each returns the offset after what it wrote, or p unchanged when the
// ---- option would not fit below `limit` (the caller's buffer end).

export function putOptU8(out: Uint8Array, p: number, limit: number, code: number, v: number): number {
  if (p + 3 > limit) return p;
  out[p] = code; out[p + 1] = 1; out[p + 2] = v;
  return p + 3;
}

export function putOptU32(out: Uint8Array, p: number, limit: number, code: number, v: number): number {
  if (p + 6 > limit) return p;
  out[p] = code; out[p + 1] = 4; put32(out, p + 2, v);
  return p + 6;
}

/** An option holding one or more IPv4 addresses (at most 63: the length is one byte). */
export function putOptIp4s(out: Uint8Array, p: number, limit: number, code: number, ips: readonly number[]): number {
  const n = Math.min(ips.length, 63);
  if (n === 0 || p + 2 + 4 * n > limit) return p;
  out[p] = code; out[p + 1] = 4 * n;
  for (let i = 0; i < n; i++) put32(out, p + 2 + 4 * i, ips[i]);
  return p + 2 + 4 * n;
}

/** An option holding bytes src[s..s+len) (len ≤ 255). */
export function putOptBytes(out: Uint8Array, p: number, limit: number, code: number, src: Uint8Array, s: number, len: number): number {
  if (len > 255 || p + 2 + len > limit) return p;
  out[p] = code; out[p + 1] = len;
  for (let i = 0; i < len; i++) out[p + 2 + i] = src[s + i];
  return p + 2 + len;
}

/** An option holding ASCII text (at most 255 characters; others are cut). */
export function putOptText(out: Uint8Array, p: number, limit: number, code: number, text: string): number {
  const len = Math.min(text.length, 255);
  if (len === 0 || p + 2 + len > limit) return p;
  out[p] = code; out[p + 1] = len;
  for (let i = 0; i < len; i++) out[p + 2 + i] = text.charCodeAt(i) & 0x7f;
  return p + 2 + len;
}

// ---- the reply frame ----

export interface DhcpReplyFields {
  srcMac: number;
  dstMac: number;
  srcIp: number;
  dstIp: number;
  /** 68 to a client, 67 to a relay agent */
  dstPort: number;
  op: number;
  xid: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** the client's Ethernet address (written as htype 1, hlen 6) */
  chaddr: number;
  /** encoded options, without the end option: options[0..optionsLen); at most DHCP_MAX_OPTIONS */
  options: Uint8Array;
  optionsLen: number;
}

/**
 * Write an Ethernet + IPv4 + UDP + BOOTP frame at out[o..) and return its length. The message
 * is the fixed part (hops, secs 0; sname, file empty), the cookie, the options, the end option,
 * zero padding up to BOOTP_MIN_LEN. IPv4: no options, TOS 0, ID 0 with DF, TTL 64. Both
 * checksums are computed in full. At most DHCP_MAX_FRAME (590) bytes: options past
 * DHCP_MAX_OPTIONS bytes are left out, whole. `options` must not overlap out[o..o+590).
 */
export function writeDhcpReply(out: Uint8Array, o: number, f: DhcpReplyFields): number {
  let optLen = f.optionsLen;
  if (optLen > DHCP_MAX_OPTIONS) {
    // keep the whole options that fit
    const src = f.options;
    let q = 0;
    while (q < DHCP_MAX_OPTIONS && (src[q] === 0 || q + 2 + src[q + 1] <= DHCP_MAX_OPTIONS)) q += src[q] === 0 ? 1 : 2 + src[q + 1];
    optLen = q;
  }
  const msgLen = Math.max(DHCP_OPTIONS_OFF + optLen + 1, BOOTP_MIN_LEN);
  const ip = o + ETH_HLEN;
  const udp = ip + IP4_MIN_HLEN;
  const m = udp + UDP_HLEN;
  const total = IP4_MIN_HLEN + UDP_HLEN + msgLen;

  putMac(out, o, f.dstMac);
  putMac(out, o + 6, f.srcMac);
  out[o + 12] = ETHERTYPE_IPV4 >>> 8; out[o + 13] = ETHERTYPE_IPV4 & 0xff;

  out[ip] = 0x45; out[ip + 1] = 0;
  out[ip + 2] = total >>> 8; out[ip + 3] = total;
  out[ip + 4] = 0; out[ip + 5] = 0;
  out[ip + 6] = 0x40; out[ip + 7] = 0;
  out[ip + 8] = 64; out[ip + 9] = IpProto.udp;
  out[ip + 10] = 0; out[ip + 11] = 0;
  put32(out, ip + 12, f.srcIp);
  put32(out, ip + 16, f.dstIp);

  out[udp] = DHCP_SERVER_PORT >>> 8; out[udp + 1] = DHCP_SERVER_PORT & 0xff;
  out[udp + 2] = f.dstPort >>> 8; out[udp + 3] = f.dstPort;
  out[udp + 4] = (UDP_HLEN + msgLen) >>> 8; out[udp + 5] = UDP_HLEN + msgLen;
  out[udp + 6] = 0; out[udp + 7] = 0;

  out.fill(0, m, m + msgLen);
  out[m] = f.op; out[m + 1] = HTYPE_ETHERNET; out[m + 2] = 6; out[m + 3] = 0;
  put32(out, m + 4, f.xid);
  out[m + 10] = f.flags >>> 8; out[m + 11] = f.flags;
  put32(out, m + 12, f.ciaddr);
  put32(out, m + 16, f.yiaddr);
  put32(out, m + 20, f.siaddr);
  put32(out, m + 24, f.giaddr);
  putMac(out, m + CHADDR, f.chaddr);
  put32(out, m + 236, DHCP_MAGIC);
  out.set(f.options.subarray(0, optLen), m + DHCP_OPTIONS_OFF);
  out[m + DHCP_OPTIONS_OFF + optLen] = DhcpOpt.end;

  ip4FillChecksum(out, ip);
  l4FillChecksum4(out, ip);
  return ETH_HLEN + total;
}

function get32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24; b[o + 1] = v >>> 16; b[o + 2] = v >>> 8; b[o + 3] = v;
}

function putMac(b: Uint8Array, o: number, mac: number): void {
  const hi = Math.floor(mac / 4294967296), lo = mac >>> 0;
  b[o] = hi >>> 8; b[o + 1] = hi;
  b[o + 2] = lo >>> 24; b[o + 3] = lo >>> 16; b[o + 4] = lo >>> 8; b[o + 5] = lo;
}
