// Wire layer: byte fixtures for Ethernet (tags, 802.3 lengths) and the IPv4 gate, every
// truncation rejected, random bytes never read out of bounds; address text forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { payloadOffset, innerType, FrameCheck, etherType, dstIsGroup } from '../../src/wire/ethernet.ts';
import { check4, Ip4Check, totalLength, ttl, srcAddr, dstAddr, headerLength } from '../../src/wire/ip4.ts';
import { macAt, macToString, parseMac, parseIp4, ip4ToString, macIsGroup, macBytes } from '../../src/wire/addr.ts';
import { eth, ip4, udpFrame } from '../helpers/frames.ts';

test('Ethernet II: payload at 14, type read', () => {
  const f = udpFrame('02:00:00:00:00:01', '02:00:00:00:00:02');
  assert.equal(payloadOffset(f, 0, f.length), 14);
  assert.equal(etherType(f, 0), 0x0800);
  assert.equal(dstIsGroup(f, 0), false);
});

test('802.1Q and QinQ tags are skipped to the inner type', () => {
  const one = eth({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', vlan: [10], type: 0x0806, payload: new Array(28).fill(0) });
  assert.equal(payloadOffset(one, 0, one.length), 18);
  assert.equal(innerType(one, 0, 18), 0x0806);
  const two = eth({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', vlan: [10, 20], type: 0x0800, payload: [] });
  assert.equal(payloadOffset(two, 0, two.length), 22);
  assert.equal(dstIsGroup(two, 0), true);
});

test('runts: shorter than the header or than an announced tag', () => {
  const f = eth({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', vlan: [10], type: 0x0800 });
  for (let len = 0; len < 14; len++) assert.equal(payloadOffset(f, 0, len), -FrameCheck.runt, `len ${len}`);
  for (let len = 14; len < 18; len++) assert.equal(payloadOffset(f, 0, len), -FrameCheck.runt, `tagged len ${len}`);
});

test('802.3 length field larger than the payload is bad-length; a fitting one is fine', () => {
  const lie = eth({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', type: 100, payload: new Array(20).fill(0xaa) });
  assert.equal(payloadOffset(lie, 0, lie.length), -FrameCheck.badLength);
  const ok = eth({ dst: '01:80:c2:00:00:00', src: '02:00:00:00:00:01', type: 20, payload: new Array(46).fill(0x42) });
  assert.equal(payloadOffset(ok, 0, ok.length), 14);
});

test('IPv4 gate: a good header, and every truncation and lie rejected', () => {
  const p = Uint8Array.from(ip4({ src: '192.168.0.1', dst: '10.1.2.3', ttl: 7, payload: [1, 2, 3, 4] }));
  assert.equal(check4(p, 0, p.length), Ip4Check.ok);
  assert.equal(totalLength(p, 0), 24);
  assert.equal(headerLength(p, 0), 20);
  assert.equal(ttl(p, 0), 7);
  assert.equal(ip4ToString(srcAddr(p, 0)), '192.168.0.1');
  assert.equal(ip4ToString(dstAddr(p, 0)), '10.1.2.3');
  for (let avail = 0; avail < 20; avail++) assert.equal(check4(p, 0, avail), Ip4Check.truncated);
  for (let avail = 20; avail < 24; avail++) assert.equal(check4(p, 0, avail), Ip4Check.badLength);
  const v6 = p.slice(); v6[0] = 0x65;
  assert.equal(check4(v6, 0, v6.length), Ip4Check.badHeader);
  const ihl4 = p.slice(); ihl4[0] = 0x44;
  assert.equal(check4(ihl4, 0, ihl4.length), Ip4Check.badHeader);
  const ihlBig = p.slice(); ihlBig[0] = 0x4f; // 60-byte header in a 24-byte packet
  assert.equal(check4(ihlBig, 0, ihlBig.length), Ip4Check.truncated);
  const short = Uint8Array.from(ip4({ src: '1.1.1.1', dst: '2.2.2.2', totalLength: 19 }));
  assert.equal(check4(short, 0, short.length), Ip4Check.badLength);
});

test('random bytes: the gates never throw and never promise more than is there', () => {
  let seed = 7;
  const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 24; };
  for (let i = 0; i < 20000; i++) {
    const len = rnd() % 80;
    const b = new Uint8Array(len);
    for (let j = 0; j < len; j++) b[j] = rnd();
    if (i % 3 === 0 && len > 13) { b[12] = 0x81; b[13] = 0; }
    const off = payloadOffset(b, 0, len);
    if (off >= 0) assert.ok(off <= len, 'payload offset inside the frame');
    const c = check4(b, 0, len);
    if (c === Ip4Check.ok) assert.ok(totalLength(b, 0) <= len && headerLength(b, 0) <= totalLength(b, 0));
  }
});

test('addresses: MAC and IPv4 text forms round-trip', () => {
  const m = parseMac('52:54:00:12:34:56');
  assert.equal(macToString(m), '52:54:00:12:34:56');
  assert.equal(macAt(Uint8Array.from([0, 0x52, 0x54, 0, 0x12, 0x34, 0x56]), 1), m);
  assert.deepEqual([...macBytes(m)], [0x52, 0x54, 0, 0x12, 0x34, 0x56]);
  assert.equal(macIsGroup(parseMac('01:00:5e:00:00:01')), true);
  assert.equal(macIsGroup(m), false);
  assert.equal(macToString(parseMac('FF-FF-FF-FF-FF-FF')), 'ff:ff:ff:ff:ff:ff');
  assert.throws(() => parseMac('52:54:00:12:34'), /not a MAC/);
  assert.equal(ip4ToString(parseIp4('169.255.30.1')), '169.255.30.1');
  assert.equal(parseIp4('255.255.255.255'), 0xffffffff);
  for (const bad of ['256.1.1.1', '1.2.3', '01.2.3.4', 'a.b.c.d']) assert.throws(() => parseIp4(bad), /not an IPv4/);
});

test('ip4ChecksumValidDv agrees with the byte-wise check on random headers, with and without options', async () => {
  const { ip4ChecksumValid, ip4ChecksumValidDv, ip4FillChecksum } = await import('../../src/wire/checksum.ts');
  let seed = 99;
  const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 24; };
  for (let i = 0; i < 5000; i++) {
    const ihl = 5 + (i % 11);
    const b = new Uint8Array(ihl * 4 + 8);
    for (let j = 0; j < b.length; j++) b[j] = rnd();
    b[4] = 0x40 | ihl;
    if (i % 2 === 0) ip4FillChecksum(b, 4);
    const dv = new DataView(b.buffer);
    assert.equal(ip4ChecksumValidDv(dv, 4), ip4ChecksumValid(b, 4), `header ${i}`);
    if (i % 2 === 0) assert.equal(ip4ChecksumValidDv(dv, 4), true);
  }
});
