// frames.ts — the frames `switchyard bench` offers: the RFC 2544 frame sizes, a simple IMIX,
// UDP/IPv4 templates the native generator copies and stamps, and the learning frames of the
// RFC 2889 tests. Sizes are counted on the wire with the FCS, as RFC 2544 and TRex count
// them; the buffers hold size - 4 bytes (the NIC, here the veth, adds no FCS we could write).
import { ip4ToString, macBytes, macToString, parseIp4, parseMac } from '../wire/addr.js';
import { ip4FillChecksum } from '../wire/checksum.js';
import { ETH_HLEN, ETHERTYPE_IPV4 } from '../wire/ethernet.js';

/** RFC 2544 section 9 sizes for Ethernet, FCS included. */
export const FRAME_SIZES: readonly number[] = [64, 128, 256, 512, 1024, 1280, 1518];
export const MIN_FRAME = 64;
/** 1500-byte MTU of the veths + 14 header + 4 FCS */
export const MAX_FRAME = 1518;
export const FCS_LEN = 4;
/** preamble + start delimiter (8) + inter-frame gap (12): what an L1 rate adds per frame */
export const L1_OVERHEAD = 20;

/** The "simple IMIX" of TRex and Spirent: 7:4:1 of 64, 570 and 1518 bytes, in 48 frames. */
export const IMIX: readonly { size: number; weight: number }[] = [
  { size: 64, weight: 28 }, { size: 570, weight: 16 }, { size: 1518, weight: 4 },
];

/**
 * One IMIX cycle: 48 indexes into IMIX, exactly `weight` of each, interleaved by smooth
 * weighted round-robin (every turn each size earns its weight, the richest is sent and pays
 * the total), so the large frames come spread out instead of in a burst.
 */
export function imixOrder(): Uint16Array {
  const total = IMIX.reduce((s, e) => s + e.weight, 0);
  const credit = IMIX.map(() => 0);
  const out = new Uint16Array(total);
  for (let k = 0; k < total; k++) {
    let best = 0;
    for (let i = 0; i < IMIX.length; i++) {
      credit[i] += IMIX[i].weight;
      if (credit[i] > credit[best]) best = i;
    }
    credit[best] -= total;
    out[k] = best;
  }
  return out;
}

/** Average IMIX frame on the wire (FCS included): 16984 / 48 ≈ 353.83 bytes. */
export function imixAverageBytes(): number {
  const total = IMIX.reduce((s, e) => s + e.weight, 0);
  return IMIX.reduce((s, e) => s + e.size * e.weight, 0) / total;
}

export type FrameSize = number | 'imix';

/** "64,128,imix" or "all" (the seven sizes and imix) -> sizes in the order given, once each. */
export function parseFrameSizes(text: string): FrameSize[] {
  const out: FrameSize[] = [];
  const add = (s: FrameSize): void => { if (!out.includes(s)) out.push(s); };
  for (const raw of text.split(',')) {
    const w = raw.trim().toLowerCase();
    if (w === 'all') { FRAME_SIZES.forEach(add); add('imix'); continue; }
    if (w === 'imix') { add('imix'); continue; }
    if (!/^\d+$/.test(w)) throw new Error(`frame size "${raw.trim()}": expected a number of bytes, "imix" or "all"`);
    const n = Number(w);
    if (n < MIN_FRAME || n > MAX_FRAME) {
      throw new Error(`frame size ${n}: must be ${MIN_FRAME}..${MAX_FRAME} bytes on the wire (FCS included; the veth MTU is 1500)`);
    }
    add(n);
  }
  if (out.length === 0) throw new Error('no frame sizes given');
  return out;
}

export interface FrameAddresses { dstMac: string; srcMac: string; srcIp: string; dstIp: string; sport: number; dport: number }

/** where the generator writes its stamp: the first UDP payload byte (14 + 20 + 8) */
export const STAMP_OFFSET = 42;
/** "SYB1": stamp = magic u32, sequence u32, u64 send time in ns */
export const STAMP_MAGIC = 0x53594231;
/** "SYBL": the stamp of the first frame of each burst, the generator's latency samples */
export const STAMP_MAGIC_LATENCY = 0x5359424c;
export const STAMP_LEN = 16;
/** IEEE "local experimental" ethertype 1, used by the RFC 2889 learning frames */
export const ETHERTYPE_LEARN = 0x88b5;

/** Zeroed buffer of a wire size (size - FCS) with the Ethernet II header written. */
export function ethFrame(o: { dstMac: string; srcMac: string; etherType: number; size: number }): Uint8Array {
  if (!Number.isInteger(o.size) || o.size < MIN_FRAME) throw new RangeError(`frame size ${o.size}: at least ${MIN_FRAME}`);
  const b = new Uint8Array(o.size - FCS_LEN);
  b.set(macBytes(parseMac(o.dstMac)), 0);
  b.set(macBytes(parseMac(o.srcMac)), 6);
  put16(b, 12, o.etherType);
  return b;
}

/** Ethernet II + IPv4 (no options, DF, id 0) + UDP without checksum, zero payload. */
export function udpFrame(o: FrameAddresses & { size: number; ttl?: number }): Uint8Array {
  const b = ethFrame({ dstMac: o.dstMac, srcMac: o.srcMac, etherType: ETHERTYPE_IPV4, size: o.size });
  const ip = ETH_HLEN;
  const ipLen = b.length - ip;
  if (ipLen > 0xffff) throw new RangeError(`frame size ${o.size}: IPv4 total length over 65535`);
  b[ip] = 0x45;
  put16(b, ip + 2, ipLen);
  put16(b, ip + 6, 0x4000);
  b[ip + 8] = o.ttl ?? 64;
  b[ip + 9] = 17;
  put32(b, ip + 12, parseIp4(o.srcIp));
  put32(b, ip + 16, parseIp4(o.dstIp));
  ip4FillChecksum(b, ip);
  const udp = ip + 20;
  put16(b, udp, o.sport);
  put16(b, udp + 2, o.dport);
  put16(b, udp + 4, ipLen - 20);
  return b;
}

/** The generator's templates for one size: one frame, or the three IMIX frames and their order. */
export function templatesFor(size: FrameSize, addr: FrameAddresses): { templates: Uint8Array[]; order?: Uint16Array; avgWireBytes: number } {
  if (size === 'imix') {
    return { templates: IMIX.map((e) => udpFrame({ ...addr, size: e.size })), order: imixOrder(), avgWireBytes: imixAverageBytes() };
  }
  return { templates: [udpFrame({ ...addr, size })], avgWireBytes: size };
}

/** mac + n in its low 24 bits (modulo 2^24, the OUI half untouched), as the generator varies it. */
export function macAdd(mac: string, n: number): string {
  const v = parseMac(mac);
  const low = v % 2 ** 24;
  return macToString(v - low + mod(low + n, 2 ** 24));
}

/** ip + n, modulo 2^32. */
export function ipAdd(ip: string, n: number): string {
  return ip4ToString(mod(parseIp4(ip) + n, 2 ** 32));
}

/** Bit/s of the frames themselves (FCS included): what "Gbit/s" means in most tables. */
export function wireBits(pps: number, avgWireBytes: number): number {
  return pps * avgWireBytes * 8;
}

/** Bit/s with preamble and gap (TRex's "L1" rate): 64-byte line rate on 10G is 14.88 Mpps. */
export function l1Bits(pps: number, avgWireBytes: number): number {
  return pps * (avgWireBytes + L1_OVERHEAD) * 8;
}

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 255; b[o + 1] = v & 255;
}

function put32(b: Uint8Array, o: number, v: number): void {
  put16(b, o, v >>> 16); put16(b, o + 2, v & 0xffff);
}
