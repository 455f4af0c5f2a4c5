// checksum.test.ts — RFC 1071 sums on the RFC's own bytes and a real header; RFC 1624
// incremental updates (TTL, addresses, ports) against a full recompute by an independent
// reference on thousands of random datagrams, with the 0x0000/0xFFFF corners forced; the UDP
// "no checksum" 0 kept and a computed 0 stored as 0xFFFF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  csumFold, csumPartial, csumUpdate16, csumUpdate32, internetChecksum, ip4ChecksumValid, ip4DecrementTtl,
  ip4FillChecksum, ip4HeaderChecksum, ip4SetDst, ip4SetSrc, l4Checksum4, l4ChecksumValid4, l4FillChecksum4,
  l4UpdateAddr, l4UpdatePort, pseudoSum4,
} from '../../src/wire/checksum.ts';
import {
  DST_PORT, IpProto, L4Check, SRC_PORT, TcpFlag, checkTcp, checkUdp, dstPort, l4ChecksumOffset, setDstPort, setSrcPort,
  srcPort, tcpAck, tcpChecksum, tcpFlags, tcpHeaderLength, tcpSeq, tcpUrgent, tcpWindow, udpChecksum, udpLength,
} from '../../src/wire/l4.ts';

// ---- an independent reference: the textbook loop over an array ----

function refSum(b: ArrayLike<number>, from = 0, to = b.length): number {
  let s = 0;
  for (let i = from; i < to; i += 2) s += b[i] * 256 + (i + 1 < to ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}
const refCsum = (b: ArrayLike<number>, from = 0, to = b.length): number => ~refSum(b, from, to) & 0xffff;
const get16 = (b: Uint8Array, o: number): number => b[o] * 256 + b[o + 1];
function put16(b: Uint8Array, o: number, v: number): void { b[o] = v >> 8; b[o + 1] = v & 255; }

/** IPv4 header checksum by the reference: copy, zero the field, sum. */
function refIpCsum(b: Uint8Array, o: number): number {
  const h = Array.from(b.subarray(o, o + (b[o] & 15) * 4));
  h[10] = 0; h[11] = 0;
  return refCsum(h);
}

/** TCP/UDP checksum by the reference: pseudo-header bytes + segment with the field zeroed. */
function refL4Csum(b: Uint8Array, ip: number): number {
  const hl = (b[ip] & 15) * 4;
  const proto = b[ip + 9];
  const l4 = ip + hl;
  const len = proto === 17 ? get16(b, l4 + 4) : get16(b, ip + 2) - hl;
  const seg = Array.from(b.subarray(l4, l4 + len));
  const at = proto === 6 ? 16 : 6;
  seg[at] = 0; seg[at + 1] = 0;
  const c = refCsum([...b.subarray(ip + 12, ip + 20), 0, proto, len >> 8, len & 255, ...seg]);
  return proto === 17 && c === 0 ? 0xffff : c;
}

// A small seeded PRNG so failures reproduce.
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

interface Dgram { b: Uint8Array; ip: number; l4: number; proto: number }

/** A random IPv4 datagram (options, TCP or UDP, payload) at a random offset, checksums right. */
function randomDatagram(r: (n: number) => number, proto: number): Dgram {
  const ip = r(20);
  const ihl = 5 + r(4);
  const hl = ihl * 4;
  const l4h = proto === 6 ? 20 + 4 * r(3) : 8;
  const payload = r(64);
  const total = hl + l4h + payload;
  const b = new Uint8Array(ip + total + r(8));
  for (let i = 0; i < b.length; i++) b[i] = r(256);
  b[ip] = 0x40 | ihl;
  put16(b, ip + 2, total);
  b[ip + 6] &= 0x40; b[ip + 7] = 0; // DF maybe, no fragment
  b[ip + 8] = 1 + r(255);
  b[ip + 9] = proto;
  const l4 = ip + hl;
  if (proto === 6) b[l4 + 12] = (l4h / 4) << 4;
  else put16(b, l4 + 4, l4h + payload);
  put16(b, ip + 10, refIpCsum(b, ip));
  const at = l4 + (proto === 6 ? 16 : 6);
  put16(b, at, refL4Csum(b, ip));
  return { b, ip, l4, proto };
}

const l4CsumAt = (d: Dgram): number => get16(d.b, d.l4 + (d.proto === 6 ? 16 : 6));

// ---- full sums ----

test('RFC 1071 section 3 example: sum ddf2, checksum 220d', () => {
  const b = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.equal(csumPartial(b, 0, 8, 0), 0xddf2);
  assert.equal(internetChecksum(b, 0, 8), 0x220d);
  // odd length: the last byte is the high half of a zero-padded word
  assert.equal(csumPartial(b, 0, 3, 0), 0xf201);
  // in pieces (even lengths but the last)
  assert.equal(csumPartial(b, 4, 4, csumPartial(b, 0, 4, 0)), 0xddf2);
  assert.equal(csumFold(0x2ddf0), 0xddf2);
  assert.equal(csumFold(0xffffffffffff), 0xffff);
  assert.equal(csumFold(0xffffffffff), 0x00ff); // 00ff + ffff + ffff
});

test('a real IPv4 header: c0a8:0001 -> c0a8:00c7, checksum b861', () => {
  const h = Uint8Array.from([0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61,
    0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7]);
  assert.equal(ip4HeaderChecksum(h, 0), 0xb861);
  assert.equal(internetChecksum(h, 0, 20), 0);
  assert.equal(ip4ChecksumValid(h, 0), true);
  h[10] = 0; h[11] = 0;
  assert.equal(ip4ChecksumValid(h, 0), false);
  ip4FillChecksum(h, 0);
  assert.equal(get16(h, 10), 0xb861);
});

test('csumPartial equals the reference at every length 0..300 and odd offsets', () => {
  const r = rng(1);
  const b = new Uint8Array(400);
  for (let i = 0; i < b.length; i++) b[i] = r(256);
  for (let len = 0; len <= 300; len++) {
    const o = r(90);
    assert.equal(csumPartial(b, o, len, 0), refSum(b, o, o + len), `len ${len} at ${o}`);
  }
  const ones = new Uint8Array(65536).fill(0xff); // the largest sums the loop can meet
  assert.equal(csumPartial(ones, 0, 65535, 0), refSum(ones, 0, 65535));
});

test('pseudo-header, full TCP/UDP checksum and verification against the reference', () => {
  const r = rng(2);
  for (let n = 0; n < 500; n++) {
    const d = randomDatagram(r, n & 1 ? 6 : 17);
    assert.equal(l4Checksum4(d.b, d.ip), refL4Csum(d.b, d.ip));
    assert.equal(l4ChecksumValid4(d.b, d.ip), true);
    d.b[d.l4 + 1] ^= 1;
    assert.equal(l4ChecksumValid4(d.b, d.ip), false);
    l4FillChecksum4(d.b, d.ip);
    assert.equal(l4ChecksumValid4(d.b, d.ip), true);
    assert.equal(l4CsumAt(d), refL4Csum(d.b, d.ip));
  }
  // 10.0.0.1 -> 10.0.0.2, UDP, length 13: 0a00+0001+0a00+0002+0011+000d
  assert.equal(pseudoSum4(0x0a000001, 0x0a000002, 17, 13), 0x1421);
  assert.equal(pseudoSum4(0xffffffff, 0xffffffff, 6, 0xffff), csumFold(4 * 0xffff + 6 + 0xffff));
});

// ---- incremental updates ----

test('csumUpdate16/32 equal a full recompute on random word arrays', () => {
  const r = rng(3);
  for (let n = 0; n < 5000; n++) {
    const words = 2 + r(30);
    const b = new Uint8Array(words * 2);
    for (let i = 0; i < b.length; i++) b[i] = r(256);
    b[0] |= 1; // never all zero (as in any real header)
    const c = refCsum(b);
    const at = 2 * r(words - 1);
    if (n & 1) {
      const old = get16(b, at), nw = r(65536);
      put16(b, at, nw);
      assert.equal(csumUpdate16(c, old, nw), refCsum(b));
    } else {
      const old = (get16(b, at) * 65536 + get16(b, at + 2)) >>> 0, nw = (r(65536) * 65536 + r(65536)) >>> 0;
      put16(b, at, nw >>> 16); put16(b, at + 2, nw & 0xffff);
      assert.equal(csumUpdate32(c, old, nw), refCsum(b));
    }
  }
});

test('TTL decrement: incremental checksum equals a full recompute on 5000 random headers', () => {
  const r = rng(4);
  for (let n = 0; n < 5000; n++) {
    const d = randomDatagram(r, n & 1 ? 6 : 17);
    const t = d.b[d.ip + 8];
    assert.equal(ip4DecrementTtl(d.b, d.ip), t - 1);
    assert.equal(d.b[d.ip + 8], t - 1);
    assert.equal(get16(d.b, d.ip + 10), refIpCsum(d.b, d.ip));
  }
});

test('TTL decrement corners: a result of 0x0000, a start from 0x0000, down to 0, and TTL 0 refused', () => {
  const r = rng(5);
  for (let n = 0; n < 500; n++) {
    // Make the header after the decrement sum to 0xffff (checksum 0x0000) via the ID field.
    const d = randomDatagram(r, 17);
    const b = d.b, ip = d.ip;
    b[ip + 8] = 2 + r(254);
    b[ip + 8]--; put16(b, ip + 4, 0); put16(b, ip + 10, 0);
    put16(b, ip + 4, 0xffff - refSum(b, ip, ip + (b[ip] & 15) * 4));
    assert.equal(refIpCsum(b, ip), 0);
    b[ip + 8]++;
    put16(b, ip + 10, refIpCsum(b, ip));
    ip4DecrementTtl(b, ip);
    assert.equal(get16(b, ip + 10), 0x0000);
    // and from 0x0000 on
    ip4DecrementTtl(b, ip);
    assert.equal(get16(b, ip + 10), refIpCsum(b, ip));
  }
  const d = randomDatagram(r, 6);
  d.b[d.ip + 8] = 1; put16(d.b, d.ip + 10, refIpCsum(d.b, d.ip));
  assert.equal(ip4DecrementTtl(d.b, d.ip), 0);
  assert.equal(get16(d.b, d.ip + 10), refIpCsum(d.b, d.ip));
  const before = Uint8Array.from(d.b);
  assert.equal(ip4DecrementTtl(d.b, d.ip), -1);
  assert.deepEqual(d.b, before);
});

test('NAT rewrites: addresses and ports, IP and L4 checksums equal a full recompute (4000 datagrams)', () => {
  const r = rng(6);
  for (let n = 0; n < 4000; n++) {
    const d = randomDatagram(r, n & 1 ? 6 : 17);
    const b = d.b;
    if (d.proto === 17 && r(8) === 0) continue; // zero-checksum UDP is tested on its own
    const addr = (r(65536) * 65536 + r(65536)) >>> 0;
    const port = r(65536);
    const src = (n & 2) === 0;
    const oldAddr = src ? ip4SetSrc(b, d.ip, addr) : ip4SetDst(b, d.ip, addr);
    l4UpdateAddr(b, d.l4, d.proto, oldAddr, addr);
    const oldPort = get16(b, d.l4 + (src ? 0 : 2));
    assert.equal(l4UpdatePort(b, d.l4, d.proto, src ? SRC_PORT : DST_PORT, port), oldPort);
    assert.equal(get16(b, d.ip + (src ? 12 : 16)), addr >>> 16);
    assert.equal(get16(b, d.l4 + (src ? 0 : 2)), port);
    assert.equal(get16(b, d.ip + 10), refIpCsum(b, d.ip), `ip csum #${n}`);
    assert.equal(l4CsumAt(d), refL4Csum(b, d.ip), `l4 csum #${n}`);
  }
});

test('UDP checksum 0 ("none") stays 0 through address and port rewrites', () => {
  const r = rng(7);
  for (let n = 0; n < 200; n++) {
    const d = randomDatagram(r, 17);
    put16(d.b, d.l4 + 6, 0);
    const addr = (r(65536) * 65536 + r(65536)) >>> 0;
    const old = ip4SetDst(d.b, d.ip, addr);
    l4UpdateAddr(d.b, d.l4, 17, old, addr);
    l4UpdatePort(d.b, d.l4, 17, DST_PORT, r(65536));
    assert.equal(get16(d.b, d.l4 + 6), 0);
    assert.equal(l4ChecksumValid4(d.b, d.ip), true);
    assert.equal(get16(d.b, d.ip + 10), refIpCsum(d.b, d.ip));
  }
});

test('a computed 0: UDP stores 0xFFFF, TCP stores 0x0000, incrementally as in full', () => {
  const r = rng(8);
  for (let n = 0; n < 400; n++) {
    const proto = n & 1 ? 6 : 17;
    const d = randomDatagram(r, proto);
    const b = d.b;
    const newAddr = (r(65536) * 65536 + r(65536)) >>> 0;
    const newPort = r(65536);
    // Build the rewritten datagram first and pick a word (the other port) that makes its
    // L4 sum 0xffff, i.e. a computed checksum of 0.
    const after = Uint8Array.from(b);
    put16(after, d.ip + 12, newAddr >>> 16); put16(after, d.ip + 14, newAddr & 0xffff);
    put16(after, d.l4 + 0, newPort);
    put16(after, d.l4 + 2, 0);
    const seg = refL4Csum(after, d.ip); // complement of the sum without the dst port
    const needed = proto === 17 && seg === 0xffff ? 0 : seg; // sum + needed = 0xffff
    put16(b, d.l4 + 2, needed);
    put16(after, d.l4 + 2, needed);
    assert.ok(refSumIsZeroCase(after, d.ip));
    put16(b, d.l4 + (proto === 6 ? 16 : 6), refL4Csum(b, d.ip));
    const old = ip4SetSrc(b, d.ip, newAddr);
    l4UpdateAddr(b, d.l4, proto, old, newAddr);
    l4UpdatePort(b, d.l4, proto, SRC_PORT, newPort);
    assert.equal(l4CsumAt(d), proto === 17 ? 0xffff : 0x0000, `#${n}`);
    assert.equal(l4Checksum4(b, d.ip), proto === 17 ? 0xffff : 0x0000);
    assert.equal(l4ChecksumValid4(b, d.ip), true);
  }
});

/** True if the reference computes a checksum of 0 for this datagram (UDP shows it as 0xffff). */
function refSumIsZeroCase(b: Uint8Array, ip: number): boolean {
  const c = refL4Csum(b, ip);
  return b[ip + 9] === 17 ? c === 0xffff : c === 0;
}

test('other protocols: l4UpdatePort refuses, l4UpdateAddr and l4Checksum4 leave them alone', () => {
  const d = randomDatagram(rng(9), 6);
  d.b[d.ip + 9] = IpProto.icmp;
  const before = Uint8Array.from(d.b);
  assert.equal(l4UpdatePort(d.b, d.l4, IpProto.icmp, SRC_PORT, 1), -1);
  l4UpdateAddr(d.b, d.l4, IpProto.icmp, 1, 2);
  l4FillChecksum4(d.b, d.ip);
  assert.deepEqual(d.b, before);
  assert.equal(l4Checksum4(d.b, d.ip), -1);
  assert.equal(l4ChecksumValid4(d.b, d.ip), false);
});

// ---- l4.ts: the headers these updates work on ----

test('TCP SYN fixture: every field; the gate rejects every truncation and a short data offset', () => {
  const syn = Uint8Array.from(Buffer.from(
    'c350' + '0050' + '12345678' + '80000001' + 'a0' + 'c2' + 'faf0' + 'abcd' + '0007' +
    '020405b40402080a0000000100000000' + '01030307', 'hex'));
  assert.equal(syn.length, 40);
  assert.equal(srcPort(syn, 0), 50000);
  assert.equal(dstPort(syn, 0), 80);
  assert.equal(tcpSeq(syn, 0), 0x12345678);
  assert.equal(tcpAck(syn, 0), 0x80000001);
  assert.equal(tcpHeaderLength(syn, 0), 40);
  assert.equal(tcpFlags(syn, 0), TcpFlag.syn | TcpFlag.ece | TcpFlag.cwr);
  assert.equal(tcpWindow(syn, 0), 64240);
  assert.equal(tcpChecksum(syn, 0), 0xabcd);
  assert.equal(tcpUrgent(syn, 0), 7);
  assert.equal(l4ChecksumOffset(IpProto.tcp), 16);
  for (let avail = 0; avail < 20; avail++) assert.equal(checkTcp(syn, 0, avail), L4Check.truncated);
  for (let avail = 20; avail < 40; avail++) assert.equal(checkTcp(syn, 0, avail), L4Check.badLength);
  assert.equal(checkTcp(syn, 0, 40), L4Check.ok);
  const bad = Uint8Array.from(syn); bad[12] = 0x40;
  assert.equal(checkTcp(bad, 0, 40), L4Check.badHeader);
  setSrcPort(syn, 0, 0xfffe); setDstPort(syn, 0, 1);
  assert.equal(srcPort(syn, 0), 0xfffe); assert.equal(dstPort(syn, 0), 1);
});

test('UDP fixture (a DNS query header): fields and gate', () => {
  const u = Uint8Array.from(Buffer.from('d431' + '0035' + '0025' + '0000' + '00'.repeat(29), 'hex'));
  assert.equal(srcPort(u, 0), 54321);
  assert.equal(dstPort(u, 0), 53);
  assert.equal(udpLength(u, 0), 37);
  assert.equal(udpChecksum(u, 0), 0);
  assert.equal(l4ChecksumOffset(IpProto.udp), 6);
  assert.equal(l4ChecksumOffset(IpProto.icmp), -1);
  for (let avail = 0; avail < 8; avail++) assert.equal(checkUdp(u, 0, avail), L4Check.truncated);
  for (let avail = 8; avail < 37; avail++) assert.equal(checkUdp(u, 0, avail), L4Check.badLength);
  assert.equal(checkUdp(u, 0, 37), L4Check.ok);
  assert.equal(checkUdp(u, 0, 40), L4Check.ok); // datagram longer than the UDP length: fine
  const short = Uint8Array.from(u); short[5] = 7;
  assert.equal(checkUdp(short, 0, 37), L4Check.badLength);
});
