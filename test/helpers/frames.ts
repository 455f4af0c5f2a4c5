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
