// l4.ts — the TCP (RFC 9293) and UDP (RFC 768) headers, as far as a router and a NAT read them.
//
//   TCP                                                               UDP
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |          Source Port          |       Destination Port        |  (same in UDP)
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                        Sequence Number                        |  UDP: Length | Checksum
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Acknowledgment Number                      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Data |       |C|E|U|A|P|R|S|F|                               |
//   | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//   |       |       |R|E|G|K|H|T|N|N|                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Checksum            |         Urgent Pointer        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Options                    |    Padding    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Readers take (bytes, offset of the TCP/UDP header). The gates checkTcp()/checkUdp() take
// `avail`: the bytes from the L4 header to the end of the IP datagram (total length minus
// header length), not to the end of the frame, which may carry Ethernet padding. After a gate
// said L4Check.ok, the header (TCP: with its options) lies inside `avail`. Only a first
// fragment (or an unfragmented datagram) carries an L4 header at all.
// Checksum computation and checksum-keeping rewrites live in checksum.ts.

/** IP protocol numbers (IANA) this layer knows by name. */
export const IpProto = {
  icmp: 1,
  tcp: 6,
  udp: 17,
} as const;

export const TCP_MIN_HLEN = 20;
export const UDP_HLEN = 8;

/** Offsets inside the L4 header. Ports sit at the same place in TCP and UDP. */
export const SRC_PORT = 0;
export const DST_PORT = 2;
export const TCP_CSUM = 16;
export const UDP_CSUM = 6;

/** TCP flag bits as they sit in byte 13. */
export const TcpFlag = {
  fin: 0x01,
  syn: 0x02,
  rst: 0x04,
  psh: 0x08,
  ack: 0x10,
  urg: 0x20,
  ece: 0x40,
  cwr: 0x80,
} as const;

/** What checkTcp()/checkUdp() found. OK is 0; the others are reasons to drop. */
export const L4Check = {
  ok: 0,
  /** fewer bytes than a minimal header */
  truncated: 1,
  /** TCP data offset below 5 words */
  badHeader: 2,
  /** TCP: options run past the datagram; UDP: length below 8 or past the datagram */
  badLength: 3,
} as const;

/** Offset of the checksum field inside the L4 header for this protocol, or -1. */
export function l4ChecksumOffset(proto: number): number {
  return proto === IpProto.tcp ? TCP_CSUM : proto === IpProto.udp ? UDP_CSUM : -1;
}

// Shared by TCP and UDP.
export function srcPort(b: Uint8Array, o: number): number { return (b[o] << 8) | b[o + 1]; }
export function dstPort(b: Uint8Array, o: number): number { return (b[o + 2] << 8) | b[o + 3]; }

// TCP.
export function tcpSeq(b: Uint8Array, o: number): number {
  return ((b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) >>> 0;
}
export function tcpAck(b: Uint8Array, o: number): number {
  return ((b[o + 8] << 24) | (b[o + 9] << 16) | (b[o + 10] << 8) | b[o + 11]) >>> 0;
}
/** Header length in bytes (data offset × 4), options included. */
export function tcpHeaderLength(b: Uint8Array, o: number): number { return (b[o + 12] >> 4) << 2; }
/** The eight flag bits (TcpFlag) of byte 13; the NS bit of byte 12 is not included. */
export function tcpFlags(b: Uint8Array, o: number): number { return b[o + 13]; }
export function tcpWindow(b: Uint8Array, o: number): number { return (b[o + 14] << 8) | b[o + 15]; }
export function tcpChecksum(b: Uint8Array, o: number): number { return (b[o + 16] << 8) | b[o + 17]; }
export function tcpUrgent(b: Uint8Array, o: number): number { return (b[o + 18] << 8) | b[o + 19]; }

// UDP.
export function udpLength(b: Uint8Array, o: number): number { return (b[o + 4] << 8) | b[o + 5]; }
/** 0 means the sender computed no checksum (allowed over IPv4). */
export function udpChecksum(b: Uint8Array, o: number): number { return (b[o + 6] << 8) | b[o + 7]; }

/** Raw port setters: they do not touch the checksum (checksum.ts l4UpdatePort does). */
export function setSrcPort(b: Uint8Array, o: number, port: number): void { b[o] = port >>> 8; b[o + 1] = port; }
export function setDstPort(b: Uint8Array, o: number, port: number): void { b[o + 2] = port >>> 8; b[o + 3] = port; }

/** Structural check of a TCP header with `avail` bytes from o to the end of the datagram. */
export function checkTcp(b: Uint8Array, o: number, avail: number): number {
  if (avail < TCP_MIN_HLEN) return L4Check.truncated;
  const hl = (b[o + 12] >> 4) << 2;
  if (hl < TCP_MIN_HLEN) return L4Check.badHeader;
  if (hl > avail) return L4Check.badLength;
  return L4Check.ok;
}

/**
 * Structural check of a UDP header with `avail` bytes from o to the end of the datagram. A UDP
 * length shorter than the datagram is accepted (the rest is not UDP payload), a longer one not.
 */
export function checkUdp(b: Uint8Array, o: number, avail: number): number {
  if (avail < UDP_HLEN) return L4Check.truncated;
  const len = (b[o + 4] << 8) | b[o + 5];
  if (len < UDP_HLEN || len > avail) return L4Check.badLength;
  return L4Check.ok;
}
