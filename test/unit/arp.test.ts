// arp.test.ts — ARP fixtures written out byte by byte (a request and its reply as a Linux host
// sends them, an RFC 5227 probe and announcement), every field read, every truncation and
// every foreign header rejected; builders parsed back independently; the in-place reply equal
// to a built one, tagged frames included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ARP_FRAME_LEN, ArpCheck, ArpOp, arpOp, arpReplyInPlace, checkArp, isAnnouncement, isProbe, senderIp, senderMac,
  senderMacHi, senderMacLo, targetIp, targetMac, targetMacHi, targetMacLo, validArp, writeArpReply, writeArpRequest,
  writeGratuitous, writeProbe,
} from '../../src/wire/arp.ts';
import { arpRequest, eth, hex, mac } from '../helpers/frames.ts';

const H = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const PAD18 = '00'.repeat(18);

// 52:54:00:12:34:56 (10.0.0.2) asks who has 10.0.0.1; 02:00:00:aa:bb:cc answers.
const REQUEST = H(`
  ffffffffffff 525400123456 0806
  0001 0800 06 04 0001
  525400123456 0a000002
  000000000000 0a000001
  ${PAD18}`);
const REPLY = H(`
  525400123456 020000aabbcc 0806
  0001 0800 06 04 0002
  020000aabbcc 0a000001
  525400123456 0a000002
  ${PAD18}`);
// RFC 5227 probe for 192.168.1.50 and announcement of it, from 02:11:22:33:44:55.
const PROBE = H(`
  ffffffffffff 021122334455 0806
  0001 0800 06 04 0001
  021122334455 00000000
  000000000000 c0a80132
  ${PAD18}`);
const ANNOUNCE = H(`
  ffffffffffff 021122334455 0806
  0001 0800 06 04 0001
  021122334455 c0a80132
  000000000000 c0a80132
  ${PAD18}`);

const M = (s: string): number => parseInt(s.replace(/:/g, ''), 16);
const IP = (s: string): number => s.split('.').reduce((a, x) => a * 256 + Number(x), 0);

test('request fixture: every field', () => {
  const a = 14;
  assert.equal(checkArp(REQUEST, a, REQUEST.length - a), ArpCheck.ok);
  assert.equal(arpOp(REQUEST, a), ArpOp.request);
  assert.equal(senderMacHi(REQUEST, a), 0x5254);
  assert.equal(senderMacLo(REQUEST, a), 0x00123456);
  assert.equal(senderMac(REQUEST, a), M('52:54:00:12:34:56'));
  assert.equal(senderIp(REQUEST, a), IP('10.0.0.2'));
  assert.equal(targetMacHi(REQUEST, a), 0);
  assert.equal(targetMacLo(REQUEST, a), 0);
  assert.equal(targetMac(REQUEST, a), 0);
  assert.equal(targetIp(REQUEST, a), IP('10.0.0.1'));
  assert.equal(isProbe(REQUEST, a), false);
  assert.equal(isAnnouncement(REQUEST, a), false);
});

test('reply fixture: every field, high bits of MACs and addresses unsigned', () => {
  const a = 14;
  const f = Uint8Array.from(REPLY);
  assert.equal(validArp(f, a, 28), true);
  assert.equal(arpOp(f, a), ArpOp.reply);
  assert.equal(senderMac(f, a), M('02:00:00:aa:bb:cc'));
  assert.equal(senderMacLo(f, a), 0x00aabbcc);
  assert.equal(senderIp(f, a), IP('10.0.0.1'));
  assert.equal(targetMac(f, a), M('52:54:00:12:34:56'));
  assert.equal(targetIp(f, a), IP('10.0.0.2'));
  // all ones: no sign trouble
  f.fill(0xff, a + 8, a + 28);
  assert.equal(senderMac(f, a), 0xffffffffffff);
  assert.equal(senderMacLo(f, a), 0xffffffff);
  assert.equal(senderIp(f, a), 0xffffffff);
  assert.equal(targetMacHi(f, a), 0xffff);
  assert.equal(targetMacLo(f, a), 0xffffffff);
  assert.equal(targetIp(f, a), 0xffffffff);
});

test('RFC 5227 probe and announcement', () => {
  assert.equal(isProbe(PROBE, 14), true);
  assert.equal(isAnnouncement(PROBE, 14), false);
  assert.equal(isProbe(ANNOUNCE, 14), false);
  assert.equal(isAnnouncement(ANNOUNCE, 14), true);
  // a gratuitous reply counts as an announcement; a reply from 0.0.0.0 is not a probe
  const r = Uint8Array.from(ANNOUNCE); r[14 + 7] = 2;
  assert.equal(isAnnouncement(r, 14), true);
  const z = Uint8Array.from(PROBE); z[14 + 7] = 2;
  assert.equal(isProbe(z, 14), false);
});

test('gate: every truncation rejected, 28 bytes enough', () => {
  for (let avail = 0; avail < 28; avail++) {
    assert.equal(checkArp(REQUEST, 14, avail), ArpCheck.truncated, `avail ${avail}`);
    assert.equal(validArp(REQUEST, 14, avail), false);
  }
  assert.equal(checkArp(REQUEST, 14, 28), ArpCheck.ok);
});

test('gate: foreign hardware/protocol/lengths and other operations rejected', () => {
  const bad: [number, number, number][] = [
    [0, 0x01, ArpCheck.notEthIp4], [1, 0x06, ArpCheck.notEthIp4], // htype 0x0101, 6 (IEEE 802)
    [2, 0x86, ArpCheck.notEthIp4], [3, 0xdd, ArpCheck.notEthIp4], // ptype 0x86dd
    [4, 8, ArpCheck.notEthIp4], [5, 16, ArpCheck.notEthIp4],
    [7, 3, ArpCheck.badOp], [7, 4, ArpCheck.badOp], [7, 0, ArpCheck.badOp], [6, 1, ArpCheck.badOp], // RARP, 0, 0x0101
  ];
  for (const [at, v, why] of bad) {
    const f = Uint8Array.from(REQUEST);
    f[14 + at] = v;
    assert.equal(checkArp(f, 14, 46), why, `byte ${at} = ${v}`);
  }
});

test('the test helper request agrees with the fixture', () => {
  const f = arpRequest('52:54:00:12:34:56', '10.0.0.2', '10.0.0.1');
  assert.equal(hex(f), hex(REQUEST));
});

/** An independent parse of a built frame. */
function parse(f: Uint8Array, o: number) {
  const m = (i: number): string => [...f.subarray(o + i, o + i + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
  const ip = (i: number): string => [...f.subarray(o + i, o + i + 4)].join('.');
  return {
    ethDst: m(0), ethSrc: m(6), type: f[o + 12] * 256 + f[o + 13],
    head: hex(f.subarray(o + 14, o + 20)), op: f[o + 20] * 256 + f[o + 21],
    sha: m(22), spa: ip(28), tha: m(32), tpa: ip(38),
    pad: [...f.subarray(o + 42, o + 60)].every((x) => x === 0),
  };
}

test('builders: reply, request, gratuitous and probe parse back, padded to 60 at any offset', () => {
  const buf = new Uint8Array(200).fill(0xee);
  const o = 37;
  assert.equal(writeArpReply(buf, o, { srcMac: M('02:00:00:aa:bb:cc'), srcIp: IP('10.0.0.1'), dstMac: M('52:54:00:12:34:56'), dstIp: IP('10.0.0.2') }), 60);
  assert.deepEqual(parse(buf, o), {
    ethDst: '52:54:00:12:34:56', ethSrc: '02:00:00:aa:bb:cc', type: 0x0806, head: '000108000604', op: 2,
    sha: '02:00:00:aa:bb:cc', spa: '10.0.0.1', tha: '52:54:00:12:34:56', tpa: '10.0.0.2', pad: true,
  });
  assert.equal(hex(buf.subarray(o, o + 60)), hex(REPLY));
  assert.equal(buf[o - 1], 0xee); assert.equal(buf[o + 60], 0xee); // nothing outside

  assert.equal(writeArpRequest(buf, o, { srcMac: M('52:54:00:12:34:56'), srcIp: IP('10.0.0.2'), targetIp: IP('10.0.0.1') }), ARP_FRAME_LEN);
  assert.equal(hex(buf.subarray(o, o + 60)), hex(REQUEST));

  writeGratuitous(buf, o, { srcMac: M('02:11:22:33:44:55'), ip: IP('192.168.1.50') });
  assert.equal(hex(buf.subarray(o, o + 60)), hex(ANNOUNCE));
  writeProbe(buf, o, { srcMac: M('02:11:22:33:44:55'), ip: IP('192.168.1.50') });
  assert.equal(hex(buf.subarray(o, o + 60)), hex(PROBE));
  assert.equal(buf[o + 60], 0xee);

  // MACs with the top bits set survive the number form
  writeArpReply(buf, 0, { srcMac: 0xfeffffffffff, srcIp: 0xffffffff, dstMac: 0x800000000001, dstIp: 0x80000001 });
  const p = parse(buf, 0);
  assert.equal(p.sha, 'fe:ff:ff:ff:ff:ff'); assert.equal(p.ethDst, '80:00:00:00:00:01');
  assert.equal(p.spa, '255.255.255.255'); assert.equal(p.tpa, '128.0.0.1');
});

test('arpReplyInPlace turns the request into exactly the built reply', () => {
  const f = Uint8Array.from(REQUEST);
  arpReplyInPlace(f, 0, M('02:00:00:aa:bb:cc'));
  assert.equal(hex(f), hex(REPLY));

  // inside a bigger buffer at an offset, unpadded (veth) frame: length kept, neighbours untouched
  const buf = new Uint8Array(100).fill(0x77);
  buf.set(REQUEST.subarray(0, 42), 9);
  arpReplyInPlace(buf, 9, M('02:00:00:aa:bb:cc'));
  assert.equal(hex(buf.subarray(9, 51)), hex(REPLY.subarray(0, 42)));
  assert.equal(buf[8], 0x77); assert.equal(buf[51], 0x77);
});

test('arpReplyInPlace on an 802.1Q-tagged request keeps the tag', () => {
  const req = eth({ dst: 'ff:ff:ff:ff:ff:ff', src: '52:54:00:12:34:56', vlan: [42], type: 0x0806, payload: [...REQUEST.subarray(14, 42)] });
  const want = eth({ dst: '52:54:00:12:34:56', src: '02:00:00:aa:bb:cc', vlan: [42], type: 0x0806, payload: [...REPLY.subarray(14, 42)] });
  arpReplyInPlace(req, 0, M('02:00:00:aa:bb:cc'), 18);
  assert.equal(hex(req), hex(want));
  // the reply goes to the ARP sender, even if the frame came from another source MAC
  const odd = Uint8Array.from(REQUEST);
  odd.set(mac('02:99:99:99:99:99'), 6);
  arpReplyInPlace(odd, 0, M('02:00:00:aa:bb:cc'));
  assert.equal(hex(odd), hex(REPLY));
});

test('probe answered in place: target IP 0.0.0.0, as a defender replies', () => {
  const f = Uint8Array.from(PROBE);
  arpReplyInPlace(f, 0, M('02:00:00:aa:bb:cc'));
  assert.equal(arpOp(f, 14), ArpOp.reply);
  assert.equal(senderIp(f, 14), IP('192.168.1.50'));
  assert.equal(senderMac(f, 14), M('02:00:00:aa:bb:cc'));
  assert.equal(targetIp(f, 14), 0);
  assert.equal(targetMac(f, 14), M('02:11:22:33:44:55'));
  assert.equal(hex(f.subarray(0, 6)), '021122334455');
});
