// dhcp-wire.test.ts — BOOTP/DHCP messages: two real DISCOVERs (busybox udhcpc, ISC dhclient)
// written out as bytes and read field by field, the gate against every truncation and random
// bytes, the option walker, and reply frames checked with checksums recomputed independently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BOOTP_MIN_LEN, DHCP_MAGIC, DHCP_MAX_FRAME, DHCP_MAX_OPTIONS, DhcpCheck, DhcpMsg, DhcpOpt, broadcastFlag, chaddrHi,
  chaddrLo, chaddrMac, checkDhcp, ciaddr, findOption, flags, giaddr, hlen, hops, htype, magicCookie, messageType,
  nextOption, op, optionCode, optionIp4, optionLength, optionU32, optionValue, putOptBytes, putOptIp4s, putOptText,
  putOptU32, putOptU8, secs, siaddr, writeDhcpReply, xid, yiaddr,
} from '../../src/wire/dhcp.ts';

// ---- independent helpers ----

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const Z = (n: number): string => '00'.repeat(n);
const get16 = (b: ArrayLike<number>, o: number): number => b[o] * 256 + b[o + 1];
const get32 = (b: ArrayLike<number>, o: number): number => ((b[o] * 256 + b[o + 1]) * 256 + b[o + 2]) * 256 + b[o + 3];
const IP = (s: string): number => s.split('.').reduce((a, x) => a * 256 + Number(x), 0);
const M = (s: string): number => parseInt(s.replace(/:/g, ''), 16);

function refSum(b: ArrayLike<number>, o: number, n: number, init = 0): number {
  let s = init;
  for (let i = 0; i < n; i += 2) s += b[o + i] * 256 + (i + 1 < n ? b[o + i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

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

/** A view that throws on any read outside [0, length): catches out-of-bounds reads. */
function guarded(b: Uint8Array): Uint8Array {
  return new Proxy(b, {
    get(t, k) {
      if (typeof k === 'string' && /^-?\d+$/.test(k)) {
        const i = Number(k);
        if (i < 0 || i >= t.length) throw new RangeError(`read at ${i} of ${t.length}`);
        return t[i];
      }
      const v = Reflect.get(t, k, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

// ---- fixtures ----

// busybox udhcpc 1.36.1 (`udhcpc -i eth0 -x hostname:alpine`), first DISCOVER: raw frame from
// a client without an address, broadcast flag clear, client id 01+MAC, max size 576.
const UDHCPC_DISCOVER = bytes(
  'ffffffffffff 525400a1b2c3 0800' + //                         Ethernet: broadcast, from the client
  '4500 0148 0000 0000 4011 79a6 00000000 ffffffff' + //        IPv4: 328 bytes, TTL 64, UDP, 0.0.0.0 -> 255.255.255.255
  '0044 0043 0134 4b61' + //                                    UDP 68 -> 67, 308 bytes
  '01 01 06 00 3903f326 0000 0000' + //                         op, htype, hlen, hops, xid, secs, flags
  '00000000 00000000 00000000 00000000' + //                    ciaddr, yiaddr, siaddr, giaddr
  '525400a1b2c3' + Z(10) + Z(64) + Z(128) + //                  chaddr, sname, file
  '63825363' + //                                               magic cookie
  '350101' + //                                                 53 message type: DISCOVER
  '3d07 01525400a1b2c3' + //                                    61 client id: type 1 + MAC
  '3902 0240' + //                                              57 max message size 576
  '3707 0103060c0f1c2a' + //                                    55 parameter list
  '3c0c 756468637020312e33362e31' + //                          60 vendor class "udhcp 1.36.1"
  '0c06 616c70696e65' + //                                      12 hostname "alpine"
  'ff' + Z(12), //                                              end, pad to 300
);

// ISC dhclient 4.4.3 (Debian 12), DISCOVER asking for its previous address: TOS low delay,
// TTL 128, secs 3, no client id, a long parameter list.
const DHCLIENT_DISCOVER = bytes(
  'ffffffffffff 525400d4e5f6 0800' +
  '4510 0148 0000 0000 8011 3996 00000000 ffffffff' +
  '0044 0043 0134 7afe' +
  '01 01 06 00 8a1c5e07 0003 0000' +
  '00000000 00000000 00000000 00000000' +
  '525400d4e5f6' + Z(10) + Z(64) + Z(128) +
  '63825363' +
  '350101' + //                                                 DISCOVER
  '3204 c0a87a96' + //                                          50 requested IP 192.168.122.150
  '0c06 64656269616e' + //                                      12 hostname "debian"
  '370d 011c02030f06770c2c2f1a792a' + //                        55 parameter list (13)
  'ff' + Z(27),
);

const M0 = 42; // BOOTP message offset in the fixtures

test('fixtures are what they claim: IPv4 and UDP checksums verify, 300-byte BOOTP message', () => {
  for (const f of [UDHCPC_DISCOVER, DHCLIENT_DISCOVER]) {
    assert.equal(f.length, 342);
    assert.equal(refSum(f, 14, 20), 0xffff);
    const udpLen = get16(f, 38);
    assert.equal(udpLen, 308);
    const pseudo = refSum(f, 26, 8, 17 + udpLen);
    assert.equal(refSum(f, 34, udpLen, pseudo), 0xffff);
  }
});

test('udhcpc DISCOVER: every field', () => {
  const b = UDHCPC_DISCOVER, m = M0, avail = 300;
  assert.equal(checkDhcp(b, m, avail), DhcpCheck.ok);
  assert.equal(op(b, m), 1);
  assert.equal(htype(b, m), 1);
  assert.equal(hlen(b, m), 6);
  assert.equal(hops(b, m), 0);
  assert.equal(xid(b, m), 0x3903f326);
  assert.equal(secs(b, m), 0);
  assert.equal(flags(b, m), 0);
  assert.equal(broadcastFlag(b, m), false);
  assert.equal(ciaddr(b, m), 0);
  assert.equal(yiaddr(b, m), 0);
  assert.equal(siaddr(b, m), 0);
  assert.equal(giaddr(b, m), 0);
  assert.equal(chaddrHi(b, m), 0x5254);
  assert.equal(chaddrLo(b, m), 0x00a1b2c3);
  assert.equal(chaddrMac(b, m), M('52:54:00:a1:b2:c3'));
  assert.equal(magicCookie(b, m), DHCP_MAGIC);
  assert.equal(messageType(b, m, avail), DhcpMsg.discover);
  // the walker: codes, lengths and values in order
  const seen: [number, number, string][] = [];
  for (let p = nextOption(b, m, avail, -1); p >= 0; p = nextOption(b, m, avail, p)) {
    seen.push([optionCode(b, p), optionLength(b, p), Buffer.from(b.subarray(optionValue(p), optionValue(p) + optionLength(b, p))).toString('hex')]);
  }
  assert.deepEqual(seen, [
    [53, 1, '01'],
    [61, 7, '01525400a1b2c3'],
    [57, 2, '0240'],
    [55, 7, '0103060c0f1c2a'],
    [60, 12, Buffer.from('udhcp 1.36.1').toString('hex')],
    [12, 6, Buffer.from('alpine').toString('hex')],
  ]);
  assert.equal(findOption(b, m, avail, DhcpOpt.paramList), m + 240 + 3 + 9 + 4);
  assert.equal(findOption(b, m, avail, DhcpOpt.requestedIp), -1);
  assert.equal(optionIp4(b, m, avail, DhcpOpt.requestedIp), 0);
  assert.equal(optionIp4(b, m, avail, DhcpOpt.serverId), 0);
  assert.equal(optionU32(b, m, avail, DhcpOpt.leaseTime), -1);
});

test('dhclient DISCOVER: every field', () => {
  const b = DHCLIENT_DISCOVER, m = M0, avail = 300;
  assert.equal(checkDhcp(b, m, avail), DhcpCheck.ok);
  assert.equal(op(b, m), 1);
  assert.equal(htype(b, m), 1);
  assert.equal(hlen(b, m), 6);
  assert.equal(hops(b, m), 0);
  assert.equal(xid(b, m), 0x8a1c5e07);
  assert.equal(secs(b, m), 3);
  assert.equal(flags(b, m), 0);
  assert.equal(broadcastFlag(b, m), false);
  assert.equal(ciaddr(b, m) + yiaddr(b, m) + siaddr(b, m) + giaddr(b, m), 0);
  assert.equal(chaddrMac(b, m), M('52:54:00:d4:e5:f6'));
  assert.equal(magicCookie(b, m), 0x63825363);
  assert.equal(messageType(b, m, avail), DhcpMsg.discover);
  assert.equal(optionIp4(b, m, avail, DhcpOpt.requestedIp), IP('192.168.122.150'));
  const prl = findOption(b, m, avail, DhcpOpt.paramList);
  assert.equal(optionLength(b, prl), 13);
  assert.deepEqual([...b.subarray(optionValue(prl), optionValue(prl) + 13)], [1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42]);
  assert.equal(findOption(b, m, avail, DhcpOpt.clientId), -1);
  const host = findOption(b, m, avail, DhcpOpt.hostname);
  assert.equal(Buffer.from(b.subarray(host + 2, host + 2 + optionLength(b, host))).toString(), 'debian');
});

test('the gate rejects every truncation: fixed part, then options cut mid-way', () => {
  for (const f of [UDHCPC_DISCOVER, DHCLIENT_DISCOVER]) {
    // option boundaries, found by hand: [start, end) of each option
    const opts: [number, number][] = [];
    for (let p = 240; f[M0 + p] !== 255; p += 2 + f[M0 + p + 1]) opts.push([p, p + 2 + f[M0 + p + 1]]);
    for (let avail = 0; avail <= 300; avail++) {
      const want = avail < 240 ? DhcpCheck.truncated
        : opts.some(([s, e]) => avail > s && avail < e) ? DhcpCheck.badOptions : DhcpCheck.ok;
      const b = guarded(f.slice(M0, M0 + avail));
      assert.equal(checkDhcp(b, 0, avail), want, `avail ${avail}`);
      if (want === DhcpCheck.ok) {
        // what the walker sees stays inside: options wholly present, in order
        const codes: number[] = [];
        for (let p = nextOption(b, 0, avail, -1); p >= 0; p = nextOption(b, 0, avail, p)) codes.push(b[p]);
        assert.deepEqual(codes, opts.filter(([, e]) => e <= avail).map(([s]) => f[M0 + s]), `avail ${avail}`);
      }
    }
  }
});

test('the gate: no cookie, option length past the end, pad and missing end tolerated', () => {
  const base = UDHCPC_DISCOVER.slice(M0);
  const noCookie = base.slice(); noCookie[236] = 0;
  assert.equal(checkDhcp(noCookie, 0, 300), DhcpCheck.badCookie);
  const long = base.slice(); long[240 + 1] = 200; // 53's length runs past 300
  assert.equal(checkDhcp(long, 0, 300), DhcpCheck.badOptions);
  // pads between options, no end option: fine
  const m2 = new Uint8Array(252);
  m2.set(base.subarray(0, 240));
  m2.set([0, 0, 53, 1, 3, 0, 54, 4, 10, 0, 0, 1], 240);
  assert.equal(checkDhcp(m2, 0, 252), DhcpCheck.ok);
  assert.equal(messageType(guarded(m2), 0, 252), DhcpMsg.request);
  assert.equal(optionIp4(guarded(m2), 0, 252, DhcpOpt.serverId), IP('10.0.0.1'));
  assert.equal(checkDhcp(m2, 0, 250), DhcpCheck.badOptions, 'option 54 cut');
  const cut = guarded(m2.slice(0, 246));
  assert.equal(checkDhcp(cut, 0, 246), DhcpCheck.ok, 'cut between options');
  assert.equal(messageType(cut, 0, 246), DhcpMsg.request);
  assert.equal(optionIp4(cut, 0, 246, DhcpOpt.serverId), 0);
  // the end option hides what follows it
  const m3 = m2.slice(); m3[245] = 255;
  assert.equal(optionIp4(m3, 0, 252, DhcpOpt.serverId), 0);
  // malformed option 53 (length 2) reads as "no type"
  const m4 = m2.slice(); m4[243] = 2; // 53 now holds [3, 0]
  assert.equal(checkDhcp(m4, 0, 252), DhcpCheck.ok);
  assert.equal(messageType(m4, 0, 252), 0);
});

test('random bytes after a valid fixed part: the gate and the walker never read out of bounds', () => {
  const r = rng(41);
  for (let n = 0; n < 3000; n++) {
    const avail = 240 + r(80);
    const raw = new Uint8Array(avail);
    raw.set(UDHCPC_DISCOVER.subarray(M0, M0 + 240));
    for (let i = 240; i < avail; i++) raw[i] = r(4) === 0 ? r(4) : r(256);
    const b = guarded(raw);
    if (checkDhcp(b, 0, avail) !== DhcpCheck.ok) continue;
    for (let p = nextOption(b, 0, avail, -1); p >= 0; p = nextOption(b, 0, avail, p)) {
      assert.ok(p + 2 + b[p + 1] <= avail);
    }
    messageType(b, 0, avail);
    optionIp4(b, 0, avail, 50);
    optionU32(b, 0, avail, 51);
  }
});

// ---- option writers ----

test('option writers encode and refuse what does not fit', () => {
  const out = new Uint8Array(32);
  let p = putOptU8(out, 0, 32, 53, 5);
  p = putOptU32(out, p, 32, 51, 3600);
  p = putOptIp4s(out, p, 32, 6, [IP('10.0.0.1'), IP('9.9.9.9')]);
  p = putOptText(out, p, 32, 15, 'lab');
  assert.equal(p, 3 + 6 + 10 + 5);
  assert.equal(Buffer.from(out.subarray(0, p)).toString('hex'), '350105' + '330400000e10' + '06080a00000109090909' + '0f036c6162');
  assert.equal(putOptU32(out, p, p + 5, 1, 0), p, 'one byte short');
  assert.equal(putOptIp4s(out, 0, 32, 6, []), 0, 'an empty list is no option');
  assert.equal(putOptText(out, 0, 32, 15, ''), 0);
  const src = Uint8Array.from([9, 1, 2, 3]);
  assert.equal(putOptBytes(out, 0, 32, 61, src, 1, 3), 5);
  assert.deepEqual([...out.subarray(0, 5)], [61, 3, 1, 2, 3]);
});

// ---- reply frames ----

interface Parsed {
  dstMac: number; srcMac: number; type: number; tos: number; id: number; df: boolean; ttl: number; proto: number;
  srcIp: number; dstIp: number; sport: number; dport: number; udpLen: number; msgLen: number;
  op: number; htype: number; hlen: number; hops: number; xid: number; secs: number; flags: number;
  ciaddr: number; yiaddr: number; siaddr: number; giaddr: number; chaddr: string; snameFileZero: boolean; cookie: number;
  options: [number, number[]][]; afterEndZero: boolean;
}

/** Parse a reply frame by hand, asserting both checksums. */
function parse(f: Uint8Array, len: number): Parsed {
  assert.equal(refSum(f, 14, 20), 0xffff, 'IPv4 header checksum');
  const total = get16(f, 16);
  assert.equal(total + 14, len);
  const udpLen = get16(f, 38);
  assert.equal(udpLen, total - 20);
  assert.equal(refSum(f, 34, udpLen, refSum(f, 26, 8, 17 + udpLen)), 0xffff, 'UDP checksum');
  const m = 42;
  const options: [number, number[]][] = [];
  let p = m + 240;
  while (f[p] !== 255) {
    if (f[p] === 0) { p++; continue; }
    options.push([f[p], [...f.subarray(p + 2, p + 2 + f[p + 1])]]);
    p += 2 + f[p + 1];
  }
  return {
    dstMac: get16(f, 0) * 2 ** 32 + get32(f, 2), srcMac: get16(f, 6) * 2 ** 32 + get32(f, 8), type: get16(f, 12),
    tos: f[15], id: get16(f, 18), df: (f[20] & 0x40) !== 0, ttl: f[22], proto: f[23], srcIp: get32(f, 26), dstIp: get32(f, 30),
    sport: get16(f, 34), dport: get16(f, 36), udpLen, msgLen: udpLen - 8,
    op: f[m], htype: f[m + 1], hlen: f[m + 2], hops: f[m + 3], xid: get32(f, m + 4), secs: get16(f, m + 8), flags: get16(f, m + 10),
    ciaddr: get32(f, m + 12), yiaddr: get32(f, m + 16), siaddr: get32(f, m + 20), giaddr: get32(f, m + 24),
    chaddr: Buffer.from(f.subarray(m + 28, m + 44)).toString('hex'),
    snameFileZero: f.subarray(m + 44, m + 236).every((x) => x === 0), cookie: get32(f, m + 236),
    options, afterEndZero: f.subarray(p + 1, 14 + total).every((x) => x === 0),
  };
}

test('writeDhcpReply: an OFFER frame, every field, padded to the BOOTP minimum', () => {
  const opts = new Uint8Array(DHCP_MAX_OPTIONS);
  let p = putOptU8(opts, 0, opts.length, 53, DhcpMsg.offer);
  p = putOptU32(opts, p, opts.length, 54, IP('192.168.122.1'));
  p = putOptU32(opts, p, opts.length, 51, 3600);
  // the frame goes into a buffer full of garbage (the request it answers, in place)
  const out = new Uint8Array(1900).fill(0xa5);
  const len = writeDhcpReply(out, 0, {
    srcMac: M('02:00:00:00:00:01'), dstMac: M('52:54:00:a1:b2:c3'), srcIp: IP('192.168.122.1'), dstIp: IP('192.168.122.100'),
    dstPort: 68, op: 2, xid: 0x3903f326, flags: 0, ciaddr: 0, yiaddr: IP('192.168.122.100'), siaddr: 0, giaddr: 0,
    chaddr: M('52:54:00:a1:b2:c3'), options: opts, optionsLen: p,
  });
  assert.equal(len, 14 + 20 + 8 + BOOTP_MIN_LEN);
  const r = parse(out, len);
  assert.deepEqual(
    [r.dstMac, r.srcMac, r.type, r.tos, r.id, r.df, r.ttl, r.proto, r.srcIp, r.dstIp, r.sport, r.dport, r.msgLen],
    [M('52:54:00:a1:b2:c3'), M('02:00:00:00:00:01'), 0x0800, 0, 0, true, 64, 17, IP('192.168.122.1'), IP('192.168.122.100'), 67, 68, 300],
  );
  assert.deepEqual(
    [r.op, r.htype, r.hlen, r.hops, r.xid, r.secs, r.flags, r.ciaddr, r.yiaddr, r.siaddr, r.giaddr],
    [2, 1, 6, 0, 0x3903f326, 0, 0, 0, IP('192.168.122.100'), 0, 0],
  );
  assert.equal(r.chaddr, '525400a1b2c3' + Z(10));
  assert.equal(r.snameFileZero, true);
  assert.equal(r.cookie, 0x63825363);
  assert.deepEqual(r.options, [[53, [2]], [54, [192, 168, 122, 1]], [51, [0, 0, 0x0e, 0x10]]]);
  assert.equal(r.afterEndZero, true);
});

test('writeDhcpReply: at most 590 bytes, options that do not fit left out whole; the rest of the buffer untouched', () => {
  const fields = (opts: Uint8Array, n: number) => ({
    srcMac: 1, dstMac: 0xffffffffffff, srcIp: IP('10.0.0.1'), dstIp: 0xffffffff, dstPort: 68, op: 2, xid: 1, flags: 0x8000,
    ciaddr: 0, yiaddr: IP('10.0.0.9'), siaddr: 0, giaddr: 0, chaddr: 2, options: opts, optionsLen: n,
  });
  // exactly DHCP_MAX_OPTIONS bytes: 590
  const full = new Uint8Array(DHCP_MAX_OPTIONS);
  for (let p = 0; p + 2 <= full.length; p += 2 + full[p + 1]) { const l = Math.min(100, full.length - p - 2); full.set([224, l], p); full.fill(0x41, p + 2, p + 2 + l); }
  assert.equal(full[306], 0, 'the last byte is a pad');
  const out = new Uint8Array(2000).fill(0xee);
  let len = writeDhcpReply(out, 100, fields(full, full.length));
  assert.equal(len, DHCP_MAX_FRAME);
  assert.equal(len, 590);
  assert.ok(out.subarray(0, 100).every((x) => x === 0xee));
  assert.ok(out.subarray(100 + len).every((x) => x === 0xee));
  let f = out.slice(100, 100 + len);
  assert.equal(refSum(f, 14, 20), 0xffff);
  assert.equal(get16(f, 38), 576 - 20);
  assert.equal(refSum(f, 34, 556, refSum(f, 26, 8, 17 + 556)), 0xffff);
  assert.equal(f[len - 1], 255, 'the end option is the last byte');
  assert.equal(get16(f, 42 + 10), 0x8000);
  // 8 options of 50 bytes: 6 fit, the 7th would cross the limit and is left out whole
  const big = new Uint8Array(400);
  for (let p = 0; p < 400; p += 50) { big.set([224, 48], p); big.fill(0x41, p + 2, p + 50); }
  len = writeDhcpReply(out, 0, fields(big, 400));
  assert.equal(len, 14 + 20 + 8 + 240 + 300 + 1);
  f = out.slice(0, len);
  const r = parse(f, len);
  assert.equal(r.options.length, 6);
  assert.ok(r.options.every(([c, v]) => c === 224 && v.length === 48));
});
