// ip4.ts — the IPv4 header (RFC 791).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Version|  IHL  |Type of Service|          Total Length         |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |         Identification        |Flags|      Fragment Offset    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Time to Live |    Protocol   |         Header Checksum       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                       Source Address                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Destination Address                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Options                    |    Padding    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Readers take (bytes, offset of the IPv4 header). check4() is the gate: after it returned
// Ip4Check.ok, every header field and the whole datagram (total length) lie inside `avail`.

export const IP4_MIN_HLEN = 20;

export const Ip4Check = {
  ok: 0,
  /** fewer bytes than a minimal header */
  truncated: 1,
  /** version is not 4 or IHL < 5 */
  badHeader: 2,
  /** total length smaller than the header, or larger than the bytes present */
  badLength: 3,
} as const;

export function version(b: Uint8Array, o: number): number { return b[o] >> 4; }
export function headerLength(b: Uint8Array, o: number): number { return (b[o] & 15) << 2; }
export function totalLength(b: Uint8Array, o: number): number { return (b[o + 2] << 8) | b[o + 3]; }
export function ttl(b: Uint8Array, o: number): number { return b[o + 8]; }
export function protocol(b: Uint8Array, o: number): number { return b[o + 9]; }
export function checksum(b: Uint8Array, o: number): number { return (b[o + 10] << 8) | b[o + 11]; }
export function srcAddr(b: Uint8Array, o: number): number {
  return ((b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15]) >>> 0;
}
export function dstAddr(b: Uint8Array, o: number): number {
  return ((b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19]) >>> 0;
}

/** Structural check of the header at o with `avail` bytes from o to the end of the frame. */
export function check4(b: Uint8Array, o: number, avail: number): number {
  if (avail < IP4_MIN_HLEN) return Ip4Check.truncated;
  const vihl = b[o];
  if (vihl >> 4 !== 4 || (vihl & 15) < 5) return Ip4Check.badHeader;
  const hl = (vihl & 15) << 2;
  const total = (b[o + 2] << 8) | b[o + 3];
  if (hl > avail) return Ip4Check.truncated;
  if (total < hl || total > avail) return Ip4Check.badLength;
  return Ip4Check.ok;
}

// Setters write one field and leave the header checksum as it is: use them when the checksum
// is recomputed afterwards. checksum.ts has the checksum-keeping forms (ip4DecrementTtl,
// ip4SetSrc, ip4SetDst).
export function setTtl(b: Uint8Array, o: number, v: number): void { b[o + 8] = v; }
export function setChecksum(b: Uint8Array, o: number, v: number): void {
  b[o + 10] = v >>> 8; b[o + 11] = v;
}
export function setSrcAddr(b: Uint8Array, o: number, a: number): void {
  b[o + 12] = a >>> 24; b[o + 13] = a >>> 16; b[o + 14] = a >>> 8; b[o + 15] = a;
}
export function setDstAddr(b: Uint8Array, o: number, a: number): void {
  b[o + 16] = a >>> 24; b[o + 17] = a >>> 16; b[o + 18] = a >>> 8; b[o + 19] = a;
}
