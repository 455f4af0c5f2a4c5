// ethernet.ts — Ethernet II / IEEE 802.3 framing, with 802.1Q and 802.1ad tags.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                  Destination MAC (6 octets)                   |
//   +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                               |                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+       Source MAC (6 octets)   +
//   |                                                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   EtherType / Length (2)      |  [TPID 0x8100|0x88a8, TCI]... |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A type field below 0x0600 is an IEEE 802.3 length: the number of payload bytes, which
// must not exceed what the frame carries. All readers take (bytes, offset of the frame);
// call them only after validFrame() said the frame is long enough for what they read.

export const ETH_HLEN = 14;
export const VLAN_TAG_LEN = 4;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_IPV6 = 0x86dd;
/** Type values below this are 802.3 lengths. */
export const ETHERTYPE_MIN = 0x0600;

export const DST = 0;
export const SRC = 6;
export const TYPE = 12;

export function etherType(b: Uint8Array, o: number): number {
  return (b[o + TYPE] << 8) | b[o + TYPE + 1];
}

/** I/G bit of the destination: broadcast or multicast. */
export function dstIsGroup(b: Uint8Array, o: number): boolean {
  return (b[o] & 1) === 1;
}

export function srcIsGroup(b: Uint8Array, o: number): boolean {
  return (b[o + SRC] & 1) === 1;
}

export function srcIsZero(b: Uint8Array, o: number): boolean {
  return (b[o + 6] | b[o + 7] | b[o + 8] | b[o + 9] | b[o + 10] | b[o + 11]) === 0;
}

export function isTagType(t: number): boolean {
  return t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ;
}

/** What validFrame() found. OK is 0; the others are reasons to drop. */
export const FrameCheck = {
  ok: 0,
  /** shorter than the Ethernet header, or than a VLAN tag it announces */
  runt: 1,
  /** an 802.3 length field larger than the payload the frame carries */
  badLength: 2,
} as const;

/**
 * Offset (from the frame start) of the payload after the Ethernet header and any stack of
 * 802.1Q/802.1ad tags, or a negative FrameCheck value. `len` is the frame length.
 */
export function payloadOffset(b: Uint8Array, o: number, len: number): number {
  if (len < ETH_HLEN) return -FrameCheck.runt;
  let off = TYPE;
  let t = (b[o + off] << 8) | b[o + off + 1];
  while (t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ) {
    off += VLAN_TAG_LEN;
    if (off + 2 > len) return -FrameCheck.runt;
    t = (b[o + off] << 8) | b[o + off + 1];
  }
  off += 2;
  if (t < ETHERTYPE_MIN && t > len - off) return -FrameCheck.badLength;
  return off;
}

/** The EtherType after any VLAN tags; call with the offset payloadOffset() returned. */
export function innerType(b: Uint8Array, o: number, payloadOff: number): number {
  return (b[o + payloadOff - 2] << 8) | b[o + payloadOff - 1];
}
