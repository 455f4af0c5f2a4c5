// bench-frames.test.ts — the benchmark's frames: IMIX order and average, the --sizes flag,
// UDP templates byte by byte (lengths, DF, TTL, a header checksum that verifies, stamp room),
// learning frames, address arithmetic with its wrap-arounds, and the wire/L1 bit rates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ETHERTYPE_LEARN, FRAME_SIZES, IMIX, STAMP_LEN, STAMP_MAGIC, STAMP_OFFSET, ethFrame, imixAverageBytes, imixOrder, ipAdd,
  l1Bits, macAdd, parseFrameSizes, templatesFor, udpFrame, wireBits,
} from '../../src/bench/frames.ts';
import { ip4ChecksumValid } from '../../src/wire/checksum.ts';

const ADDR = { dstMac: '02:00:5e:99:00:01', srcMac: 'AA:bb:cc:00:00:02', srcIp: '10.99.0.1', dstIp: '10.99.1.2', sport: 10000, dport: 9000 };
const u16 = (b: Uint8Array, o: number): number => b[o] * 256 + b[o + 1];

test('imixOrder: 48 entries, 28/16/4 of each, spread out', () => {
  const o = imixOrder();
  assert.equal(o.length, 48);
  const counts = [0, 0, 0];
  for (const i of o) counts[i]++;
  assert.deepEqual(counts, IMIX.map((e) => e.weight));
  let run = 0, longest = 0;
  for (let i = 0; i < o.length; i++) { run = i > 0 && o[i] === o[i - 1] ? run + 1 : 1; longest = Math.max(longest, run); }
  assert.ok(longest <= 3, `longest run ${longest}`);
  // each quarter of the cycle holds a quarter of every size (±1)
  for (let q = 0; q < 4; q++) {
    const part = o.subarray(q * 12, q * 12 + 12);
    IMIX.forEach((e, i) => assert.ok(Math.abs(part.filter((x) => x === i).length - e.weight / 4) <= 1));
  }
  assert.deepEqual(imixOrder(), o, 'deterministic');
});

test('imixAverageBytes', () => {
  assert.equal(imixAverageBytes(), (28 * 64 + 16 * 570 + 4 * 1518) / 48);
  assert.ok(Math.abs(imixAverageBytes() - 353.83) < 0.01);
});

test('parseFrameSizes: lists, all, imix, errors', () => {
  assert.deepEqual(parseFrameSizes('64,128,imix'), [64, 128, 'imix']);
  assert.deepEqual(parseFrameSizes(' 1518 , IMIX '), [1518, 'imix']);
  assert.deepEqual(parseFrameSizes('all'), [...FRAME_SIZES, 'imix']);
  assert.deepEqual(parseFrameSizes('64,all'), [...FRAME_SIZES, 'imix']);
  assert.deepEqual(parseFrameSizes('64,64'), [64]);
  assert.deepEqual(parseFrameSizes('65'), [65]);
  for (const bad of ['', '63', '1519', '9000', 'jumbo', '64,,128', '12.5', '-64']) {
    assert.throws(() => parseFrameSizes(bad), Error, bad);
  }
  assert.throws(() => parseFrameSizes('1519'), /64\.\.1518/);
});

test('udpFrame: every header field, every size', () => {
  for (const size of [...FRAME_SIZES, 570]) {
    const b = udpFrame({ ...ADDR, size });
    assert.equal(b.length, size - 4);
    assert.deepEqual([...b.subarray(0, 6)], [0x02, 0x00, 0x5e, 0x99, 0x00, 0x01]);
    assert.deepEqual([...b.subarray(6, 12)], [0xaa, 0xbb, 0xcc, 0x00, 0x00, 0x02]);
    assert.equal(u16(b, 12), 0x0800);
    assert.equal(b[14], 0x45);
    assert.equal(u16(b, 16), size - 4 - 14, 'IPv4 total length');
    assert.equal(u16(b, 18), 0, 'id');
    assert.equal(u16(b, 20), 0x4000, 'DF, offset 0');
    assert.equal(b[22], 64);
    assert.equal(b[23], 17);
    assert.ok(ip4ChecksumValid(b, 14));
    assert.deepEqual([...b.subarray(26, 34)], [10, 99, 0, 1, 10, 99, 1, 2]);
    assert.equal(u16(b, 34), 10000);
    assert.equal(u16(b, 36), 9000);
    assert.equal(u16(b, 38), size - 4 - 34, 'UDP length');
    assert.equal(u16(b, 40), 0, 'no UDP checksum');
    assert.ok(b.subarray(42).every((x) => x === 0), 'zero payload');
    assert.ok(b.length - STAMP_OFFSET >= STAMP_LEN, 'room for the stamp');
  }
  const t = udpFrame({ ...ADDR, size: 64, ttl: 1 });
  assert.equal(t[22], 1);
  assert.ok(ip4ChecksumValid(t, 14));
  assert.equal(STAMP_OFFSET, 42);
  assert.equal(STAMP_MAGIC, 0x53594231);
  assert.equal(Buffer.from([0x53, 0x59, 0x42, 0x31]).toString(), 'SYB1');
  assert.throws(() => udpFrame({ ...ADDR, size: 60 }), RangeError);
  assert.throws(() => udpFrame({ ...ADDR, srcIp: '10.99.0.256', size: 64 }), RangeError);
});

test('templatesFor: one template, or three with the IMIX order', () => {
  const one = templatesFor(256, ADDR);
  assert.equal(one.templates.length, 1);
  assert.equal(one.templates[0].length, 252);
  assert.equal(one.order, undefined);
  assert.equal(one.avgWireBytes, 256);
  const mix = templatesFor('imix', ADDR);
  assert.deepEqual(mix.templates.map((t) => t.length), [60, 566, 1514]);
  assert.equal(mix.order?.length, 48);
  assert.equal(mix.avgWireBytes, imixAverageBytes());
});

test('ethFrame: learning frame', () => {
  const b = ethFrame({ dstMac: 'ff:ff:ff:ff:ff:ff', srcMac: '02:00:00:00:00:07', etherType: ETHERTYPE_LEARN, size: 64 });
  assert.equal(b.length, 60);
  assert.deepEqual([...b.subarray(0, 14)], [255, 255, 255, 255, 255, 255, 2, 0, 0, 0, 0, 7, 0x88, 0xb5]);
  assert.ok(b.subarray(14).every((x) => x === 0));
});

test('macAdd / ipAdd: carries and wrap-arounds', () => {
  assert.equal(macAdd('02:00:00:00:00:00', 1), '02:00:00:00:00:01');
  assert.equal(macAdd('02:00:00:00:00:ff', 1), '02:00:00:00:01:00');
  assert.equal(macAdd('02:aa:bb:ff:ff:ff', 1), '02:aa:bb:00:00:00', 'low 24 bits wrap, the OUI half stays');
  assert.equal(macAdd('02:aa:bb:00:00:00', -1), '02:aa:bb:ff:ff:ff');
  assert.equal(macAdd('02:00:00:00:00:00', 2 ** 24 + 5), '02:00:00:00:00:05');
  assert.equal(ipAdd('10.99.0.1', 199), '10.99.0.200');
  assert.equal(ipAdd('10.99.0.255', 1), '10.99.1.0');
  assert.equal(ipAdd('255.255.255.255', 1), '0.0.0.0');
  assert.equal(ipAdd('0.0.0.0', -1), '255.255.255.255');
});

test('wireBits / l1Bits: 64-byte line rate of 10 GbE is 14.88 Mpps', () => {
  assert.equal(wireBits(1e6, 64), 512e6);
  assert.equal(l1Bits(1e6, 64), 672e6);
  assert.ok(Math.abs(l1Bits(14_880_952, 64) - 10e9) < 1e3);
  assert.ok(Math.abs(l1Bits(812_743, 1518) - 10e9) < 2e4);
});
