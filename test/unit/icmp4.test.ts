// icmp4.test.ts — echo replies made in place checked against packets built independently;
// error frames checked field by field with checksums recomputed in full; the RFC 1812 rules
// of when not to send an error, one by one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ICMP_ERROR_MAX_QUOTE, IcmpCheck, IcmpType, TimeExceededCode, UnreachCode, checkIcmp, echoId, echoReplyInPlace,
  echoSeq, icmpChecksum, icmpChecksumValid, icmpCode, icmpFillChecksum, icmpType, mayReplyWithError, nextHopMtu,
  setEchoId, writeIcmpError,
} from '../../src/wire/icmp4.ts';
import { eth, hex, ip4, udpFrame } from '../helpers/frames.ts';

// ---- independent helpers ----

function refCsum(b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += b[i] * 256 + (i + 1 < b.length ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}
const get16 = (b: ArrayLike<number>, o: number): number => b[o] * 256 + b[o + 1];

/** An ICMP echo message (request 8 / reply 0) with its checksum. */
function icmpEcho(type: number, id: number, seq: number, data: number[], code = 0): number[] {
  const m = [type, code, 0, 0, id >> 8, id & 255, seq >> 8, seq & 255, ...data];
  const c = refCsum(m);
  m[2] = c >> 8; m[3] = c & 255;
  return m;
}

const MAC_A = '52:54:00:00:00:0a', MAC_R = '02:00:00:00:00:01';
const M = (s: string): number => parseInt(s.replace(/:/g, ''), 16);
const IP = (s: string): number => s.split('.').reduce((a, x) => a * 256 + Number(x), 0);

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

// ---- accessors and gate ----

test('echo request fixture: every field, gate and checksum', () => {
  // ping from Linux: id 0x1c2b, seq 1, 8 bytes of data
  const m = Uint8Array.from(icmpEcho(8, 0x1c2b, 1, [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17]));
  assert.equal(icmpType(m, 0), IcmpType.echoRequest);
  assert.equal(icmpCode(m, 0), 0);
  assert.equal(icmpChecksum(m, 0), get16(m, 2));
  assert.equal(echoId(m, 0), 0x1c2b);
  assert.equal(echoSeq(m, 0), 1);
  assert.equal(icmpChecksumValid(m, 0, m.length), true);
  m[9] ^= 0x40;
  assert.equal(icmpChecksumValid(m, 0, m.length), false);
  icmpFillChecksum(m, 0, m.length);
  assert.equal(icmpChecksumValid(m, 0, m.length), true);
  for (let avail = 0; avail < 8; avail++) assert.equal(checkIcmp(m, 0, avail), IcmpCheck.truncated);
  assert.equal(checkIcmp(m, 0, 8), IcmpCheck.ok);
  // frag-needed: MTU in the low half of the second word
  const fn = Uint8Array.from([3, 4, 0, 0, 0, 0, 0x05, 0xdc]);
  assert.equal(nextHopMtu(fn, 0), 1500);
});

test('setEchoId (the NAT identifier rewrite) keeps the checksum equal to a full recompute', () => {
  const r = rng(11);
  for (let n = 0; n < 3000; n++) {
    const data = Array.from({ length: r(40) }, () => r(256));
    const m = Uint8Array.from(icmpEcho(n & 1 ? 8 : 0, r(65536), r(65536), data));
    const old = echoId(m, 0);
    const id = r(65536);
    assert.equal(setEchoId(m, 0, id), old);
    assert.equal(echoId(m, 0), id);
    const z = [...m]; z[2] = 0; z[3] = 0;
    assert.equal(icmpChecksum(m, 0), refCsum(z), `#${n}`);
  }
});

// ---- echo reply in place ----

function echoFrame(o: { src: string; dst: string; ttl: number; type: number; id: number; seq: number; data: number[]; ihl?: number }): Uint8Array {
  return eth({ dst: MAC_R, src: MAC_A, payload: ip4({ src: o.src, dst: o.dst, ttl: o.ttl, proto: 1, ihl: o.ihl, payload: icmpEcho(o.type, o.id, o.seq, o.data) }) });
}

test('echoReplyInPlace: equal to an independently built reply (random ids, data, TTLs, options)', () => {
  const r = rng(12);
  for (let n = 0; n < 2000; n++) {
    const data = Array.from({ length: r(100) }, () => r(256));
    const id = r(65536), seq = r(65536), ttl = 1 + r(255), ihl = 5 + r(3);
    const req = echoFrame({ src: '10.0.0.2', dst: '192.168.7.1', ttl, type: 8, id, seq, data, ihl });
    const want = echoFrame({ src: '192.168.7.1', dst: '10.0.0.2', ttl: 64, type: 0, id, seq, data, ihl });
    assert.equal(echoReplyInPlace(req, 14), true);
    assert.equal(hex(req.subarray(14)), hex(want.subarray(14)), `#${n}`);
  }
});

test('echoReplyInPlace: a reply whose checksum must be 0x0000 (the RFC 1624 corner)', () => {
  const r = rng(13);
  for (let n = 0; n < 200; n++) {
    const id = r(65536), seq = r(65536);
    const data = [...Array.from({ length: 2 * r(20) }, () => r(256)), 0, 0];
    // choose the last data word so that the reply's sum is 0xffff
    const reply = [0, 0, 0, 0, id >> 8, id & 255, seq >> 8, seq & 255, ...data];
    const w = 0xffff - (~refCsum(reply) & 0xffff);
    data[data.length - 2] = w >> 8; data[data.length - 1] = w & 255;
    const req = echoFrame({ src: '10.0.0.2', dst: '10.0.0.1', ttl: 3, type: 8, id, seq, data });
    const want = echoFrame({ src: '10.0.0.1', dst: '10.0.0.2', ttl: 64, type: 0, id, seq, data });
    assert.equal(get16(want, 36), 0);
    assert.equal(echoReplyInPlace(req, 14), true);
    assert.equal(hex(req), hex(want));
  }
});

test('echoReplyInPlace with another source address (a ping to a broadcast address)', () => {
  const req = echoFrame({ src: '10.0.0.2', dst: '10.0.0.255', ttl: 64, type: 8, id: 7, seq: 9, data: [1, 2, 3] });
  const want = echoFrame({ src: '10.0.0.1', dst: '10.0.0.2', ttl: 64, type: 0, id: 7, seq: 9, data: [1, 2, 3] });
  assert.equal(echoReplyInPlace(req, 14, IP('10.0.0.1')), true);
  assert.equal(hex(req.subarray(14)), hex(want.subarray(14)));
});

test('echoReplyInPlace refuses anything but an unfragmented echo request, touching nothing', () => {
  const cases: [string, (f: Uint8Array) => void][] = [
    ['echo reply', (f) => { f[34] = 0; }],
    ['not ICMP', (f) => { f[23] = 17; }],
    ['more fragments', (f) => { f[20] |= 0x20; }],
    ['fragment offset', (f) => { f[21] = 1; }],
  ];
  for (const [what, spoil] of cases) {
    const f = echoFrame({ src: '10.0.0.2', dst: '10.0.0.1', ttl: 9, type: 8, id: 1, seq: 1, data: [] });
    spoil(f);
    const before = hex(f);
    assert.equal(echoReplyInPlace(f, 14), false, what);
    assert.equal(hex(f), before, what);
  }
});

// ---- errors ----

interface Parsed {
  ethDst: string; ethSrc: string; ethType: number;
  ver: number; ihl: number; tos: number; total: number; id: number; flags: number; ttl: number; proto: number;
  src: string; dst: string; ipCsumOk: boolean;
  type: number; code: number; rest: number; icmpCsumOk: boolean; quote: string;
}

/** Field-by-field parse of an error frame, checksums verified by full recompute. */
function parseError(f: Uint8Array, o: number, len: number): Parsed {
  const b = f.subarray(o, o + len);
  const m = (i: number): string => [...b.subarray(i, i + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
  const ip = (i: number): string => [...b.subarray(i, i + 4)].join('.');
  const total = get16(b, 16);
  return {
    ethDst: m(0), ethSrc: m(6), ethType: get16(b, 12),
    ver: b[14] >> 4, ihl: b[14] & 15, tos: b[15], total, id: get16(b, 18), flags: get16(b, 20), ttl: b[22], proto: b[23],
    src: ip(26), dst: ip(30), ipCsumOk: refCsum(b.subarray(14, 34)) === 0,
    type: b[34], code: b[35], rest: get16(b, 38) * 65536 + get16(b, 40), icmpCsumOk: refCsum(b.subarray(34, 14 + total)) === 0,
    quote: hex(b.subarray(42, 14 + total)),
  };
}

const base = { srcMac: M(MAC_R), dstMac: M(MAC_A), srcIp: IP('10.0.0.1'), dstIp: IP('10.0.0.2') };
const expectedL2L3 = {
  ethDst: MAC_A, ethSrc: MAC_R, ethType: 0x0800, ver: 4, ihl: 5, id: 0, flags: 0x4000, ttl: 64, proto: 1,
  src: '10.0.0.1', dst: '10.0.0.2', ipCsumOk: true, icmpCsumOk: true,
};

test('time exceeded about a padded UDP frame: quotes the datagram, not the Ethernet padding', () => {
  const orig = udpFrame('52:54:00:00:00:0a', '02:00:00:00:00:01', 'hi'); // 60 bytes, IP total 30
  assert.equal(orig.length, 60);
  const out = new Uint8Array(700).fill(0xee);
  const len = writeIcmpError(out, 5, {
    ...base, type: IcmpType.timeExceeded, code: TimeExceededCode.ttl, original: orig, originalOff: 14, originalLen: orig.length - 14,
  });
  assert.equal(len, 14 + 20 + 8 + 30);
  assert.deepEqual(parseError(out, 5, len), {
    ...expectedL2L3, tos: 0xc0, total: 58, type: 11, code: 0, rest: 0, quote: hex(orig.subarray(14, 44)),
  });
  assert.equal(out[4], 0xee); assert.equal(out[5 + len], 0xee);
});

test('port unreachable and frag-needed (with MTU) about a large datagram: quote capped at 576 bytes', () => {
  const data = Array.from({ length: 1400 }, (_, i) => i & 255);
  const udp = [0x30, 0x39, 0x00, 0x35, ...[(1408 >> 8), 1408 & 255], 0, 0, ...data];
  const orig = eth({ dst: MAC_R, src: MAC_A, payload: ip4({ src: '10.0.0.2', dst: '203.0.113.9', payload: udp }) });
  orig[15] = 0xb9; // DSCP EF + ECN ECT(1): the error keeps the legacy TOS bits only
  const out = new Uint8Array(14 + 576);
  for (const [type, code, mtu] of [[3, UnreachCode.port, undefined], [3, UnreachCode.fragNeeded, 1280]] as const) {
    out.fill(0xee);
    const len = writeIcmpError(out, 0, { ...base, type, code, mtu, original: orig, originalOff: 14, originalLen: orig.length - 14 });
    assert.equal(len, 14 + 576);
    assert.equal(ICMP_ERROR_MAX_QUOTE, 548);
    assert.deepEqual(parseError(out, 0, len), {
      ...expectedL2L3, tos: 0xd8, total: 576, type, code, rest: mtu ?? 0, quote: hex(orig.subarray(14, 14 + 548)),
    });
  }
});

test('error built over its own original (same slot): same bytes as into a fresh buffer', () => {
  const orig = udpFrame('52:54:00:00:00:0a', '02:00:00:00:00:01', 'x'.repeat(300));
  const fresh = new Uint8Array(700);
  const f = { ...base, type: 3, code: UnreachCode.host, originalOff: 14, originalLen: orig.length - 14 };
  const n1 = writeIcmpError(fresh, 0, { ...f, original: orig });
  const slot = new Uint8Array(700);
  slot.set(orig);
  const n2 = writeIcmpError(slot, 0, { ...f, original: slot });
  assert.equal(n2, n1);
  assert.equal(hex(slot.subarray(0, n2)), hex(fresh.subarray(0, n1)));
});

test('a tiny quote is padded to a 60-byte frame', () => {
  const orig = Uint8Array.from(ip4({ src: '10.0.0.2', dst: '10.0.0.9', payload: [] }));
  const out = new Uint8Array(100).fill(0xee);
  const len = writeIcmpError(out, 0, { ...base, type: 3, code: 1, original: orig, originalOff: 0, originalLen: 8 });
  assert.equal(len, 60);
  assert.equal(get16(out, 16), 20 + 8 + 8);
  assert.equal(refCsum(out.subarray(34, 50)), 0);
  assert.ok(out.subarray(50, 60).every((x) => x === 0));
});

// ---- when not to send an error ----

function dgram(o: { src?: string; dst?: string; proto?: number; payload?: number[]; frag?: number }): Uint8Array {
  const b = Uint8Array.from(ip4({ src: o.src ?? '10.0.0.2', dst: o.dst ?? '203.0.113.9', proto: o.proto ?? 17, payload: o.payload ?? [0, 1, 0, 2, 0, 8, 0, 0] }));
  if (o.frag !== undefined) { b[6] = o.frag >> 8; b[7] = o.frag & 255; }
  return b;
}

test('mayReplyWithError: RFC 1812 4.3.2.7, rule by rule', () => {
  const yes = (b: Uint8Array, what: string, bc = false): void => assert.equal(mayReplyWithError(b, 0, b.length, bc), true, what);
  const no = (b: Uint8Array, what: string, bc = false, avail = b.length): void =>
    assert.equal(mayReplyWithError(b, 0, avail, bc), false, what);

  yes(dgram({}), 'plain unicast UDP');
  yes(dgram({ frag: 0x2000 }), 'first fragment (MF, offset 0)');
  yes(dgram({ frag: 0x4000 }), 'DF set');
  no(dgram({}), 'link-layer broadcast', true);
  no(dgram({ frag: 0x0001 }), 'non-initial fragment');
  no(dgram({ frag: 0x2100 }), 'middle fragment');
  no(dgram({ dst: '224.0.0.251' }), 'multicast destination');
  no(dgram({ dst: '239.255.255.250' }), 'multicast destination, top of 224/4');
  no(dgram({ dst: '255.255.255.255' }), 'limited broadcast destination');
  yes(dgram({ dst: '240.0.0.1' }), 'class E destination is not on the list');
  for (const src of ['0.0.0.0', '0.1.2.3', '127.0.0.1', '224.0.0.1', '240.0.0.1', '255.255.255.255']) no(dgram({ src }), `source ${src}`);
  yes(dgram({ src: '223.255.255.255' }), 'source just below multicast');

  for (const t of [3, 4, 5, 11, 12, 1, 2, 7, 19, 41, 44, 255]) {
    no(dgram({ proto: 1, payload: [t, 0, 0, 0, 0, 0, 0, 0] }), `ICMP type ${t} (error or unknown)`);
  }
  for (const t of [0, 8, 9, 10, 13, 14, 15, 16, 17, 18, 42, 43]) {
    yes(dgram({ proto: 1, payload: [t, 0, 0, 0, 0, 0, 0, 0] }), `ICMP type ${t} (informational)`);
  }
  // an ICMP error in a non-first fragment is not an ICMP header: the fragment rule decides
  no(dgram({ proto: 1, payload: [8, 0, 0, 0], frag: 0x0010 }), 'echo in a later fragment');

  const d = dgram({});
  for (let avail = 0; avail < 20; avail++) no(d, `avail ${avail}`, false, avail);
  const icmpOnlyHeader = dgram({ proto: 1, payload: [] });
  no(icmpOnlyHeader, 'ICMP with no type byte');
  const padded = new Uint8Array(46); padded.set(icmpOnlyHeader); padded[20] = 8;
  no(padded, 'ICMP type only in the Ethernet padding', false, 46);
  const v6 = dgram({}); v6[0] = 0x65;
  no(v6, 'version 6');
});
