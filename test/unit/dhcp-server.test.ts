// dhcp-server.test.ts — the DHCP server on a fake clock: DORA with exact options, where
// replies go (RFC 2131 4.1), NAKs, renew/rebind, release, decline, inform, reservations, pool
// exhaustion, expiry, restart with the lease file. Requests are built here, independently of
// src/wire; replies are parsed here, checksums verified by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DhcpServer, type DhcpServerOptions } from '../../src/dhcp/server.ts';
import { LeaseStore } from '../../src/dhcp/lease-store.ts';
import { LeaseTable } from '../../src/dhcp/leases.ts';

// ---- independent helpers ----

const IP = (s: string): number => s.split('.').reduce((a, x) => a * 256 + Number(x), 0);
const ipb = (s: string): number[] => s.split('.').map(Number);
const macb = (s: string): number[] => s.split(':').map((h) => parseInt(h, 16));
const M = (s: string): number => parseInt(s.replace(/:/g, ''), 16);
const u16 = (v: number): number[] => [(v >> 8) & 255, v & 255];
const u32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const get16 = (b: ArrayLike<number>, o: number): number => b[o] * 256 + b[o + 1];
const get32 = (b: ArrayLike<number>, o: number): number => ((b[o] * 256 + b[o + 1]) * 256 + b[o + 2]) * 256 + b[o + 3];
const text = (s: string): number[] => [...Buffer.from(s)];

function sum(b: ArrayLike<number>, o: number, n: number, init = 0): number {
  let s = init;
  for (let i = 0; i < n; i += 2) s += b[o + i] * 256 + (i + 1 < n ? b[o + i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

const T = { discover: 1, offer: 2, request: 3, decline: 4, ack: 5, nak: 6, release: 7, inform: 8 } as const;

interface Req {
  type: number;
  mac: string;
  xid?: number;
  flags?: number;
  ciaddr?: string;
  /** IP source / destination (default 0.0.0.0 -> 255.255.255.255) */
  src?: string;
  dst?: string;
  ethDst?: string;
  op?: number;
  giaddr?: string;
  /** extra options [code, bytes] after 53 */
  options?: [number, number[]][];
  /** the UDP checksum: computed (default), 'none' (0) or 'bad' */
  csum?: 'none' | 'bad';
}

/** A client's frame to port 67: Ethernet + IPv4 + UDP + BOOTP, padded to 300, checksums filled. */
function request(r: Req): Uint8Array {
  const m = [r.op ?? 1, 1, 6, 0, ...u32(r.xid ?? 0x11223344), 0, 0, ...u16(r.flags ?? 0),
    ...ipb(r.ciaddr ?? '0.0.0.0'), 0, 0, 0, 0, 0, 0, 0, 0, ...ipb(r.giaddr ?? '0.0.0.0'),
    ...macb(r.mac), ...new Array(10 + 64 + 128).fill(0), 99, 130, 83, 99, 53, 1, r.type];
  for (const [c, v] of r.options ?? []) m.push(c, v.length, ...v);
  m.push(255);
  while (m.length < 300) m.push(0);
  const src = ipb(r.src ?? '0.0.0.0'), dst = ipb(r.dst ?? '255.255.255.255');
  const udp = [...u16(68), ...u16(67), ...u16(8 + m.length), 0, 0, ...m];
  if (r.csum !== 'none') {
    let c = ~sum(udp, 0, udp.length, sum([...src, ...dst], 0, 8, 17 + udp.length)) & 0xffff;
    if (c === 0) c = 0xffff;
    if (r.csum === 'bad') c ^= 0x0101;
    udp[6] = c >> 8; udp[7] = c & 255;
  }
  const ip = [0x45, 0, ...u16(20 + udp.length), 0, 0, 0, 0, 64, 17, 0, 0, ...src, ...dst];
  const ic = ~sum(ip, 0, 20) & 0xffff;
  ip[10] = ic >> 8; ip[11] = ic & 255;
  const f = new Uint8Array(1900);
  f.set([...macb(r.ethDst ?? 'ff:ff:ff:ff:ff:ff'), ...macb(r.mac), 8, 0, ...ip, ...udp]);
  return f;
}
const frameLen = (f: Uint8Array): number => 14 + get16(f, 16);

interface Reply {
  ethDst: string; ethSrc: string; srcIp: string; dstIp: string; sport: number; dport: number;
  op: number; xid: number; flags: number; ciaddr: string; yiaddr: string; siaddr: string; giaddr: string; chaddr: string;
  options: [number, number[]][];
  type: number;
  opt(code: number): number[] | undefined;
}

const ipStr = (v: number): string => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
const macStr = (b: ArrayLike<number>, o: number): string => Array.from({ length: 6 }, (_, i) => b[o + i].toString(16).padStart(2, '0')).join(':');

/** Parse a reply frame of `len` bytes, asserting its framing and both checksums. */
function parseReply(f: Uint8Array, len: number): Reply {
  assert.ok(len >= 342 && len <= 590, `length ${len}`);
  assert.equal(get16(f, 12), 0x0800);
  assert.equal(sum(f, 14, 20), 0xffff, 'IP checksum');
  assert.equal(14 + get16(f, 16), len);
  const ul = get16(f, 38);
  assert.equal(sum(f, 34, ul, sum(f, 26, 8, 17 + ul)), 0xffff, 'UDP checksum');
  const m = 42;
  assert.equal(get32(f, m + 236), 0x63825363);
  const options: [number, number[]][] = [];
  for (let p = m + 240; f[p] !== 255; p += f[p] === 0 ? 1 : 2 + f[p + 1]) {
    if (f[p] !== 0) options.push([f[p], [...f.subarray(p + 2, p + 2 + f[p + 1])]]);
  }
  const r: Reply = {
    ethDst: macStr(f, 0), ethSrc: macStr(f, 6), srcIp: ipStr(get32(f, 26)), dstIp: ipStr(get32(f, 30)),
    sport: get16(f, 34), dport: get16(f, 36), op: f[m], xid: get32(f, m + 4), flags: get16(f, m + 10),
    ciaddr: ipStr(get32(f, m + 12)), yiaddr: ipStr(get32(f, m + 16)), siaddr: ipStr(get32(f, m + 20)),
    giaddr: ipStr(get32(f, m + 24)), chaddr: macStr(f, m + 28), options,
    type: options.find(([c]) => c === 53)?.[1][0] ?? 0,
    opt: (code) => options.find(([c]) => c === code)?.[1],
  };
  assert.equal(r.sport, 67);
  assert.equal(r.dport, 68);
  assert.equal(r.op, 2);
  return r;
}

// ---- the network under test: 192.168.122.0/24, the switch at .1, pool .100-.199 ----

const SERVER_MAC = '02:00:5e:00:53:01';
const T0 = 1_700_000_000_000; // wall clock at the start
const A = '52:54:00:00:00:0a', B = '52:54:00:00:00:0b', C = '52:54:00:00:00:0c', S = '52:54:00:12:34:56';
const UDHCPC_PRL: [number, number[]] = [55, [1, 3, 6, 12, 15, 28, 42]];

function opts(o: Partial<DhcpServerOptions> = {}): DhcpServerOptions {
  return {
    network: 'private', serverMac: M(SERVER_MAC), serverIp: IP('192.168.122.1'),
    subnet: { net: IP('192.168.122.0'), len: 24 }, range: [IP('192.168.122.100'), IP('192.168.122.199')],
    leaseSeconds: 3600, dns: [IP('192.168.122.1'), IP('9.9.9.9')], domain: 'lab.example',
    static: [{ mac: M(S), ip: IP('192.168.122.10') }], wallClock: () => T0, ...o,
  };
}

class Harness {
  readonly srv: DhcpServer;
  now = 5_000; // monotonic ms; the wall clock stays T0, the server adds the difference
  logs: string[] = [];
  constructor(o: Partial<DhcpServerOptions> = {}) {
    this.srv = new DhcpServer(opts({ log: (m) => this.logs.push(m), ...o }));
  }
  /** Send a request; the reply (parsed) or null. */
  send(r: Req): Reply | null {
    const f = request(r);
    const n = this.srv.handle(f, 0, frameLen(f), this.now);
    return n === 0 ? null : parseReply(f, n);
  }
  advance(sec: number): void { this.now += sec * 1000; this.srv.tick(this.now); }
  wall(): number { return T0 + this.now - 5_000; }
  /** DISCOVER + REQUEST: the address acked. */
  dora(mac: string, extra: [number, number[]][] = []): string {
    const o = this.send({ type: T.discover, mac, options: extra })!;
    assert.equal(o.type, T.offer);
    const a = this.send({ type: T.request, mac, options: [[50, ipb(o.yiaddr)], [54, ipb('192.168.122.1')], ...extra] })!;
    assert.equal(a.type, T.ack);
    return a.yiaddr;
  }
}

// ---- DORA ----

test('DORA like udhcpc: OFFER and ACK unicast to chaddr/yiaddr, exact options in request order', () => {
  const h = new Harness();
  const cid: [number, number[]] = [61, [1, ...macb(A)]];
  const o = h.send({ type: T.discover, mac: A, xid: 0x3903f326, options: [cid, [57, [2, 64]], UDHCPC_PRL, [12, text('alpine')]] })!;
  assert.equal(o.type, T.offer);
  assert.equal(o.ethDst, A, 'unicast to chaddr: the flag is clear');
  assert.equal(o.ethSrc, SERVER_MAC);
  assert.equal(o.dstIp, '192.168.122.100');
  assert.equal(o.srcIp, '192.168.122.1');
  assert.deepEqual([o.xid, o.flags, o.ciaddr, o.yiaddr, o.siaddr, o.giaddr, o.chaddr], [0x3903f326, 0, '0.0.0.0', '192.168.122.100', '0.0.0.0', '0.0.0.0', A]);
  const want = (type: number): [number, number[]][] => [
    [53, [type]],
    [54, [192, 168, 122, 1]],
    [51, u32(3600)],
    [58, u32(1800)],
    [59, u32(3150)],
    [1, [255, 255, 255, 0]], // asked: 1, 3, 6, 12, 15, 28, 42
    [3, [192, 168, 122, 1]],
    [6, [192, 168, 122, 1, 9, 9, 9, 9]],
    [15, text('lab.example')],
    [28, [192, 168, 122, 255]],
    [61, [1, ...macb(A)]], // RFC 6842
  ];
  assert.deepEqual(o.options, want(T.offer));
  assert.deepEqual(h.srv.leases(h.now).map((l) => [l.ip, l.mac, l.state, l.hostname, l.clientId, l.expiresAt]),
    [['192.168.122.100', A, 'offered', 'alpine', '01:' + A, h.wall() + 60_000]]);

  h.advance(2);
  const a = h.send({ type: T.request, mac: A, xid: 0x3903f327, options: [cid, [50, ipb('192.168.122.100')], [54, ipb('192.168.122.1')], UDHCPC_PRL, [12, text('alpine')]] })!;
  assert.equal(a.type, T.ack);
  assert.equal(a.ethDst, A);
  assert.equal(a.dstIp, '192.168.122.100');
  assert.deepEqual([a.xid, a.ciaddr, a.yiaddr], [0x3903f327, '0.0.0.0', '192.168.122.100']);
  assert.deepEqual(a.options, want(T.ack));
  assert.deepEqual(h.srv.leases(h.now), [{
    mac: A, ip: '192.168.122.100', hostname: 'alpine', clientId: '01:' + A, expiresAt: h.wall() + 3600_000, state: 'bound',
  }]);
  const c = h.srv.counters;
  assert.deepEqual([c.discover, c.offer, c.request, c.ack, c.nak], [1, 1, 1, 1, 0]);
  assert.ok(Object.values(c.dropped).every((n) => n === 0));
  assert.deepEqual(h.logs.filter((l) => l.startsWith('DHCP')).map((l) => l.split(' ')[0]), ['DHCPDISCOVER', 'DHCPOFFER', 'DHCPREQUEST', 'DHCPACK']);
});

test('DORA like dhclient: its parameter order is followed; broadcast flag -> broadcast reply', () => {
  const h = new Harness();
  const prl: [number, number[]] = [55, [1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42]];
  const o = h.send({ type: T.discover, mac: B, flags: 0x8000, options: [[50, ipb('192.168.122.150')], [12, text('debian')], prl] })!;
  assert.equal(o.ethDst, 'ff:ff:ff:ff:ff:ff');
  assert.equal(o.dstIp, '255.255.255.255');
  assert.equal(o.flags, 0x8000);
  assert.equal(o.yiaddr, '192.168.122.150', 'the requested address is free: it is offered');
  assert.deepEqual(o.options.map(([c]) => c), [53, 54, 51, 58, 59, 1, 28, 3, 15, 6]);
  assert.equal(o.opt(61), undefined, 'no client id sent, none echoed');
});

test('REQUEST with a broken UDP checksum is dropped; no checksum (0) is fine', () => {
  const h = new Harness();
  assert.equal(h.send({ type: T.discover, mac: A, csum: 'bad' }), null);
  assert.equal(h.srv.counters.dropped.badChecksum, 1);
  assert.equal(h.send({ type: T.discover, mac: A, csum: 'none' })?.type, T.offer);
});

test('malformed or foreign frames are counted by reason, never answered', () => {
  const h = new Harness();
  assert.equal(h.send({ type: T.discover, mac: A, op: 2 }), null);
  assert.equal(h.send({ type: T.discover, mac: A, giaddr: '10.1.1.1' }), null);
  assert.equal(h.send({ type: 42, mac: A }), null);
  // a plain BOOTP request (no option 53)
  const f = request({ type: T.discover, mac: A });
  f[42 + 240] = 0; f[42 + 241] = 0; f[42 + 242] = 0; // 53 turned into pads
  f[40] = 0; f[41] = 0; // no UDP checksum
  assert.equal(h.srv.handle(f, 0, frameLen(f), h.now), 0);
  // every truncation of a good DISCOVER: no reply, no throw
  const good = request({ type: T.discover, mac: B });
  for (let len = 0; len < frameLen(good); len++) {
    const cut = good.slice(0, len);
    assert.equal(h.srv.handle(cut, 0, len, h.now), 0, `len ${len}`);
  }
  const d = h.srv.counters.dropped;
  assert.equal(d.notRequest, 1);
  assert.equal(d.relayed, 1);
  assert.equal(d.badType, 1);
  assert.equal(d.bootp, 1);
  assert.ok(d.notIp4 + d.badIp4 > 300, 'cut frames: the IPv4 total length no longer fits');
  assert.equal(h.srv.counters.offer, 0);
});

// ---- SELECTING / NAK ----

test('REQUEST for another address than offered: NAK, broadcast, with a message', () => {
  const h = new Harness();
  h.send({ type: T.discover, mac: A, options: [[61, [1, ...macb(A)]]] });
  const n = h.send({ type: T.request, mac: A, options: [[61, [1, ...macb(A)]], [50, ipb('192.168.122.150')], [54, ipb('192.168.122.1')]] })!;
  assert.equal(n.type, T.nak);
  assert.equal(n.ethDst, 'ff:ff:ff:ff:ff:ff');
  assert.equal(n.dstIp, '255.255.255.255');
  assert.deepEqual([n.ciaddr, n.yiaddr, n.siaddr], ['0.0.0.0', '0.0.0.0', '0.0.0.0']);
  assert.deepEqual(n.options.map(([c]) => c), [53, 54, 56, 61]);
  assert.equal(Buffer.from(n.opt(56)!).toString(), 'not the offered address');
  assert.equal(h.srv.counters.nak, 1);
});

test('REQUEST naming another server: our offer is withdrawn silently', () => {
  const h = new Harness();
  assert.equal(h.send({ type: T.discover, mac: A })!.yiaddr, '192.168.122.100');
  assert.equal(h.send({ type: T.request, mac: A, options: [[50, ipb('192.168.122.100')], [54, ipb('192.168.122.2')]] }), null);
  assert.equal(h.srv.counters.dropped.otherServer, 1);
  assert.deepEqual(h.srv.leases(h.now), []);
  assert.equal(h.send({ type: T.discover, mac: B })!.yiaddr, '192.168.122.100', 'the address is free again');
});

test('SELECTING after the offer expired: ACK if the address is still free, NAK if someone took it', () => {
  const h = new Harness();
  h.send({ type: T.discover, mac: A });
  h.advance(61);
  assert.deepEqual(h.srv.leases(h.now), [], 'offer expired');
  assert.equal(h.send({ type: T.request, mac: A, options: [[50, ipb('192.168.122.100')], [54, ipb('192.168.122.1')]] })!.type, T.ack);
  h.send({ type: T.discover, mac: B });
  h.advance(61);
  h.dora(C); // C now holds .101, which B was offered
  const n = h.send({ type: T.request, mac: B, options: [[50, ipb('192.168.122.101')], [54, ipb('192.168.122.1')]] })!;
  assert.equal(n.type, T.nak);
  assert.equal(Buffer.from(n.opt(56)!).toString(), 'address not available');
});

test('INIT-REBOOT: ACK for its own or a free address, NAK for a wrong subnet or a taken address, silence otherwise', () => {
  const h = new Harness();
  const reboot = (mac: string, ip: string) => h.send({ type: T.request, mac, options: [[50, ipb(ip)]] });
  assert.equal(h.dora(A), '192.168.122.100');
  let r = reboot(A, '192.168.122.100')!;
  assert.equal(r.type, T.ack);
  assert.equal(r.ethDst, A, 'flag clear, no ciaddr: unicast to chaddr/yiaddr');
  assert.equal(r.dstIp, '192.168.122.100');
  // a client we never saw, asking for a free address of the range (the lease file was lost)
  r = reboot(B, '192.168.122.150')!;
  assert.equal(r.type, T.ack);
  assert.equal(r.yiaddr, '192.168.122.150');
  // moved from another network
  r = reboot(C, '10.0.0.7')!;
  assert.equal(r.type, T.nak);
  assert.equal(Buffer.from(r.opt(56)!).toString(), 'wrong network');
  // someone else's address, the server's own, a reservation of another MAC
  for (const ip of ['192.168.122.100', '192.168.122.1', '192.168.122.10', '192.168.122.255']) {
    assert.equal(reboot(C, ip)!.type, T.nak, ip);
  }
  // A asks for another address than its lease
  assert.equal(reboot(A, '192.168.122.160')!.type, T.nak);
  // an offer made meanwhile does not stand in the way of the address the client had
  assert.equal(h.send({ type: T.discover, mac: C })!.yiaddr, '192.168.122.101');
  r = reboot(C, '192.168.122.170')!;
  assert.equal(r.type, T.ack);
  assert.deepEqual(h.srv.leases(h.now).filter((l) => l.mac === C).map((l) => [l.ip, l.state]), [['192.168.122.170', 'bound']]);
  // on our subnet, outside the pool, nobody's: not ours to judge
  assert.equal(reboot(A, '192.168.122.50')!.type, T.nak, 'A has a lease elsewhere');
  h.send({ type: T.release, mac: C, ciaddr: '192.168.122.170' });
  assert.equal(reboot(C, '192.168.122.50'), null);
  assert.equal(h.srv.counters.dropped.unknownClient, 1);
});

// ---- RENEWING / REBINDING ----

test('RENEWING (unicast) and REBINDING (broadcast) extend the lease; the ACK goes to ciaddr', () => {
  const h = new Harness();
  assert.equal(h.dora(A), '192.168.122.100');
  h.advance(1800); // T1
  const renew = h.send({ type: T.request, mac: A, ciaddr: '192.168.122.100', src: '192.168.122.100', dst: '192.168.122.1', ethDst: SERVER_MAC })!;
  assert.equal(renew.type, T.ack);
  assert.deepEqual([renew.ethDst, renew.dstIp, renew.ciaddr, renew.yiaddr], [A, '192.168.122.100', '192.168.122.100', '192.168.122.100']);
  assert.deepEqual(renew.opt(51), u32(3600));
  assert.equal(h.srv.leases(h.now)[0].expiresAt, h.wall() + 3600_000);
  h.advance(3150);
  const rebind = h.send({ type: T.request, mac: A, ciaddr: '192.168.122.100', src: '192.168.122.100', flags: 0x8000 })!;
  assert.equal(rebind.type, T.ack);
  assert.deepEqual([rebind.ethDst, rebind.dstIp], [A, '192.168.122.100'], 'ciaddr set: unicast even with the broadcast flag');
  assert.equal(h.srv.leases(h.now)[0].expiresAt, h.wall() + 3600_000);
  assert.equal(h.srv.leases(h.now)[0].state, 'bound');
});

test('RENEWING an address that is not the client\'s: NAK; after expiry a free one is granted again', () => {
  const h = new Harness();
  h.dora(A);
  h.dora(B);
  const n = h.send({ type: T.request, mac: B, ciaddr: '192.168.122.100', src: '192.168.122.100', dst: '192.168.122.1' })!;
  assert.equal(n.type, T.nak);
  assert.equal(n.dstIp, '255.255.255.255');
  h.advance(3601);
  assert.deepEqual(h.srv.leases(h.now), []);
  const a = h.send({ type: T.request, mac: A, ciaddr: '192.168.122.100', src: '192.168.122.100', dst: '192.168.122.1' })!;
  assert.equal(a.type, T.ack, 'late renewal of a free address');
});

// ---- RELEASE / DECLINE / INFORM ----

test('RELEASE frees the address; the client gets its previous address back', () => {
  const h = new Harness();
  assert.equal(h.dora(A), '192.168.122.100');
  assert.equal(h.dora(B), '192.168.122.101');
  for (const [mac, ip] of [[A, '192.168.122.100'], [B, '192.168.122.101']]) {
    assert.equal(h.send({ type: T.release, mac, ciaddr: ip, src: ip, dst: '192.168.122.1', options: [[54, ipb('192.168.122.1')]] }), null);
  }
  assert.deepEqual(h.srv.leases(h.now), []);
  assert.equal(h.srv.counters.release, 2);
  assert.equal(h.send({ type: T.discover, mac: B })!.yiaddr, '192.168.122.101', 'previous address, not the lowest free');
  // a RELEASE of an address that is not the client's does nothing
  assert.equal(h.send({ type: T.release, mac: C, ciaddr: '192.168.122.101' }), null);
  assert.equal(h.srv.counters.dropped.releaseUnknown, 1);
  assert.equal(h.srv.leases(h.now).length, 1);
});

test('DECLINE quarantines the address for 10 minutes', () => {
  const h = new Harness();
  assert.equal(h.dora(A), '192.168.122.100');
  assert.equal(h.send({ type: T.decline, mac: A, options: [[50, ipb('192.168.122.100')], [54, ipb('192.168.122.1')]] }), null);
  assert.equal(h.srv.counters.decline, 1);
  assert.deepEqual(h.srv.leases(h.now).map((l) => [l.ip, l.state, l.mac, l.expiresAt]), [['192.168.122.100', 'declined', A, h.wall() + 600_000]]);
  assert.equal(h.dora(A), '192.168.122.101');
  assert.equal(h.send({ type: T.request, mac: B, options: [[50, ipb('192.168.122.100')]] })!.type, T.nak, 'quarantined');
  h.advance(601);
  assert.equal(h.dora(B), '192.168.122.100', 'back in the pool');
  // a DECLINE for an address that is not the client's is ignored
  assert.equal(h.send({ type: T.decline, mac: C, options: [[50, ipb('192.168.122.101')]] }), null);
  assert.equal(h.srv.counters.dropped.declineUnknown, 1);
  assert.equal(h.srv.leases(h.now).find((l) => l.ip === '192.168.122.101')?.state, 'bound');
});

test('INFORM: ACK to ciaddr with the configuration, no address, no lease time', () => {
  const h = new Harness();
  const a = h.send({ type: T.inform, mac: C, ciaddr: '192.168.122.50', src: '192.168.122.50', options: [[55, [15, 6, 3]]] })!;
  assert.equal(a.type, T.ack);
  assert.deepEqual([a.ethDst, a.dstIp, a.ciaddr, a.yiaddr], [C, '192.168.122.50', '192.168.122.50', '0.0.0.0']);
  assert.deepEqual(a.options.map(([c]) => c), [53, 54, 15, 6, 3, 1, 28]);
  assert.deepEqual(h.srv.leases(h.now), [], 'no binding');
  assert.equal(h.send({ type: T.inform, mac: C, ciaddr: '10.9.9.9', src: '10.9.9.9' }), null);
  assert.equal(h.srv.counters.dropped.informOffSubnet, 1);
  assert.deepEqual([h.srv.counters.inform, h.srv.counters.ack], [2, 1]);
});

// ---- reservations, exhaustion, expiry, identity ----

test('static reservation by MAC: always that address, never anyone else\'s', () => {
  const h = new Harness();
  const o = h.send({ type: T.discover, mac: S, options: [[50, ipb('192.168.122.120')]] })!;
  assert.equal(o.yiaddr, '192.168.122.10');
  assert.equal(h.dora(S), '192.168.122.10');
  assert.equal(h.srv.leases(h.now)[0].state, 'static');
  // another client asking for it gets the pool
  assert.equal(h.send({ type: T.discover, mac: A, options: [[50, ipb('192.168.122.10')]] })!.yiaddr, '192.168.122.100');
  const n = h.send({ type: T.request, mac: A, options: [[50, ipb('192.168.122.10')], [54, ipb('192.168.122.1')]] })!;
  assert.equal(n.type, T.nak);
  // the reserved client rebooting with an old dynamic address is moved to its reservation
  assert.equal(h.send({ type: T.request, mac: S, options: [[50, ipb('192.168.122.150')]] })!.type, T.nak);
});

test('pool exhaustion: no OFFER, counted, logged; an expired offer frees its address', () => {
  const h = new Harness({ range: [IP('192.168.122.100'), IP('192.168.122.101')] });
  assert.equal(h.send({ type: T.discover, mac: A })!.yiaddr, '192.168.122.100');
  assert.equal(h.send({ type: T.discover, mac: B })!.yiaddr, '192.168.122.101');
  assert.equal(h.send({ type: T.discover, mac: C }), null);
  assert.equal(h.srv.counters.dropped.poolExhausted, 1);
  assert.equal(h.srv.counters.offer, 2);
  assert.ok(h.logs.some((l) => /no free address/.test(l)));
  h.now += 60_001; // offers expire even without a tick
  assert.equal(h.send({ type: T.discover, mac: C })!.yiaddr, '192.168.122.100');
});

test('expiry: offers after 60 s, leases after leaseSeconds', () => {
  const h = new Harness({ leaseSeconds: 120 });
  h.send({ type: T.discover, mac: A });
  h.advance(59);
  assert.equal(h.srv.leases(h.now).length, 1);
  h.advance(1);
  assert.equal(h.srv.leases(h.now).length, 0);
  assert.equal(h.dora(B), '192.168.122.100');
  assert.equal(h.dora(C), '192.168.122.101');
  h.advance(119);
  assert.equal(h.srv.leases(h.now).length, 2);
  h.advance(1);
  assert.equal(h.srv.leases(h.now).length, 0);
  // expired, yet the client's previous address is preferred over the lowest free one
  assert.equal(h.send({ type: T.discover, mac: C })!.yiaddr, '192.168.122.101');
  assert.equal(h.send({ type: T.discover, mac: A })!.yiaddr, '192.168.122.100');
});

test('identity: the client id when sent, else the MAC', () => {
  const h = new Harness();
  const a = h.dora(A, [[61, [0xff, 1, 2, 3, 4]]]);
  const b = h.dora(A, [[61, [0xff, 9, 9, 9, 9]]]);
  assert.notEqual(a, b, 'same MAC, two client ids: two clients');
  const c = h.dora(A);
  assert.notEqual(c, a);
  assert.equal(h.dora(A, [[61, [0xff, 1, 2, 3, 4]]]), a);
  assert.equal(h.srv.leases(h.now).length, 3);
});

test('router option: omitted for a network configured without one', () => {
  const h = new Harness({ router: null, domain: null, dns: [] });
  const o = h.send({ type: T.discover, mac: A, options: [UDHCPC_PRL] })!;
  assert.deepEqual(o.options.map(([c]) => c), [53, 54, 51, 58, 59, 1, 28]);
});

// ---- restart ----

test('a restart keeps the leases: same address for the same MAC, from the lease file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-dhcp-'));
  try {
    const h1 = new Harness({ store: new LeaseStore({ dir, network: 'private' }) });
    assert.equal(h1.dora(A, [[12, text('vm-a')]]), '192.168.122.100');
    assert.equal(h1.dora(B), '192.168.122.101');
    assert.equal(h1.dora(S), '192.168.122.10');
    h1.send({ type: T.release, mac: B, ciaddr: '192.168.122.101' });
    h1.send({ type: T.discover, mac: C }); // an offer is not written down
    h1.advance(100);
    await h1.srv.close();
    const lines = readFileSync(join(dir, 'leases-private.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines[0].format, 'switchyard-leases');
    assert.deepEqual(lines.slice(1).map((l) => [l.ip, l.mac, l.state, l.hostname, l.expiresAt]), [
      ['192.168.122.10', S, 'static', null, T0 + 3600_000],
      ['192.168.122.100', A, 'bound', 'vm-a', T0 + 3600_000],
    ]);

    // 10 minutes later, a new process: a new monotonic clock, the wall clock moved on
    const logs: string[] = [];
    const srv = new DhcpServer(opts({ store: new LeaseStore({ dir, network: 'private' }), wallClock: () => T0 + 600_000, log: (m) => logs.push(m) }));
    assert.deepEqual(srv.leases(1).map((l) => [l.ip, l.mac, l.state, l.hostname, l.expiresAt]), [
      ['192.168.122.10', S, 'static', null, T0 + 3600_000],
      ['192.168.122.100', A, 'bound', 'vm-a', T0 + 3600_000],
    ]);
    const f = request({ type: T.discover, mac: A });
    const n = srv.handle(f, 0, frameLen(f), 2);
    assert.equal(parseReply(f, n).yiaddr, '192.168.122.100');
    const g = request({ type: T.discover, mac: C });
    assert.equal(parseReply(g, srv.handle(g, 0, frameLen(g), 3)).yiaddr, '192.168.122.101', '.100 stays A\'s');
    // INIT-REBOOT of A after the restart: ACK
    const r = request({ type: T.request, mac: A, options: [[50, ipb('192.168.122.100')]] });
    assert.equal(parseReply(r, srv.handle(r, 0, frameLen(r), 4)).type, T.ack);
    await srv.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a lease file cut short does not stop the switch: it logs and starts with what it could read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-dhcp-'));
  try {
    const full = [
      JSON.stringify({ format: 'switchyard-leases', version: 1, network: 'private' }),
      JSON.stringify({ ip: '192.168.122.100', mac: A, clientId: null, hostname: 'a', expiresAt: T0 + 1000_000, state: 'bound' }),
      JSON.stringify({ ip: '192.168.122.101', mac: B, clientId: '01:' + B, hostname: null, expiresAt: T0 + 2000_000, state: 'bound' }),
      JSON.stringify({ ip: '192.168.122.102', mac: C, clientId: null, hostname: 'c', expiresAt: T0 + 3000_000, state: 'bound' }),
    ].join('\n') + '\n';
    const ends = [...full.matchAll(/\n/g)].map((m) => m.index!);
    for (let len = 0; len <= full.length; len++) {
      writeFileSync(join(dir, 'leases-private.jsonl'), full.slice(0, len));
      const logs: string[] = [];
      const log = (m: string) => logs.push(m);
      const srv = new DhcpServer(opts({ store: new LeaseStore({ dir, network: 'private', log }), log }));
      // whole lines: those whose closing brace made it (the newline may be missing)
      const whole = ends.slice(1).filter((e) => e <= len).length;
      const got = srv.leases(0).length;
      assert.equal(got, whole, `cut at ${len}`);
      const tail = full.slice(full.lastIndexOf('\n', len - 1) + 1, len);
      if (tail.length > 0 && !ends.includes(len)) assert.ok(logs.some((l) => /skipped/.test(l)), `cut at ${len}: logged`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the lease table against a model ----

test('lease table: random offers, binds, releases, declines and expiry agree with a naive model', () => {
  let a = 7;
  const r = (n: number): number => { a = (Math.imul(a, 1103515245) + 12345) >>> 0; return (a >>> 8) % n; };
  const FIRST = 1000, LAST = 1039, RES = 1005, RES_MAC = 999;
  const t = new LeaseTable({ range: [FIRST, LAST], reserved: [{ mac: RES_MAC, ip: RES }], exclude: [1010] });
  // the model: ip -> entry, and each client's previous address (from a bound lease that ended)
  const model = new Map<number, { mac: number; until: number; kind: string }>();
  const prev = new Map<number, number>();
  let now = 0;
  const live = (ip: number) => { const e = model.get(ip); return e !== undefined && e.until > now ? e : undefined; };
  const end = (ip: number) => { const e = model.get(ip)!; if (e.kind === 'bound') prev.set(e.mac, ip); model.delete(ip); };
  for (let step = 0; step < 20000; step++) {
    now += r(3) * 1000;
    for (const [ip, e] of model) if (e.until <= now) end(ip);
    // the server's tick (an address past its time goes back to the lowest-free scan when expired)
    const ticked = r(4) !== 0;
    if (ticked) t.expire(now);
    const mac = 1 + r(60);
    const op = r(10);
    const mine = [...model.entries()].find(([, e]) => e.mac === mac && e.kind !== 'declined');
    if (op < 5) {
      const ip = t.choose(mac, null, 0, now);
      const free = (x: number) => x !== 1010 && (x !== RES || mac === RES_MAC) && (live(x) === undefined || (live(x)!.mac === mac && live(x)!.kind !== 'declined'));
      const lowest = [...Array(LAST - FIRST + 1).keys()].map((k) => FIRST + k).find(free) ?? 0;
      const p = prev.get(mac);
      const byRule = mac === RES_MAC && free(RES) ? RES : mine !== undefined ? mine[0] : p !== undefined && free(p) ? p : 0;
      if (byRule !== 0 || ticked) {
        assert.equal(ip, byRule || lowest, `step ${step}: address for ${mac}`);
      } else {
        // without a tick, an address whose entry just ran out may be passed over by the scan
        assert.equal(ip === 0, lowest === 0, `step ${step}: exhausted?`);
        assert.ok(ip === 0 || free(ip), `step ${step}: ${ip} free for ${mac}`);
      }
      if (ip === 0) continue;
      if (mine !== undefined && mine[0] !== ip) model.delete(mine[0]);
      const until = now + (op < 2 ? 60_000 : 3600_000);
      if (op < 2) t.offer(ip, mac, null, null, until); else t.bind(ip, mac, null, null, until);
      model.set(ip, { mac, until, kind: op < 2 ? 'offered' : 'bound' });
    } else if (op < 7 && mine !== undefined) {
      t.release(t.binding(mac, null, now)!);
      end(mine[0]);
    } else if (op < 8 && mine !== undefined) {
      t.decline(mine[0], mac, now + 600_000);
      model.set(mine[0], { mac, until: now + 600_000, kind: 'declined' });
    } else if (op < 9) {
      t.expire(now);
    }
    // the table's view of every address agrees with the model
    for (let ip = FIRST; ip <= LAST; ip++) {
      const e = live(ip), l = t.at(ip, now);
      assert.equal(l === undefined ? 'free' : `${l.mac}/${l.state === 'static' ? 'bound' : l.state}`, e === undefined ? 'free' : `${e.mac}/${e.kind}`, `step ${step} ip ${ip}`);
    }
  }
});
