// frames.ts — test frame builders, written independently of src/wire on purpose: a bug in
// the wire layer must not be able to agree with itself in a test.

export function mac(text: string): number[] {
  return text.split(':').map((h) => parseInt(h, 16));
}

function u16(v: number): number[] { return [(v >> 8) & 255, v & 255]; }

function ipBytes(text: string): number[] { return text.split('.').map(Number); }

function csum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) + (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface EthOpts { dst: string; src: string; type?: number; vlan?: number[]; payload?: number[]; pad?: boolean }

/** Ethernet frame: dst, src, optional 802.1Q tags (VLAN ids), type, payload. */
export function eth(o: EthOpts): Uint8Array {
  const tags: number[] = [];
  for (const vid of o.vlan ?? []) tags.push(0x81, 0x00, ...u16(vid));
  const bytes = [...mac(o.dst), ...mac(o.src), ...tags, ...u16(o.type ?? 0x0800), ...(o.payload ?? [])];
  while (o.pad && bytes.length < 60) bytes.push(0);
  return Uint8Array.from(bytes);
}

/** IPv4 header + payload with a correct header checksum. */
export function ip4(o: { src: string; dst: string; proto?: number; ttl?: number; payload?: number[]; totalLength?: number; ihl?: number }): number[] {
  const payload = o.payload ?? [];
  const ihl = o.ihl ?? 5;
  const h = [0x40 | ihl, 0, ...u16(o.totalLength ?? 20 + payload.length), 0, 1, 0x40, 0, o.ttl ?? 64, o.proto ?? 17, 0, 0, ...ipBytes(o.src), ...ipBytes(o.dst)];
  while (h.length < ihl * 4) h.push(0);
  const c = csum(h);
  h[10] = c >> 8; h[11] = c & 255;
  return [...h, ...payload];
}

/** A UDP/IPv4 frame between two MACs (padded to 60 bytes). */
export function udpFrame(src: string, dst: string, body = 'hello'): Uint8Array {
  const data = [...Buffer.from(body)];
  const udp = [...u16(1234), ...u16(5678), ...u16(8 + data.length), 0, 0, ...data];
  return eth({ dst, src, type: 0x0800, payload: ip4({ src: '10.0.0.1', dst: '10.0.0.2', payload: udp }), pad: true });
}

/** An ARP request (broadcast) from mac/ip for ip. */
export function arpRequest(srcMac: string, srcIp: string, targetIp: string): Uint8Array {
  const payload = [0, 1, 8, 0, 6, 4, 0, 1, ...mac(srcMac), ...ipBytes(srcIp), 0, 0, 0, 0, 0, 0, ...ipBytes(targetIp)];
  return eth({ dst: 'ff:ff:ff:ff:ff:ff', src: srcMac, type: 0x0806, payload, pad: true });
}

export function hex(b: Uint8Array): string { return Buffer.from(b).toString('hex'); }

// ---- routed-mode builders (added; the ones above stay as they are) ----

/** RFC 1071 Internet checksum of bytes (what goes in the field; 0 over data that verifies). */
export function inetChecksum(bytes: ArrayLike<number>): number {
  return csum(Array.from(bytes));
}

export interface Ipv4Opts {
  src: string;
  dst: string;
  proto?: number;
  ttl?: number;
  tos?: number;
  id?: number;
  /** DF (default true) */
  df?: boolean;
  mf?: boolean;
  /** fragment offset in 8-byte units */
  fragOffset?: number;
  /** option bytes (padded with EOL to a multiple of 4) */
  options?: number[];
  payload?: number[];
}

/** IPv4 header (with options, fragments, any TTL) + payload, correct header checksum. */
export function ipv4(o: Ipv4Opts): number[] {
  const opts = [...(o.options ?? [])];
  while (opts.length % 4) opts.push(0);
  const payload = o.payload ?? [];
  const hl = 20 + opts.length;
  const ff = ((o.df ?? true) ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | (o.fragOffset ?? 0);
  const h = [0x40 | (hl >> 2), o.tos ?? 0, ...u16(hl + payload.length), ...u16(o.id ?? 0x1234), ...u16(ff),
    o.ttl ?? 64, o.proto ?? 17, 0, 0, ...ipBytes(o.src), ...ipBytes(o.dst), ...opts];
  const c = csum(h);
  h[10] = c >> 8; h[11] = c & 255;
  return [...h, ...payload];
}

/** UDP header + data (checksum 0: none). */
export function udp(sport: number, dport: number, data: number[] | string = []): number[] {
  const d = typeof data === 'string' ? [...Buffer.from(data)] : data;
  return [...u16(sport), ...u16(dport), ...u16(8 + d.length), 0, 0, ...d];
}

/** An ICMP message: type, code, the 4 bytes after the checksum, data; checksum filled. */
export function icmp(type: number, code: number, rest: number[], data: number[] = []): number[] {
  const m = [type, code, 0, 0, ...rest, ...data];
  const c = csum(m);
  m[2] = c >> 8; m[3] = c & 255;
  return m;
}

/** ICMP echo request (type 8) or reply (type 0). */
export function icmpEcho(type: 0 | 8, id: number, seq: number, data: number[] | string = 'ping'): number[] {
  return icmp(type, 0, [...u16(id), ...u16(seq)], typeof data === 'string' ? [...Buffer.from(data)] : data);
}

/** An IPv4 frame (Ethernet + ipv4()), padded to 60 bytes. */
export function ipFrame(dst: string, src: string, o: Ipv4Opts): Uint8Array {
  return eth({ dst, src, type: 0x0800, payload: ipv4(o), pad: true });
}

export interface ArpOpts {
  op: 1 | 2;
  ethDst: string;
  ethSrc: string;
  sha: string;
  spa: string;
  tha?: string;
  tpa: string;
}

/** Any ARP frame (Ethernet/IPv4), padded to 60 bytes with zeros. */
export function arpFrame(o: ArpOpts): Uint8Array {
  const payload = [0, 1, 8, 0, 6, 4, 0, o.op, ...mac(o.sha), ...ipBytes(o.spa), ...mac(o.tha ?? '00:00:00:00:00:00'), ...ipBytes(o.tpa)];
  return eth({ dst: o.ethDst, src: o.ethSrc, type: 0x0806, payload, pad: true });
}

/** A unicast ARP reply "spa is at sha" to tha/tpa. */
export function arpReply(sha: string, spa: string, tha: string, tpa: string): Uint8Array {
  return arpFrame({ op: 2, ethDst: tha, ethSrc: sha, sha, spa, tha, tpa });
}

/** A broadcast ARP request from sha/spa for tpa (spa 0.0.0.0: an RFC 5227 probe; spa = tpa: an announcement). */
export function arpWhoHas(sha: string, spa: string, tpa: string): Uint8Array {
  return arpFrame({ op: 1, ethDst: 'ff:ff:ff:ff:ff:ff', ethSrc: sha, sha, spa, tpa });
}

// ---- NAT builders (added; the ones above stay as they are) ----

export const TcpFlag = { fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10 } as const;

/** TCP header (20 bytes, no options) + data, checksum 0 (fill it with withL4Checksum). */
export function tcp(sport: number, dport: number, flags: number, seq = 0, ack = 0, data: number[] | string = [], window = 64240): number[] {
  const d = typeof data === 'string' ? [...Buffer.from(data)] : data;
  return [...u16(sport), ...u16(dport), ...u16(seq >>> 16), ...u16(seq & 0xffff), ...u16(ack >>> 16), ...u16(ack & 0xffff),
    0x50, flags, ...u16(window), 0, 0, 0, 0, ...d];
}

/** Sum (folded, not complemented) of the IPv4 pseudo-header and the L4 bytes of a datagram. */
function l4Sum(dg: ArrayLike<number>): number {
  const hl = (dg[0] & 15) * 4;
  const total = (dg[2] << 8) | dg[3];
  const proto = dg[9];
  const len = proto === 17 ? (dg[hl + 4] << 8) | dg[hl + 5] : total - hl;
  const words = [...Array.from({ length: 8 }, (_, i) => dg[12 + i]), 0, proto, ...u16(len)];
  for (let i = 0; i < len; i++) words.push(dg[hl + i]);
  return ~csum(words) & 0xffff;
}

/**
 * The IPv4 datagram (as from ipv4()) with its TCP or UDP checksum computed in full over the
 * pseudo-header (a UDP result of 0 is sent as 0xFFFF, RFC 768).
 */
export function withL4Checksum(dg: number[]): number[] {
  const out = dg.slice();
  if (out[9] !== 6 && out[9] !== 17) return out;
  const hl = (out[0] & 15) * 4;
  const at = hl + (out[9] === 6 ? 16 : 6);
  out[at] = 0; out[at + 1] = 0;
  let c = ~l4Sum(out) & 0xffff;
  if (c === 0 && out[9] === 17) c = 0xffff;
  out[at] = c >> 8; out[at + 1] = c & 255;
  return out;
}

/** Does the TCP/UDP checksum of this whole datagram verify (full recompute)? 'none' for a UDP checksum of 0. */
export function l4ChecksumOk(dg: ArrayLike<number>): boolean | 'none' {
  const hl = (dg[0] & 15) * 4;
  if (dg[9] === 17 && dg[hl + 6] === 0 && dg[hl + 7] === 0) return 'none';
  return l4Sum(dg) === 0xffff;
}

/** An IPv4 frame whose TCP/UDP checksum is filled (Ethernet + withL4Checksum(ipv4())), padded to 60 bytes; other protocols as ipFrame. */
export function ipFrameCs(dst: string, src: string, o: Ipv4Opts): Uint8Array {
  return eth({ dst, src, type: 0x0800, payload: withL4Checksum(ipv4(o)), pad: true });
}
