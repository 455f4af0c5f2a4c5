// addr.ts — MAC and IPv4 addresses as numbers, and their text forms.
//
// On the packet path a MAC is two numbers read straight from the frame (hi 16 bits, lo 32
// bits) or one 48-bit number (hi * 2^32 + lo, exact in a double); an IPv4 address is an
// unsigned 32-bit number. Text is for config, control and tests only.

const HEX = '0123456789abcdef';

/** 48-bit MAC at bytes[o..o+6) as a number. */
export function macAt(bytes: Uint8Array, o: number): number {
  return (bytes[o] * 256 + bytes[o + 1]) * 4294967296 +
    ((bytes[o + 2] << 24) >>> 0) + (bytes[o + 3] << 16) + (bytes[o + 4] << 8) + bytes[o + 5];
}

export function macToString(mac: number): string {
  let s = '';
  for (let i = 5; i >= 0; i--) {
    const b = Math.floor(mac / 2 ** (8 * i)) & 0xff;
    s += HEX[b >> 4] + HEX[b & 15] + (i ? ':' : '');
  }
  return s;
}

const MAC_RE = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

/** Parse "aa:bb:cc:dd:ee:ff" (or with '-'); throws RangeError on anything else. */
export function parseMac(text: string): number {
  if (!MAC_RE.test(text)) throw new RangeError(`not a MAC address: "${text}"`);
  return parseInt(text.replace(/[:-]/g, ''), 16);
}

export function macBytes(mac: number): Uint8Array {
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = Math.floor(mac / 2 ** (8 * (5 - i))) & 0xff;
  return out;
}

/** Group (multicast or broadcast) bit of a MAC number. */
export function macIsGroup(mac: number): boolean {
  return (Math.floor(mac / 2 ** 40) & 1) === 1;
}

export function ip4ToString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

const IP4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parse dotted-quad IPv4 to an unsigned number; throws RangeError on anything else. */
export function parseIp4(text: string): number {
  const m = IP4_RE.exec(text);
  if (!m) throw new RangeError(`not an IPv4 address: "${text}"`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255 || (m[i].length > 1 && m[i][0] === '0')) throw new RangeError(`not an IPv4 address: "${text}"`);
    v = v * 256 + o;
  }
  return v >>> 0;
}
