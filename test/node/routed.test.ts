// Node harness tests of the routed path (arp-input, ip4-input, ip4-lookup, ip4-local,
// ip4-icmp-error, ip4-rewrite, the neighbour timers) on in-memory ports and a fake clock.
// The network is configured like the Switch does it: parseConfig + Routing.configure.
// Seeds 000/001: two VMs with /32 addresses behind vm1 and vm2, gateway 169.255.30.1, an
// uplink on a LAN (192.168.0.64/24, router .1) that sees the VM addresses published.
// Every test ends with the pool whole: pending resolutions failed by the timers, no slot
// leaked, none freed twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoutedLab } from '../helpers/routed-lab.ts';
import {
  hex, mac, eth, arpFrame, arpReply, arpWhoHas, ipFrame, ipv4, udp, icmp, icmpEcho, inetChecksum, type Ipv4Opts,
} from '../helpers/frames.ts';

const SW = '02:00:5e:00:53:01';          // the switch (router) MAC: VM ports
const UP = '02:00:00:00:ff:01';          // the uplink interface's own MAC
const V1 = '52:54:00:00:00:01', V2 = '52:54:00:00:00:02';
const X = '02:00:00:00:00:10';           // "computer X" on the LAN
const R = '02:00:00:00:00:01';           // the LAN router 192.168.0.1
const R2 = '02:00:00:00:00:fe';          // another LAN router 192.168.0.254
const EVIL = '02:00:00:00:00:66';
const BCAST = 'ff:ff:ff:ff:ff:ff';
const GW = '169.255.30.1', UPIP = '192.168.0.64';
const VM1 = '192.168.200.201', VM2 = '192.168.200.202', XIP = '192.168.0.10', RIP = '192.168.0.1', R2IP = '192.168.0.254';

function config(over: Record<string, unknown> = {}, net: Record<string, unknown> = {}, ports: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'lab',
    mac: SW,
    ports: { vm1: { afpacket: 'sy-vm1' }, vm2: { afpacket: 'sy-vm2' }, uplink: { afpacket: 'eth0' }, ...ports },
    networks: {
      pub: {
        mode: 'routed',
        ports: ['vm1', 'vm2'],
        hosts: { [VM1]: 'vm1', [VM2]: 'vm2' },
        uplink: { port: 'uplink', address: `${UPIP}/24`, gateway: RIP },
        ...net,
      },
    },
    // a subnet behind VM1 (VM1 routes for it): ARP for it on vm1 is not proxied
    routes: ['10.77.0.0/16 dev vm1'],
    ...over,
  };
}

function lab(raw: Record<string, unknown> = config()): RoutedLab {
  // the VM ports' own interface MACs must not matter: VMs see the switch MAC
  return new RoutedLab(raw, { macs: { uplink: UP, vm1: 'fe:54:00:00:00:01', vm2: 'fe:54:00:00:00:02' } });
}

/** The pool is whole once the timers have failed whatever still waits for ARP. */
function whole(l: RoutedLab): void {
  l.settle();
  l.sent();
  assert.equal(l.dp.ip4.neighbors.queued, 0, 'nothing waits for ARP');
  assert.equal(l.pool.inFlight, 0, 'no slot leaked');
  assert.equal(l.pool.doubleFrees, 0, 'no slot freed twice');
}

/** A VM asks for the gateway: answered, and the switch learns the VM's MAC. */
function knowVm(l: RoutedLab, port: 'vm1' | 'vm2'): void {
  const [m, ip] = port === 'vm1' ? [V1, VM1] : [V2, VM2];
  l.send(port, arpWhoHas(m, ip, GW));
  assert.equal(l.sentOn(port).length, 1);
}

/** A LAN host asks for the uplink address: answered, the switch learns it. */
function knowLan(l: RoutedLab, m: string, ip: string): void {
  l.send('uplink', arpWhoHas(m, ip, UPIP));
  assert.equal(l.sentOn('uplink').length, 1);
}

const udpTo = (dstMac: string, srcMac: string, src: string, dst: string, o: Partial<Ipv4Opts> = {}, body: number[] | string = 'data'): Uint8Array =>
  ipFrame(dstMac, srcMac, { src, dst, proto: 17, payload: udp(4000, 5000, body), ...o });

const ip = (f: Uint8Array, o: number): string => `${f[o]}.${f[o + 1]}.${f[o + 2]}.${f[o + 3]}`;
const macOf = (f: Uint8Array, o: number): string => Array.from(f.subarray(o, o + 6), (b) => b.toString(16).padStart(2, '0')).join(':');

/** The IP datagram of an Ethernet frame as received (without Ethernet padding). */
function datagram(f: Uint8Array): number[] {
  const total = (f[16] << 8) | f[17];
  return Array.from(f.subarray(14, 14 + total));
}

interface IcmpErr { ethDst: string; ethSrc: string; src: string; dst: string; type: number; code: number; mtu?: number; quote: number[] }

/** Field by field, every checksum recomputed here. */
function assertIcmpError(f: Uint8Array, w: IcmpErr): void {
  assert.equal(macOf(f, 0), w.ethDst, 'eth dst');
  assert.equal(macOf(f, 6), w.ethSrc, 'eth src');
  assert.equal((f[12] << 8) | f[13], 0x0800);
  assert.equal(f[14], 0x45, 'IPv4, no options');
  const total = (f[16] << 8) | f[17];
  assert.equal(f.length, Math.max(60, 14 + total), 'frame length');
  assert.equal(f[22], 64, 'TTL');
  assert.equal(f[23], 1, 'protocol ICMP');
  assert.equal(inetChecksum(f.subarray(14, 34)), 0, 'IP header checksum');
  assert.equal(ip(f, 26), w.src, 'IP src');
  assert.equal(ip(f, 30), w.dst, 'IP dst');
  const m = f.subarray(34, 14 + total);
  assert.equal(inetChecksum(m), 0, 'ICMP checksum');
  assert.equal(m[0], w.type, 'ICMP type');
  assert.equal(m[1], w.code, 'ICMP code');
  assert.deepEqual(Array.from(m.subarray(4, 8)), [0, 0, (w.mtu ?? 0) >> 8, (w.mtu ?? 0) & 255], 'unused / next-hop MTU');
  assert.deepEqual(Array.from(m.subarray(8)), w.quote, 'quote of the original datagram');
}

// ---------------------------------------------------------------------------------------
// ARP manners

test('uplink: a request for a published VM address is answered with the uplink MAC, byte-exact', () => {
  const l = lab();
  l.send('uplink', arpWhoHas(X, XIP, VM1));
  assert.deepEqual(l.sent(), { uplink: [hex(arpReply(UP, VM1, X, XIP))] });
  l.send('uplink', arpWhoHas(X, XIP, UPIP));
  assert.deepEqual(l.sent(), { uplink: [hex(arpReply(UP, UPIP, X, XIP))] }, 'and for its own address');
  // the requester was learned: a packet to it goes out at once
  knowVm(l, 'vm1');
  l.send('vm1', udpTo(SW, V1, VM1, XIP));
  assert.deepEqual(l.sent(), { uplink: [hex(udpTo(X, UP, VM1, XIP, { ttl: 63 }))] });
  whole(l);
});

test('uplink: requests for unpublished addresses are ignored and teach nothing', () => {
  const l = lab();
  // another LAN host, the VMs' gateway, a subnet behind VM1, an unknown address
  for (const t of ['192.168.0.20', GW, '10.77.1.1', '203.0.113.9']) l.send('uplink', arpWhoHas(X, XIP, t));
  assert.deepEqual(l.sent(), {});
  assert.equal(l.counters()['arp-ignored'], 4);
  assert.equal(l.dp.ip4.neighbors.find(0xc0a8000a), -1, 'X not learned from requests not for us');
  whole(l);
});

test('VM port: the gateway and addresses routed through other ports are answered with the switch MAC', () => {
  const l = lab();
  l.send('vm1', arpWhoHas(V1, VM1, GW));
  assert.deepEqual(l.sent(), { vm1: [hex(arpReply(SW, GW, V1, VM1))] });
  for (const t of [VM2, XIP, '8.8.8.8', UPIP]) {
    l.send('vm1', arpWhoHas(V1, VM1, t));
    assert.deepEqual(l.sent(), { vm1: [hex(arpReply(SW, t, V1, VM1))] }, t);
  }
  // 10.77/16 is routed out of vm1 itself: VM1 must find it on its own link
  l.send('vm1', arpWhoHas(V1, VM1, '10.77.1.1'));
  assert.deepEqual(l.sent(), {});
  // ...but seen from vm2 it is elsewhere
  l.send('vm2', arpWhoHas(V2, VM2, '10.77.1.1'));
  assert.deepEqual(l.sent(), { vm2: [hex(arpReply(SW, '10.77.1.1', V2, VM2))] });
  whole(l);
});

test("an ARP probe (sender 0.0.0.0) for the VM's own address gets no reply and teaches nothing", () => {
  const l = lab();
  l.send('vm1', arpWhoHas(V1, '0.0.0.0', VM1));
  assert.deepEqual(l.sent(), {});
  assert.equal(l.dp.ip4.neighbors.size, 0);
  assert.deepEqual(l.drops(), {}, 'a probe is not a spoof');
  whole(l);
});

test('an announcement gets no reply, creates no entry, and only refreshes an existing one', () => {
  const l = lab();
  const nb = l.dp.ip4.neighbors;
  const vm1 = 0xc0a8c8c9, x = 0xc0a8000a;
  // request-form and reply-form gratuitous ARP, on a VM port and on the uplink
  l.send('vm1', arpWhoHas(V1, VM1, VM1), arpFrame({ op: 2, ethDst: BCAST, ethSrc: V1, sha: V1, spa: VM1, tha: BCAST, tpa: VM1 }));
  l.send('uplink', arpWhoHas(X, XIP, XIP));
  assert.deepEqual(l.sent(), {});
  assert.equal(nb.find(vm1), -1);
  assert.equal(nb.find(x), -1);
  // known entries are refreshed with the announced MAC
  knowVm(l, 'vm1');
  knowLan(l, X, XIP);
  const V1b = '52:54:00:00:01:01', Xb = '02:00:00:00:01:10';
  l.send('vm1', arpWhoHas(V1b, VM1, VM1));
  l.send('uplink', arpWhoHas(Xb, XIP, XIP));
  assert.deepEqual(l.sent(), {});
  assert.equal(nb.mac(nb.lookup(vm1)), parseInt(V1b.replace(/:/g, ''), 16));
  assert.equal(nb.mac(nb.lookup(x)), parseInt(Xb.replace(/:/g, ''), 16));
  l.send('uplink', udpTo(UP, Xb, XIP, VM1));
  assert.deepEqual(l.sent(), { vm1: [hex(udpTo(V1b, SW, XIP, VM1, { ttl: 63 }))] });
  whole(l);
});

test("anti-spoofing: an ARP from a VM port claiming another VM's address is dropped (arp-spoofed)", () => {
  const l = lab();
  l.send('vm1', arpWhoHas(V1, VM2, GW), arpReply(V1, VM2, SW, GW), arpWhoHas(V1, '10.9.9.9', GW));
  assert.deepEqual(l.sent(), {});
  assert.deepEqual(l.portDrops('vm1'), { 'arp-spoofed': 3 });
  assert.equal(l.dp.ip4.neighbors.size, 0, 'nothing poisoned');
  whole(l);
});

test('malformed ARP is dropped (arp-malformed)', () => {
  const l = lab();
  const rarp = arpWhoHas(V1, VM1, GW); rarp[21] = 3;            // op 3
  const short = arpWhoHas(V1, VM1, GW).slice(0, 14 + 20);
  l.send('vm1', rarp, short);
  assert.deepEqual(l.sent(), {});
  assert.deepEqual(l.drops(), { 'arp-malformed': 2 });
  whole(l);
});

test('ARP from the LAN cannot redirect traffic for a VM (neighbour entries stay on their port)', () => {
  const l = lab();
  knowVm(l, 'vm1');
  knowLan(l, X, XIP);
  // a LAN host claims VM1's and VM2's addresses: an announcement, and a request to the
  // uplink address with a VM address as sender (that one is "for us")
  l.send('uplink', arpWhoHas(EVIL, VM1, VM1), arpWhoHas(EVIL, VM2, UPIP));
  l.sent();
  l.send('uplink', udpTo(UP, X, XIP, VM1), udpTo(UP, X, XIP, VM2));
  const out = l.sent();
  assert.deepEqual(out.vm1, [hex(udpTo(V1, SW, XIP, VM1, { ttl: 63 }))], 'VM1 still gets its traffic');
  // VM2 was unknown: the switch must ask for it on vm2, not send to the LAN host's MAC
  assert.deepEqual(out.vm2, [hex(arpFrame({ op: 1, ethDst: BCAST, ethSrc: SW, sha: SW, spa: GW, tpa: VM2 }))]);
  whole(l);
});

// ---------------------------------------------------------------------------------------
// Forwarding

test('forwarding: TTL down by one, checksum still valid, MACs rewritten (uplink MAC on the uplink)', () => {
  const l = lab();
  knowVm(l, 'vm1');
  knowLan(l, X, XIP);
  const sent = udpTo(UP, X, XIP, VM1, { ttl: 64, tos: 0x10 }, 'to vm1');
  l.send('uplink', sent);
  const [f] = l.sentOn('vm1');
  assert.equal(f[22], 63, 'TTL');
  assert.equal(inetChecksum(f.subarray(14, 34)), 0, 'header checksum recomputed here verifies');
  assert.equal(macOf(f, 0), V1); assert.equal(macOf(f, 6), SW);
  assert.equal(hex(f), hex(udpTo(V1, SW, XIP, VM1, { ttl: 63, tos: 0x10 }, 'to vm1')), 'nothing else changed');
  l.send('vm1', udpTo(SW, V1, VM1, XIP, { ttl: 1 + 1 }));
  assert.deepEqual(l.sent(), { uplink: [hex(udpTo(X, UP, VM1, XIP, { ttl: 1 }))] });
  // VM to VM through the switch
  knowVm(l, 'vm2');
  l.send('vm1', udpTo(SW, V1, VM1, VM2, { ttl: 255 }));
  assert.deepEqual(l.sent(), { vm2: [hex(udpTo(V2, SW, VM1, VM2, { ttl: 254 }))] });
  whole(l);
});

test('an unresolved next hop: exactly one broadcast ARP request, the packets wait, the reply releases them', () => {
  const l = lab();
  const a = udpTo(UP, X, XIP, VM1, {}, 'one'), b = udpTo(UP, X, XIP, VM1, {}, 'two');
  l.send('uplink', a);
  l.send('uplink', b);
  const req = arpFrame({ op: 1, ethDst: BCAST, ethSrc: SW, sha: SW, spa: GW, tpa: VM1 });
  assert.deepEqual(l.sent(), { vm1: [hex(req)] }, 'one request, from the gateway address, nothing forwarded yet');
  assert.equal(l.counters()['arp-requests'], 1);
  l.send('vm1', arpReply(V1, VM1, SW, GW));
  assert.deepEqual(l.sent(), { vm1: [hex(udpTo(V1, SW, XIP, VM1, { ttl: 63 }, 'one')), hex(udpTo(V1, SW, XIP, VM1, { ttl: 63 }, 'two'))] });
  // on the uplink: sender = the uplink MAC and address
  l.send('vm1', udpTo(SW, V1, VM1, '192.168.0.99'));
  assert.deepEqual(l.sent(), { uplink: [hex(arpFrame({ op: 1, ethDst: BCAST, ethSrc: UP, sha: UP, spa: UPIP, tpa: '192.168.0.99' }))] });
  // via the default gateway: the request is for the gateway
  l.send('vm1', udpTo(SW, V1, VM1, '8.8.8.8'));
  assert.deepEqual(l.sent(), { uplink: [hex(arpFrame({ op: 1, ethDst: BCAST, ethSrc: UP, sha: UP, spa: UPIP, tpa: RIP }))] });
  l.send('uplink', arpReply(R, RIP, UP, UPIP));
  assert.deepEqual(l.sent(), { uplink: [hex(udpTo(R, UP, VM1, '8.8.8.8', { ttl: 63 }))] });
  whole(l);
});

test('more than 3 waiting packets: the excess is dropped as arp-queue-full', () => {
  const l = lab();
  const frames = [1, 2, 3, 4, 5].map((i) => udpTo(UP, X, XIP, VM1, {}, `p${i}`));
  l.send('uplink', ...frames);
  assert.equal(l.sentOn('vm1').length, 1, 'one ARP request');
  assert.deepEqual(l.drops(), { 'arp-queue-full': 2 });
  assert.deepEqual(l.portDrops('uplink'), { 'arp-queue-full': 2 });
  l.send('vm1', arpReply(V1, VM1, SW, GW));
  assert.deepEqual(l.sent(), { vm1: [1, 2, 3].map((i) => hex(udpTo(V1, SW, XIP, VM1, { ttl: 63 }, `p${i}`))) }, 'the first three, in order');
  whole(l);
});

test('no ARP reply after 3 tries: the waiting packets become ICMP host unreachable, counted unresolved', () => {
  const l = lab();
  knowLan(l, X, XIP);
  const a = udpTo(UP, X, XIP, VM1, {}, 'lost1'), b = udpTo(UP, X, XIP, VM1, {}, 'lost2');
  l.send('uplink', a, b);
  const req = hex(arpFrame({ op: 1, ethDst: BCAST, ethSrc: SW, sha: SW, spa: GW, tpa: VM1 }));
  assert.deepEqual(l.sent(), { vm1: [req] });
  l.advance(0.999);
  assert.deepEqual(l.sent(), {}, 'not before a second');
  l.advance(0.001);
  assert.deepEqual(l.sent(), { vm1: [req] }, 'retry 1 (broadcast again)');
  l.advance(1);
  assert.deepEqual(l.sent(), { vm1: [req] }, 'retry 2');
  assert.equal(l.pool.inFlight, 2, 'still waiting');
  l.advance(1);
  assert.equal(l.dp.unresolved, 2);
  const out = l.sentOn('uplink');
  assert.equal(out.length, 2, 'one host unreachable per lost packet');
  // the quote is the packet as it waited: TTL already decremented
  out.forEach((f, i) => assertIcmpError(f, {
    ethDst: X, ethSrc: UP, src: UPIP, dst: XIP, type: 3, code: 1,
    quote: datagram(udpTo(UP, X, XIP, VM1, { ttl: 63 }, `lost${i + 1}`)),
  }));
  assert.equal(l.dp.ip4.neighbors.find(0xc0a8c8c9), -1, 'the failed entry is gone');
  whole(l);
});

test('a stale neighbour is still used and re-verified with a unicast ARP request', () => {
  const l = lab();
  knowVm(l, 'vm1');
  l.advance(31); // reachable 30 s → stale
  l.send('uplink', udpTo(UP, X, XIP, VM1));
  const out = l.sent();
  assert.deepEqual(out.vm1, [
    hex(arpFrame({ op: 1, ethDst: V1, ethSrc: SW, sha: SW, spa: GW, tpa: VM1 })),
    hex(udpTo(V1, SW, XIP, VM1, { ttl: 63 })),
  ]);
  whole(l);
});

// ---------------------------------------------------------------------------------------
// ICMP

test('TTL 1: time exceeded from the gateway address, quoting the original datagram', () => {
  const l = lab();
  knowVm(l, 'vm1');
  for (const ttl of [1, 0]) {
    const orig = udpTo(SW, V1, VM1, XIP, { ttl }, 'expiring');
    l.send('vm1', orig);
    const out = l.sent();
    assert.deepEqual(Object.keys(out), ['vm1'], 'nothing forwarded');
    const f = Buffer.from(out.vm1[0], 'hex');
    assertIcmpError(f, { ethDst: V1, ethSrc: SW, src: GW, dst: VM1, type: 11, code: 0, quote: datagram(orig) });
  }
  // the whole frame, byte for byte (TOS 0xc0 as Linux, ID 0 + DF: an atomic datagram)
  const orig = udpTo(SW, V1, VM1, XIP, { ttl: 1 }, 'x');
  l.send('vm1', orig);
  assert.deepEqual(l.sent(), { vm1: [hex(ipFrame(V1, SW, { src: GW, dst: VM1, ttl: 64, proto: 1, tos: 0xc0, id: 0, payload: icmp(11, 0, [0, 0, 0, 0], datagram(orig)) }))] });
  // from the uplink: from the uplink address
  knowLan(l, X, XIP);
  const fromLan = udpTo(UP, X, XIP, VM1, { ttl: 1 });
  l.send('uplink', fromLan);
  const [f] = l.sentOn('uplink');
  assertIcmpError(f, { ethDst: X, ethSrc: UP, src: UPIP, dst: XIP, type: 11, code: 0, quote: datagram(fromLan) });
  whole(l);
});

test('no route: ICMP net unreachable from the gateway address', () => {
  const l = lab(config({}, { uplink: { port: 'uplink', address: `${UPIP}/24` } }));   // no default route
  knowVm(l, 'vm1');
  const orig = udpTo(SW, V1, VM1, '198.51.100.1');
  l.send('vm1', orig);
  const out = l.sentOn('vm1');
  assert.equal(out.length, 1);
  assertIcmpError(out[0], { ethDst: V1, ethSrc: SW, src: GW, dst: VM1, type: 3, code: 0, quote: datagram(orig) });
  whole(l);
});

test('DF and bigger than the egress MTU: fragmentation needed with the MTU; without DF: dropped, counted', () => {
  const l = lab(config({}, {}, { uplink: { afpacket: 'eth0', mtu: 1400 } }));
  knowVm(l, 'vm1');
  knowLan(l, X, XIP);
  const body = Array.from({ length: 1401 - 28 }, (_, i) => i & 255);
  const big = udpTo(SW, V1, VM1, XIP, {}, body);
  assert.equal(datagram(big).length, 1401);
  l.send('vm1', big);
  const out = l.sent();
  assert.deepEqual(Object.keys(out), ['vm1']);
  assertIcmpError(Buffer.from(out.vm1[0], 'hex'), {
    ethDst: V1, ethSrc: SW, src: GW, dst: VM1, type: 3, code: 4, mtu: 1400,
    quote: datagram(big).slice(0, 576 - 28),
  });
  l.send('vm1', udpTo(SW, V1, VM1, XIP, { df: false }, body));
  assert.deepEqual(l.sent(), {});
  assert.deepEqual(l.drops(), { 'ip4-needs-fragmentation': 1 });
  // exactly the MTU passes
  const fits = udpTo(SW, V1, VM1, XIP, {}, body.slice(1));
  l.send('vm1', fits);
  assert.deepEqual(l.sent(), { uplink: [hex(udpTo(X, UP, VM1, XIP, { ttl: 63 }, body.slice(1)))] });
  whole(l);
});

test('echo request to the gateway (and to the uplink address): echo reply', () => {
  const l = lab();
  knowVm(l, 'vm1');
  const data = 'abcdefghijklmnopqrstuvwabcdefghi';
  l.send('vm1', ipFrame(SW, V1, { src: VM1, dst: GW, proto: 1, id: 0x4711, payload: icmpEcho(8, 0x4242, 7, data) }));
  assert.deepEqual(l.sent(), { vm1: [hex(ipFrame(V1, SW, { src: GW, dst: VM1, proto: 1, ttl: 64, id: 0x4711, payload: icmpEcho(0, 0x4242, 7, data) }))] });
  knowLan(l, X, XIP);
  l.send('uplink', ipFrame(UP, X, { src: XIP, dst: UPIP, proto: 1, ttl: 3, df: false, payload: icmpEcho(8, 1, 1) }));
  assert.deepEqual(l.sent(), { uplink: [hex(ipFrame(X, UP, { src: UPIP, dst: XIP, proto: 1, ttl: 64, df: false, payload: icmpEcho(0, 1, 1) }))] });
  assert.equal(l.counters()['echo-replies'], 2);
  whole(l);
});

test('UDP or TCP to the gateway: port unreachable; other protocols dropped', () => {
  const l = lab();
  knowVm(l, 'vm1');
  const orig = udpTo(SW, V1, VM1, GW, {}, 'dns?');
  l.send('vm1', orig);
  const [f] = l.sentOn('vm1');
  assertIcmpError(f, { ethDst: V1, ethSrc: SW, src: GW, dst: VM1, type: 3, code: 3, quote: datagram(orig) });
  const tcp = ipFrame(SW, V1, { src: VM1, dst: GW, proto: 6, payload: [0x9c, 0x40, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0] });
  l.send('vm1', tcp);
  assert.equal(l.sentOn('vm1')[0][34], 3);
  l.send('vm1', ipFrame(SW, V1, { src: VM1, dst: GW, proto: 47, payload: [0, 0, 8, 0] }));
  assert.deepEqual(l.sent(), {});
  assert.deepEqual(l.drops(), { 'local-unsupported': 1 });
  whole(l);
});

test('no ICMP error about an ICMP error (but one about an expiring echo request)', () => {
  const l = lab();
  knowVm(l, 'vm1');
  const quoted = ipv4({ src: XIP, dst: VM1, payload: udp(1, 2) });
  const err = ipFrame(SW, V1, { src: VM1, dst: XIP, proto: 1, ttl: 1, payload: icmp(3, 3, [0, 0, 0, 0], quoted) });
  l.send('vm1', err);
  assert.deepEqual(l.sent(), {});
  assert.deepEqual(l.drops(), { 'icmp-suppressed': 1 });
  const noRoute = lab(config({}, { uplink: { port: 'uplink', address: `${UPIP}/24` } }));
  knowVm(noRoute, 'vm1');
  noRoute.send('vm1', ipFrame(SW, V1, { src: VM1, dst: '198.51.100.1', proto: 1, payload: icmp(11, 0, [0, 0, 0, 0], quoted) }));
  assert.deepEqual(noRoute.sent(), {});
  assert.deepEqual(noRoute.drops(), { 'icmp-suppressed': 1 });
  // a non-initial fragment gets no error either
  l.send('vm1', udpTo(SW, V1, VM1, XIP, { ttl: 1, df: false, fragOffset: 100 }));
  assert.deepEqual(l.sent(), {});
  assert.deepEqual(l.drops(), { 'icmp-suppressed': 2 });
  const echo = ipFrame(SW, V1, { src: VM1, dst: XIP, proto: 1, ttl: 1, payload: icmpEcho(8, 9, 9) });
  l.send('vm1', echo);
  const [f] = l.sentOn('vm1');
  assertIcmpError(f, { ethDst: V1, ethSrc: SW, src: GW, dst: VM1, type: 11, code: 0, quote: datagram(echo) });
  whole(l);
  whole(noRoute);
});

test('ICMP errors are rate-limited: a burst of 100, then icmp-rate-limited, refilled at 1000/s', () => {
  const l = lab();
  knowVm(l, 'vm1');
  const ttl1 = udpTo(SW, V1, VM1, XIP, { ttl: 1 });
  l.send('vm1', ...Array.from({ length: 150 }, () => ttl1));
  assert.equal(l.sentOn('vm1').length, 100);
  assert.deepEqual(l.drops(), { 'icmp-rate-limited': 50 });
  l.clock.advance(0.05);                       // 50 tokens
  l.send('vm1', ...Array.from({ length: 60 }, () => ttl1));
  assert.equal(l.sentOn('vm1').length, 50);
  assert.deepEqual(l.drops(), { 'icmp-rate-limited': 60 });
  whole(l);
});

// ---------------------------------------------------------------------------------------
// Input checks

test('input checks: bad checksum, martian and spoofed sources, other MACs, L2 broadcast — dropped and counted', () => {
  const l = lab();
  knowVm(l, 'vm1');
  knowLan(l, X, XIP);
  const badSum = udpTo(UP, X, XIP, VM1); badSum[24] ^= 0x55;
  l.send('uplink', badSum);
  for (const src of ['127.0.0.1', '0.1.2.3', '224.0.0.5', '240.0.0.1']) l.send('uplink', udpTo(UP, X, src, VM1));
  l.send('uplink', udpTo('02:00:00:00:00:99', X, XIP, VM1));
  l.send('uplink', udpTo(BCAST, X, XIP, VM1), udpTo('01:00:5e:00:00:01', X, XIP, '224.0.0.1'));
  l.send('vm1', udpTo(SW, V1, VM2, XIP), udpTo(SW, V1, '10.9.9.9', XIP), udpTo(SW, V1, XIP, GW));
  // a VLAN-tagged frame on a routed port
  l.send('vm1', eth({ dst: SW, src: V1, vlan: [5], type: 0x0800, payload: ipv4({ src: VM1, dst: XIP, payload: udp(1, 2) }) }));
  assert.deepEqual(l.sent(), {});
  assert.deepEqual(l.portDrops('uplink'), { 'ip4-bad-checksum': 1, 'ip4-martian-source': 4, 'not-for-us': 1, 'ip4-l2-broadcast': 2 });
  assert.deepEqual(l.portDrops('vm1'), { 'spoofed-source': 3, 'unknown-ethertype': 1 });
  // and forwarding goes on
  l.send('vm1', udpTo(SW, V1, VM1, XIP));
  assert.equal(l.sentOn('uplink').length, 1);
  whole(l);
});

test('martian destinations are never forwarded, even to the switch MAC (RFC 1812 5.3.5.1, 5.3.7)', () => {
  const l = lab();
  knowVm(l, 'vm1');
  for (const d of ['255.255.255.255', '224.0.0.251', '239.1.2.3', '240.0.0.1', '127.0.0.1', '0.0.0.7']) l.send('vm1', udpTo(SW, V1, VM1, d));
  assert.deepEqual(l.sent(), {}, 'not routed to the default gateway, no ARP, no ICMP');
  assert.deepEqual(l.portDrops('vm1'), { 'ip4-martian-destination': 6 });
  whole(l);
});

test('IP options and fragments are forwarded, not dropped', () => {
  const l = lab();
  knowVm(l, 'vm1');
  knowLan(l, X, XIP);
  const rr = [7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0];            // record route, room for two
  const nop = [1, 1, 1, 0];
  const cases: Partial<Ipv4Opts>[] = [
    { options: rr }, { options: nop },
    { df: false, mf: true, id: 77 },                          // first fragment
    { df: false, mf: true, fragOffset: 185, id: 77 },          // middle
    { df: false, fragOffset: 370, id: 77 },                    // last
  ];
  for (const c of cases) {
    l.send('uplink', udpTo(UP, X, XIP, VM1, c, 'fragment-or-options'));
    const [f] = l.sentOn('vm1');
    assert.ok(f, JSON.stringify(c));
    assert.equal(hex(f), hex(udpTo(V1, SW, XIP, VM1, { ...c, ttl: 63 }, 'fragment-or-options')), JSON.stringify(c));
    const hl = (f[14] & 15) * 4;
    assert.equal(inetChecksum(f.subarray(14, 14 + hl)), 0);
  }
  assert.deepEqual(l.drops(), {});
  whole(l);
});

// ---------------------------------------------------------------------------------------
// Policy routing

test('policy routing: a rule by ingress port picks its table; no route there → main', () => {
  const l = lab(config({
    rules: [{ fromPort: 'vm1', table: 'tenant' }],
    tables: { tenant: [`10.60.0.0/16 via ${R2IP}`] },
  }));
  knowVm(l, 'vm1'); knowVm(l, 'vm2');
  knowLan(l, R, RIP); knowLan(l, R2, R2IP);
  l.send('vm1', udpTo(SW, V1, VM1, '10.60.1.1'));
  assert.deepEqual(l.sent(), { uplink: [hex(udpTo(R2, UP, VM1, '10.60.1.1', { ttl: 63 }))] }, 'vm1: table tenant');
  l.send('vm2', udpTo(SW, V2, VM2, '10.60.1.1'));
  assert.deepEqual(l.sent(), { uplink: [hex(udpTo(R, UP, VM2, '10.60.1.1', { ttl: 63 }))] }, 'vm2: main, default route');
  l.send('vm1', udpTo(SW, V1, VM1, '8.8.8.8'));
  assert.deepEqual(l.sent(), { uplink: [hex(udpTo(R, UP, VM1, '8.8.8.8', { ttl: 63 }))] }, 'vm1: nothing in tenant → main');
  // the network's VMs stay reachable from a port whose table does not list them
  l.send('vm1', udpTo(SW, V1, VM1, VM2));
  assert.deepEqual(l.sent(), { vm2: [hex(udpTo(V2, SW, VM1, VM2, { ttl: 63 }))] });
  whole(l);
});

test('seed 004: main has no default, the rule table does; errors to the VM still find it', () => {
  const l = lab(config({
    rules: [{ fromPort: 'vm1', table: 'sdn' }],
    tables: { sdn: [`default via ${R2IP}`] },
    routes: [],
  }, { uplink: { port: 'uplink', address: `${UPIP}/24` } }));
  knowVm(l, 'vm1'); knowVm(l, 'vm2');
  knowLan(l, R2, R2IP);
  l.send('vm1', udpTo(SW, V1, VM1, '10.10.0.21'));
  assert.deepEqual(l.sent(), { uplink: [hex(udpTo(R2, UP, VM1, '10.10.0.21', { ttl: 63 }))] });
  const orig = udpTo(SW, V2, VM2, '10.10.0.21');
  l.send('vm2', orig);
  const [f] = l.sentOn('vm2');
  assertIcmpError(f, { ethDst: V2, ethSrc: SW, src: GW, dst: VM2, type: 3, code: 0, quote: datagram(orig) });
  whole(l);
});

test('harness sanity: VM ports use the switch MAC, the uplink its own; host routes installed', () => {
  const l = lab();
  assert.equal(l.dp.ip4.macHi[l.id('vm1')] * 2 ** 32 + l.dp.ip4.macLo[l.id('vm1')], parseInt(SW.replace(/:/g, ''), 16));
  assert.equal(l.dp.ip4.macHi[l.id('uplink')] * 2 ** 32 + l.dp.ip4.macLo[l.id('uplink')], parseInt(UP.replace(/:/g, ''), 16));
  assert.deepEqual(mac(UP), [2, 0, 0, 0, 0xff, 1]);
  assert.ok(l.routing.routes().some((r) => r.dst === VM1 && r.dev === 'vm1'));
});
