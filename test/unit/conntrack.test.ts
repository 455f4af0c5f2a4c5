// Connection tracking on a fake clock (plain second numbers): lookups both ways, RFC 4787
// endpoint-independent mapping, port preservation, collisions and exhaustion, no overloading,
// the TCP state machine (open, close, RST, simultaneous open, reuse), the timeouts of every
// class, the bound (closed, then embryonic flows evicted; established kept), forwards,
// hairpinning, and randomized operations against a Map-based reference model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conntrack, CtState, ctStateName, type ConntrackEntry, type ConntrackTimeouts } from '../../src/tables/conntrack.ts';

const ICMP = 1, TCP = 6, UDP = 17;
const F = { fin: 0x01, syn: 0x02, rst: 0x04, ack: 0x10 } as const;
const SYN = F.syn, SYNACK = F.syn | F.ack, ACK = F.ack, FINACK = F.fin | F.ack, RST = F.rst;
const IN = (d: number): number => (0x0a000000 + d) >>> 0; // 10.0.0.d
const OUT = (d: number): number => (0xcb007100 + d) >>> 0; // 203.0.113.d
const EXT = 0xc6336401; // 198.51.100.1

test('a flow is found from inside by its original tuple and from outside by its reply tuple', () => {
  const ct = new Conntrack({ maxEntries: 16, externalIp: EXT });
  assert.equal(ct.lookupOut(UDP, IN(2), 5000, OUT(9), 53), -1);
  const f = ct.createOut(UDP, IN(2), 5000, OUT(9), 53, 100);
  assert.ok(f >= 0);
  assert.equal(ct.size, 1);
  assert.equal(ct.created, 1);
  assert.equal(ct.lookupOut(UDP, IN(2), 5000, OUT(9), 53), f);
  assert.equal(ct.extPort(f), 5000, 'the source port kept');
  assert.equal(ct.lookupIn(UDP, OUT(9), 53, 5000), f);
  assert.equal(ct.insideIp(f), IN(2));
  assert.equal(ct.insidePort(f), 5000);
  assert.equal(ct.remoteIp(f), OUT(9));
  assert.equal(ct.remotePort(f), 53);
  assert.equal(ct.proto(f), UDP);
  assert.equal(ct.state(f), CtState.unreplied);
  assert.equal(ct.fromOutside(f), false);
  // every part of the tuple counts
  assert.equal(ct.lookupOut(TCP, IN(2), 5000, OUT(9), 53), -1);
  assert.equal(ct.lookupOut(UDP, IN(3), 5000, OUT(9), 53), -1);
  assert.equal(ct.lookupOut(UDP, IN(2), 5001, OUT(9), 53), -1);
  assert.equal(ct.lookupOut(UDP, IN(2), 5000, OUT(8), 53), -1);
  assert.equal(ct.lookupOut(UDP, IN(2), 5000, OUT(9), 54), -1);
  assert.equal(ct.lookupIn(UDP, OUT(9), 54, 5000), -1, 'address-and-port-dependent filtering');
  assert.equal(ct.lookupIn(UDP, OUT(8), 53, 5000), -1);
  assert.equal(ct.lookupIn(TCP, OUT(9), 53, 5000), -1);
  // int32 or uint32 addresses are the same address
  assert.equal(ct.lookupIn(UDP, OUT(9) | 0, 53, 5000), f);
  assert.equal(ct.createOut(UDP, IN(2), 5000, OUT(9), 53, 101), f, 'createOut of an existing tuple returns it');
  assert.equal(ct.size, 1);
  const [e] = ct.entries(100);
  assert.deepEqual(e, {
    proto: UDP, state: 'UNREPLIED', insideIp: IN(2), insidePort: 5000, remoteIp: OUT(9), remotePort: 53,
    extIp: EXT, extPort: 5000, expiresIn: 300, packets: 0, origin: 'inside',
  } satisfies ConntrackEntry);
});

test('endpoint-independent mapping: one inside endpoint keeps its external port for every destination', () => {
  const ct = new Conntrack({ maxEntries: 16 });
  ct.createOut(UDP, IN(1), 4000, OUT(1), 1000, 0); // takes 4000 first
  const a = ct.createOut(UDP, IN(2), 4000, OUT(1), 53, 0);
  const b = ct.createOut(UDP, IN(2), 4000, OUT(2), 123, 0);
  const c = ct.createOut(UDP, IN(2), 4000, OUT(3), 9999, 0);
  assert.notEqual(ct.extPort(a), 4000);
  assert.equal(ct.extPort(b), ct.extPort(a));
  assert.equal(ct.extPort(c), ct.extPort(a));
  assert.equal(ct.mappings, 2);
  // the mapping outlives any one flow: it goes with the last
  ct.touch(a, true, 200); ct.touch(b, true, 200);
  assert.equal(ct.expire(350), 2, 'the first flow and the other host\'s');
  assert.equal(ct.lookupOut(UDP, IN(2), 4000, OUT(3), 9999), -1);
  const d = ct.createOut(UDP, IN(2), 4000, OUT(4), 7, 360);
  assert.equal(ct.extPort(d), ct.extPort(a), 'still mapped while flows a and b live');
  ct.expire(1000);
  assert.equal(ct.size, 0);
  assert.equal(ct.mappings, 0);
  const e = ct.createOut(UDP, IN(2), 4000, OUT(4), 7, 1000);
  assert.equal(ct.extPort(e), 4000, 'a fresh mapping keeps the source port now free');
});

test('port preservation, collisions and no overloading', () => {
  const ct = new Conntrack({ maxEntries: 64 });
  const a = ct.createOut(TCP, IN(1), 40000, OUT(1), 80, 0);
  const b = ct.createOut(TCP, IN(2), 40000, OUT(1), 80, 0);
  const c = ct.createOut(TCP, IN(3), 40000, OUT(1), 80, 0);
  const u = ct.createOut(UDP, IN(2), 40000, OUT(1), 80, 0);
  assert.equal(ct.extPort(a), 40000);
  assert.equal(ct.extPort(b), 40001, 'the next free port');
  assert.equal(ct.extPort(c), 40002);
  assert.equal(ct.extPort(u), 40000, 'ports are per protocol');
  // the same remote reaches each inside host through its own port only
  assert.equal(ct.lookupIn(TCP, OUT(1), 80, 40000), a);
  assert.equal(ct.lookupIn(TCP, OUT(1), 80, 40001), b);
  assert.equal(ct.lookupIn(TCP, OUT(1), 80, 40002), c);
  assert.equal(ct.lookupIn(UDP, OUT(1), 80, 40000), u);
  // a port taken by another host is skipped even for a different destination
  const d = ct.createOut(TCP, IN(4), 40001, OUT(7), 443, 0);
  assert.equal(ct.extPort(d), 40003);
  // source ports outside the range are mapped into it
  const e = ct.createOut(TCP, IN(5), 80, OUT(7), 443, 0);
  assert.equal(ct.extPort(e), 1024 + 80);
  const g = ct.createOut(TCP, IN(5), 65535, OUT(7), 443, 0);
  assert.equal(ct.extPort(g), 65535);
  const h = ct.createOut(TCP, IN(6), 65535, OUT(7), 443, 0);
  assert.equal(ct.extPort(h), 1024, 'the search wraps around');
  // every external port has exactly one inside endpoint
  const owners = new Map<string, string>();
  for (const x of ct.entries()) {
    const k = `${x.proto}/${x.extPort}`, v = `${x.insideIp}:${x.insidePort}`;
    assert.equal(owners.get(k) ?? v, v);
    owners.set(k, v);
  }
});

test('port exhaustion: a tiny range runs out, counted; ports come back when mappings go', () => {
  const ct = new Conntrack({ maxEntries: 64, portMin: 2000, portMax: 2002 });
  const fs = [1, 2, 3].map((i) => ct.createOut(UDP, IN(i), 2000, OUT(1), 53, 0));
  assert.deepEqual(fs.map((f) => ct.extPort(f)).sort(), [2000, 2001, 2002]);
  assert.equal(ct.createOut(UDP, IN(4), 2000, OUT(1), 53, 0), -1);
  assert.equal(ct.noPort, 1);
  // existing mappings still make new flows
  assert.ok(ct.createOut(UDP, IN(1), 2000, OUT(2), 53, 0) >= 0);
  // other protocols have their own ports
  assert.ok(ct.createOut(TCP, IN(4), 2000, OUT(1), 53, 0) >= 0);
  assert.equal(ct.createOut(ICMP, IN(4), 7, OUT(1), 7, 0) >= 0, true);
  assert.equal(ct.size, 6);
  ct.touch(fs[0], true, 100);
  ct.expire(300); // the flows of IN(2) and IN(3) go, IN(1) has two live ones
  assert.equal(ct.createOut(UDP, IN(4), 2000, OUT(1), 53, 300) >= 0, true);
  assert.equal(ct.createOut(UDP, IN(5), 2000, OUT(1), 53, 300) >= 0, true);
  assert.equal(ct.createOut(UDP, IN(6), 2000, OUT(1), 53, 300), -1);
  assert.equal(ct.noPort, 2);
  assert.equal(ct.mappings, 3, 'udp 3; the TCP and ICMP flows expired too');
});

test('ICMP echo flows are keyed by identifier', () => {
  const ct = new Conntrack({ maxEntries: 16, portMin: 1, portMax: 65535 });
  const a = ct.createOut(ICMP, IN(1), 77, OUT(1), 77, 0);
  const b = ct.createOut(ICMP, IN(2), 77, OUT(1), 77, 0);
  assert.equal(ct.extPort(a), 77);
  assert.equal(ct.extPort(b), 78);
  // the reply carries only the mapped identifier: the remote "port" is ignored
  assert.equal(ct.lookupIn(ICMP, OUT(1), 0, 78), b);
  assert.equal(ct.lookupIn(ICMP, OUT(1), 78, 78), b);
  assert.equal(ct.lookupIn(ICMP, OUT(2), 78, 78), -1);
  assert.equal(ct.lookupOut(ICMP, IN(2), 77, OUT(1), 12345), b);
  assert.equal(ct.state(b), CtState.unreplied);
  ct.touch(b, false, 1);
  assert.equal(ct.state(b), CtState.replied);
  assert.equal(ct.packets(b), 1);
});

test('TCP: a normal open and close, then TIME_WAIT and the tuple reused', () => {
  const ct = new Conntrack({ maxEntries: 16 });
  const f = ct.createOut(TCP, IN(1), 33000, OUT(1), 443, 0);
  const st = (): string => ctStateName(ct.state(f));
  ct.tcp(f, true, SYN, 0); assert.equal(st(), 'SYN_SENT');
  ct.tcp(f, true, SYN, 1); assert.equal(st(), 'SYN_SENT', 'a retransmitted SYN');
  ct.tcp(f, false, SYNACK, 1); assert.equal(st(), 'SYN_RECV');
  ct.tcp(f, true, ACK, 1); assert.equal(st(), 'ESTABLISHED');
  assert.equal(ct.expires(f), 1 + 7440);
  ct.tcp(f, false, ACK | 0x08, 2); assert.equal(st(), 'ESTABLISHED');
  ct.tcp(f, true, SYN, 2); assert.equal(st(), 'ESTABLISHED', 'a stray SYN changes nothing');
  ct.tcp(f, true, FINACK, 3); assert.equal(st(), 'FIN_WAIT');
  assert.equal(ct.expires(f), 3 + 240);
  ct.tcp(f, true, ACK, 3); assert.equal(st(), 'FIN_WAIT', 'the closer\'s own ACKs');
  ct.tcp(f, false, ACK, 3); assert.equal(st(), 'CLOSE_WAIT');
  ct.tcp(f, false, ACK, 4); assert.equal(st(), 'CLOSE_WAIT', 'the other side still sends');
  ct.tcp(f, false, FINACK, 5); assert.equal(st(), 'LAST_ACK');
  ct.tcp(f, false, ACK, 5); assert.equal(st(), 'LAST_ACK', 'not the closer');
  ct.tcp(f, true, ACK, 5); assert.equal(st(), 'TIME_WAIT');
  assert.equal(ct.expires(f), 5 + 240);
  ct.tcp(f, true, SYN, 20); assert.equal(st(), 'SYN_SENT', 'a new connection on the same tuple');
  assert.equal(ct.packets(f), 14);
});

test('TCP: the remote closes first; FIN both ways at once; RST; simultaneous open', () => {
  const ct = new Conntrack({ maxEntries: 16 });
  const open = (port: number): number => {
    const f = ct.createOut(TCP, IN(1), port, OUT(1), 80, 0);
    ct.tcp(f, true, SYN, 0); ct.tcp(f, false, SYNACK, 0); ct.tcp(f, true, ACK, 0);
    assert.equal(ct.state(f), CtState.established);
    return f;
  };
  let f = open(1);
  ct.tcp(f, false, FINACK, 1); assert.equal(ct.state(f), CtState.finWait);
  ct.tcp(f, false, ACK, 1); assert.equal(ct.state(f), CtState.finWait);
  ct.tcp(f, true, ACK, 1); assert.equal(ct.state(f), CtState.closeWait);
  ct.tcp(f, true, FINACK, 2); assert.equal(ct.state(f), CtState.lastAck);
  ct.tcp(f, false, ACK, 2); assert.equal(ct.state(f), CtState.timeWait);

  f = open(2);
  ct.tcp(f, true, FINACK, 1); ct.tcp(f, false, FINACK, 1);
  assert.equal(ct.state(f), CtState.lastAck);
  ct.tcp(f, true, ACK, 1); assert.equal(ct.state(f), CtState.timeWait);

  f = open(3);
  ct.tcp(f, false, RST, 50); assert.equal(ct.state(f), CtState.close);
  assert.equal(ct.expires(f), 50 + 10);
  ct.tcp(f, false, ACK, 51); assert.equal(ct.state(f), CtState.close);
  ct.tcp(f, true, SYN, 55); assert.equal(ct.state(f), CtState.synSent, 'reopened');

  // a refused connection
  f = ct.createOut(TCP, IN(1), 4, OUT(1), 80, 0);
  ct.tcp(f, true, SYN, 0); ct.tcp(f, false, RST | F.ack, 0);
  assert.equal(ct.state(f), CtState.close);

  // simultaneous open: SYN both ways, SYN/ACK both ways, ACK
  f = ct.createOut(TCP, IN(1), 5, OUT(1), 80, 0);
  ct.tcp(f, true, SYN, 0);
  ct.tcp(f, false, SYN, 0); assert.equal(ct.state(f), CtState.synRecv);
  ct.tcp(f, true, SYNACK, 0); assert.equal(ct.state(f), CtState.synRecv);
  ct.tcp(f, false, SYNACK, 0); assert.equal(ct.state(f), CtState.synRecv);
  ct.tcp(f, false, ACK, 0); assert.equal(ct.state(f), CtState.established, 'either side\'s ACK completes it');

  // without a simultaneous open only the initiator's ACK completes the handshake
  f = ct.createOut(TCP, IN(1), 6, OUT(1), 80, 0);
  ct.tcp(f, true, SYN, 0); ct.tcp(f, false, SYNACK, 0);
  ct.tcp(f, false, ACK, 0); assert.equal(ct.state(f), CtState.synRecv);
  ct.tcp(f, true, ACK, 0); assert.equal(ct.state(f), CtState.established);
  // touch() on TCP refreshes only
  ct.touch(f, false, 9);
  assert.equal(ct.state(f), CtState.established);
  assert.equal(ct.expires(f), 9 + 7440);
  // tcp() on a UDP flow does nothing
  const u = ct.createOut(UDP, IN(1), 7, OUT(1), 80, 0);
  ct.tcp(u, true, RST, 1);
  assert.equal(ct.state(u), CtState.unreplied);
  assert.equal(ct.expires(u), 300);
});

test('timeouts on a fake clock: UDP 300, ICMP 60, TCP established 7440, transitory 240, close 10', () => {
  const ct = new Conntrack({ maxEntries: 64 });
  const udp = ct.createOut(UDP, IN(1), 1, OUT(1), 1, 1000);
  ct.createOut(ICMP, IN(1), 1, OUT(1), 1, 1000);
  const syn = ct.createOut(TCP, IN(1), 1, OUT(1), 1, 1000);
  ct.tcp(syn, true, SYN, 1000);
  const est = ct.createOut(TCP, IN(1), 2, OUT(1), 1, 1000);
  ct.tcp(est, true, SYN, 1000); ct.tcp(est, false, SYNACK, 1000); ct.tcp(est, true, ACK, 1000);
  const rst = ct.createOut(TCP, IN(1), 3, OUT(1), 1, 1000);
  ct.tcp(rst, true, RST, 1000);
  const alive = (): string => ct.entries().map((e) => `${e.proto}/${e.insidePort}`).sort().join(' ');
  assert.equal(ct.expire(1009), 0);
  assert.equal(ct.expire(1010), 1); // CLOSE
  assert.equal(ct.expire(1059), 0);
  assert.equal(ct.expire(1060), 1); // ICMP
  ct.touch(udp, true, 1100); // refreshed to 1400
  assert.equal(ct.expire(1239), 0);
  assert.equal(ct.expire(1240), 1); // SYN_SENT
  assert.equal(alive(), '17/1 6/2');
  assert.equal(ct.expire(1399), 0);
  assert.equal(ct.expire(1400), 1);
  ct.touch(est, false, 2000); // inbound refreshes too
  assert.equal(ct.expire(2000 + 7439), 0);
  assert.equal(ct.expire(2000 + 7440), 1);
  assert.equal(ct.size, 0);
  assert.equal(ct.expired, 5);
  assert.equal(ct.mappings, 0);

  const short = new Conntrack({ maxEntries: 8, timeouts: { udp: 5, icmp: 2, tcpEstablished: 50, tcpTransitory: 7, tcpClose: 1 } });
  assert.equal(short.timeouts.udp, 5);
  const a = short.createOut(UDP, IN(1), 1, OUT(1), 1, 0);
  const b = short.createOut(ICMP, IN(1), 1, OUT(1), 1, 0);
  const c = short.createOut(TCP, IN(1), 1, OUT(1), 1, 0);
  assert.deepEqual([a, b, c].map((f) => short.expires(f)), [5, 2, 7]);
  short.tcp(c, true, SYN, 0); short.tcp(c, false, SYNACK, 0); short.tcp(c, true, ACK, 0);
  assert.equal(short.expires(c), 50);
  short.tcp(c, true, RST, 1);
  assert.equal(short.expires(c), 2);
  assert.throws(() => new Conntrack({ maxEntries: 8, timeouts: { udp: 0 } }), RangeError);
  assert.throws(() => new Conntrack({ maxEntries: 0 }), RangeError);
  assert.throws(() => new Conntrack({ maxEntries: 8, portMin: 10, portMax: 9 }), RangeError);
});

test('the bound: closed flows go first, then embryonic ones, oldest first; established flows stay', () => {
  const ct = new Conntrack({ maxEntries: 6 });
  const est = (port: number, now: number): number => {
    const f = ct.createOut(TCP, IN(1), port, OUT(1), 80, now);
    ct.tcp(f, true, SYN, now); ct.tcp(f, false, SYNACK, now); ct.tcp(f, true, ACK, now);
    return f;
  };
  est(1, 0); est(2, 0);
  const replied = ct.createOut(UDP, IN(1), 3, OUT(1), 53, 0);
  ct.touch(replied, false, 0);
  ct.createOut(UDP, IN(1), 4, OUT(1), 53, 1); // unreplied
  const synSent = ct.createOut(TCP, IN(1), 5, OUT(1), 80, 2);
  ct.tcp(synSent, true, SYN, 2);
  const closed = est(6, 3);
  ct.tcp(closed, true, FINACK, 3); ct.tcp(closed, false, FINACK, 3); ct.tcp(closed, true, ACK, 3);
  assert.equal(ct.state(closed), CtState.timeWait);
  assert.equal(ct.size, 6);

  const n1 = ct.createOut(UDP, IN(2), 1, OUT(1), 53, 10);
  assert.ok(n1 >= 0);
  assert.equal(ct.evicted, 1);
  assert.equal(ct.lookupOut(TCP, IN(1), 6, OUT(1), 80), -1, 'the TIME_WAIT flow went first, though younger');
  const n2 = ct.createOut(UDP, IN(2), 2, OUT(1), 53, 11);
  assert.ok(n2 >= 0);
  assert.equal(ct.lookupOut(UDP, IN(1), 4, OUT(1), 53), -1, 'then the oldest embryonic: the unreplied UDP');
  const n3 = ct.createOut(UDP, IN(2), 3, OUT(1), 53, 12);
  assert.ok(n3 >= 0);
  assert.equal(ct.lookupOut(TCP, IN(1), 5, OUT(1), 80), -1, 'then the SYN_SENT');
  // now: 2 established, 1 replied, 3 new unreplied: the new ones are evicted among themselves
  assert.ok(ct.createOut(UDP, IN(2), 4, OUT(1), 53, 13) >= 0);
  assert.equal(ct.lookupOut(UDP, IN(2), 1, OUT(1), 53), -1);
  ct.touch(n2, false, 13); ct.touch(n3, false, 13);
  ct.touch(ct.lookupOut(UDP, IN(2), 4, OUT(1), 53), false, 13);
  // all six saw both directions: nothing may go
  assert.equal(ct.createOut(UDP, IN(3), 1, OUT(1), 53, 14), -1);
  assert.equal(ct.full, 1);
  assert.equal(ct.evicted, 4);
  assert.equal(ct.size, 6);
  assert.deepEqual(ct.entries().map((e) => e.state).sort(), ['ESTABLISHED', 'ESTABLISHED', 'REPLIED', 'REPLIED', 'REPLIED', 'REPLIED']);
  assert.equal(ct.lookupOut(TCP, IN(1), 1, OUT(1), 80) >= 0, true, 'established flows keep working');
});

test('forwards: createIn only through a forward; the forward is the endpoint\'s mapping outbound too', () => {
  const ct = new Conntrack({ maxEntries: 16 });
  assert.equal(ct.createIn(TCP, OUT(1), 50000, 2222, 0), -1, 'unsolicited, not forwarded');
  ct.addForward(TCP, 2222, IN(10), 22);
  ct.addForward(UDP, 5353, IN(11), 53);
  assert.equal(ct.mappings, 2);
  assert.equal(ct.createIn(UDP, OUT(1), 50000, 2222, 0), -1, 'per protocol');
  const f = ct.createIn(TCP, OUT(1), 50000, 2222, 0);
  assert.ok(f >= 0);
  assert.equal(ct.createIn(TCP, OUT(1), 50000, 2222, 0), f);
  assert.equal(ct.fromOutside(f), true);
  assert.equal(ct.insideIp(f), IN(10));
  assert.equal(ct.insidePort(f), 22);
  assert.equal(ct.extPort(f), 2222);
  assert.equal(ct.lookupIn(TCP, OUT(1), 50000, 2222), f);
  assert.equal(ct.lookupOut(TCP, IN(10), 22, OUT(1), 50000), f, 'the server\'s replies');
  // the state machine sees the outside as the initiator
  ct.tcp(f, false, SYN, 0); ct.tcp(f, true, SYNACK, 0);
  assert.equal(ct.state(f), CtState.synRecv);
  ct.tcp(f, false, ACK, 0);
  assert.equal(ct.state(f), CtState.established);
  const u = ct.createIn(UDP, OUT(2), 999, 5353, 0);
  ct.touch(u, false, 1);
  assert.equal(ct.state(u), CtState.unreplied, 'the initiator is outside');
  ct.touch(u, true, 1);
  assert.equal(ct.state(u), CtState.replied);
  // the forwarded endpoint's own outbound flows use the forward's port
  const o = ct.createOut(UDP, IN(11), 53, OUT(3), 53, 2);
  assert.equal(ct.extPort(o), 5353);
  assert.deepEqual(ct.forwards().map((x) => `${x.proto} ${x.extPort} ${x.insideIp}:${x.insidePort} ${x.flows}`).sort(),
    [`17 5353 ${IN(11)}:53 2`, `6 2222 ${IN(10)}:22 1`]);
  // forwarded ports are never handed to dynamic mappings
  const d = ct.createOut(TCP, IN(1), 2222, OUT(1), 80, 2);
  assert.equal(ct.extPort(d), 2223);
  assert.throws(() => ct.addForward(TCP, 2222, IN(12), 22), RangeError);
  ct.addForward(TCP, 2222, IN(10), 22); // the same again: no change
  // removing a forward keeps its flows until they end; new ones are refused
  assert.equal(ct.removeForward(TCP, 2222), true);
  assert.equal(ct.removeForward(TCP, 2222), false);
  assert.equal(ct.lookupIn(TCP, OUT(1), 50000, 2222), f);
  assert.equal(ct.createIn(TCP, OUT(9), 1, 2222, 3), -1);
  ct.tcp(f, false, RST, 3);
  ct.expire(13);
  assert.equal(ct.lookupIn(TCP, OUT(1), 50000, 2222), -1);
  assert.equal(ct.mappings, 2, 'the udp forward and the tcp dynamic mapping');
  const again = ct.createOut(TCP, IN(5), 2222, OUT(1), 80, 14);
  assert.equal(ct.extPort(again), 2222, 'the port is free again');
});

test('a forward takes its port from a dynamic mapping of another host; one of the same host becomes static', () => {
  const ct = new Conntrack({ maxEntries: 16 });
  ct.createOut(UDP, IN(1), 3000, OUT(1), 53, 0);
  ct.createOut(UDP, IN(1), 3000, OUT(2), 53, 0);
  const b = ct.createOut(UDP, IN(2), 4000, OUT(1), 53, 0);
  ct.addForward(UDP, 3000, IN(9), 9);
  assert.equal(ct.size, 1, 'the flows of the port\'s dynamic mapping went');
  assert.equal(ct.lookupOut(UDP, IN(1), 3000, OUT(1), 53), -1);
  assert.equal(ct.lookupOut(UDP, IN(2), 4000, OUT(1), 53), b);
  ct.addForward(UDP, 4000, IN(2), 4000);
  assert.equal(ct.lookupOut(UDP, IN(2), 4000, OUT(1), 53), b);
  ct.expire(1000);
  assert.equal(ct.size, 0);
  assert.equal(ct.mappings, 2, 'the adopted mapping stays as a forward');
  assert.ok(ct.createIn(UDP, OUT(5), 5, 4000, 1000) >= 0);
  // a forward to an endpoint that already has a dynamic mapping serves it once that goes
  const c = ct.createOut(TCP, IN(3), 7000, OUT(1), 80, 1000);
  ct.addForward(TCP, 8080, IN(3), 7000);
  assert.equal(ct.extPort(ct.createOut(TCP, IN(3), 7000, OUT(2), 80, 1000)), 7000);
  ct.tcp(c, true, RST, 1000);
  ct.expire(2000);
  assert.equal(ct.extPort(ct.createOut(TCP, IN(3), 7000, OUT(3), 80, 2000)), 8080);
});

test('hairpinning: two inside hosts reach each other through the external address', () => {
  const ct = new Conntrack({ maxEntries: 16, externalIp: EXT });
  // B (10.0.0.2:5000) has talked to A's external endpoint; A (10.0.0.1:6000) to B's
  const pa = ct.extPort(ct.createOut(UDP, IN(1), 6000, OUT(1), 3478, 0)); // A's mapping, via a STUN server
  const pb = ct.extPort(ct.createOut(UDP, IN(2), 5000, OUT(1), 3478, 0));
  const fb = ct.createOut(UDP, IN(2), 5000, EXT, pa, 1);
  // A sends to EXT:pb: translate the source with fa, then the destination with lookupIn
  const fa = ct.createOut(UDP, IN(1), 6000, EXT, pb, 2);
  assert.equal(ct.extPort(fa), pa);
  const g = ct.lookupIn(UDP, EXT, ct.extPort(fa), pb);
  assert.equal(g, fb);
  assert.equal(ct.insideIp(g), IN(2));
  assert.equal(ct.insidePort(g), 5000);
  ct.touch(fa, true, 2); ct.touch(g, false, 2);
  assert.equal(ct.state(fb), CtState.replied);
  // and back: B → EXT:pa
  assert.equal(ct.lookupOut(UDP, IN(2), 5000, EXT, pa), fb);
  assert.equal(ct.lookupIn(UDP, EXT, pb, pa), fa);
  // to a forwarded port: the second half is createIn
  ct.addForward(TCP, 2222, IN(3), 22);
  const t = ct.createOut(TCP, IN(1), 7000, EXT, 2222, 3);
  const s = ct.createIn(TCP, EXT, ct.extPort(t), 2222, 3);
  assert.ok(s >= 0);
  assert.equal(ct.lookupOut(TCP, IN(3), 22, EXT, ct.extPort(t)), s, 'the server\'s reply');
  assert.equal(ct.lookupIn(TCP, EXT, 2222, ct.extPort(t)), t, 'hairpinned back to the client');
});

test('the table grows to its bound and every flow stays reachable', () => {
  const N = 50000;
  const ct = new Conntrack({ maxEntries: N });
  for (let i = 0; i < N; i++) assert.ok(ct.createOut(UDP, IN(i & 255), 1024 + (i >> 8), OUT(i % 7), 53 + (i % 3), 0) >= 0);
  assert.equal(ct.size, N);
  for (let i = 0; i < N; i++) {
    const f = ct.lookupOut(UDP, IN(i & 255), 1024 + (i >> 8), OUT(i % 7), 53 + (i % 3));
    assert.ok(f >= 0);
    assert.equal(ct.lookupIn(UDP, OUT(i % 7), 53 + (i % 3), ct.extPort(f)), f);
  }
  // here every flow has its own mapping: 64 B of flow + 32 B of mapping + 792 KiB fixed
  assert.ok(ct.memoryBytes() / N < 140, `${ct.memoryBytes() / N} B per flow`);
  assert.equal(ct.expire(300), N);
  assert.equal(ct.mappings, 0);
});

// ---- randomized operations against a reference model ----

interface MFlow { proto: number; inIp: number; inPort: number; remIp: number; remPort: number; ext: number; state: number; out: boolean; finReply: boolean; simul: boolean; exp: number; seq: number; packets: number }
interface MBind { proto: number; ip: number; port: number; ext: number; refs: number; fwd: boolean; indexed: boolean }

/** The same contract, written plainly with Maps and scans. */
class Model {
  flows = new Map<string, MFlow>();
  byIn = new Map<string, MFlow>();
  eps = new Map<string, MBind>();
  owners = new Map<string, MBind>();
  fwds: MBind[] = [];
  seq = 0;
  c = { created: 0, expired: 0, evicted: 0, noPort: 0, full: 0, clash: 0 };
  readonly max: number;
  readonly lo: number;
  readonly hi: number;
  readonly t: ConntrackTimeouts;
  constructor(max: number, lo: number, hi: number, t: ConntrackTimeouts) { this.max = max; this.lo = lo; this.hi = hi; this.t = t; }
  static outKey(p: number, a: number, ap: number, b: number, bp: number): string { return `${p} ${a} ${ap} ${b} ${p === ICMP ? ap : bp}`; }
  static inKey(p: number, b: number, bp: number, ext: number): string { return `${p} ${b} ${p === ICMP ? 0 : bp} ${ext}`; }
  list(f: MFlow): number {
    const s = f.state;
    if (f.proto === TCP) return s === CtState.close ? 0 : s === CtState.lastAck || s === CtState.timeWait ? 1 : s <= CtState.synRecv ? 2 : s === CtState.established ? 6 : 5;
    return f.proto === UDP ? (s === CtState.unreplied ? 3 : 7) : (s === CtState.unreplied ? 4 : 8);
  }
  tmo(l: number): number { return [this.t.tcpClose, this.t.tcpTransitory, this.t.tcpTransitory, this.t.udp, this.t.icmp, this.t.tcpTransitory, this.t.tcpEstablished, this.t.udp, this.t.icmp][l]; }
  lookupOut(p: number, a: number, ap: number, b: number, bp: number): MFlow | undefined { return this.flows.get(Model.outKey(p, a, ap, b, bp)); }
  lookupIn(p: number, b: number, bp: number, ext: number): MFlow | undefined { return this.byIn.get(Model.inKey(p, b, bp, ext)); }
  evict(): boolean {
    for (const [a, z] of [[0, 2], [2, 5]]) {
      let best: MFlow | undefined, bestT = 0;
      for (let l = a; l < z; l++) {
        let head: MFlow | undefined;
        for (const f of this.flows.values()) if (this.list(f) === l && (!head || f.seq < head.seq)) head = f;
        if (head && (!best || head.exp - this.tmo(l) < bestT)) { best = head; bestT = head.exp - this.tmo(l); }
      }
      if (best) { this.remove(best); this.c.evicted++; return true; }
    }
    return false;
  }
  remove(f: MFlow): void {
    this.flows.delete(Model.outKey(f.proto, f.inIp, f.inPort, f.remIp, f.remPort));
    this.byIn.delete(Model.inKey(f.proto, f.remIp, f.remPort, f.ext));
    const b = this.owners.get(`${f.proto} ${f.ext}`)!;
    if (--b.refs === 0 && !b.fwd) this.release(b);
  }
  release(b: MBind): void {
    this.owners.delete(`${b.proto} ${b.ext}`);
    if (b.indexed) {
      this.eps.delete(`${b.proto} ${b.ip} ${b.port}`);
      const x = this.fwds.find((y) => y.proto === b.proto && y.ip === b.ip && y.port === b.port && !y.indexed);
      if (x) { x.indexed = true; this.eps.set(`${b.proto} ${b.ip} ${b.port}`, x); }
    }
  }
  addBind(p: number, ip: number, port: number, ext: number, fwd: boolean, index: boolean): MBind {
    const b: MBind = { proto: p, ip, port, ext, refs: 0, fwd, indexed: index };
    if (index) this.eps.set(`${p} ${ip} ${port}`, b);
    this.owners.set(`${p} ${ext}`, b);
    return b;
  }
  alloc(p: number, port: number): number {
    const span = this.hi - this.lo + 1;
    const start = port >= this.lo && port <= this.hi ? port : this.lo + (port % span);
    for (let k = 0; k < span; k++) {
      const x = start + k > this.hi ? start + k - span : start + k;
      if (!this.owners.has(`${p} ${x}`)) return x;
    }
    return -1;
  }
  insert(p: number, ip: number, port: number, rem: number, rport: number, b: MBind, out: boolean, now: number): MFlow {
    const f: MFlow = { proto: p, inIp: ip, inPort: port, remIp: rem, remPort: p === ICMP ? port : rport, ext: b.ext, state: p === TCP ? CtState.synSent : CtState.unreplied, out, finReply: false, simul: false, exp: 0, seq: ++this.seq, packets: 0 };
    f.exp = now + this.tmo(this.list(f));
    this.flows.set(Model.outKey(p, ip, port, rem, f.remPort), f);
    this.byIn.set(Model.inKey(p, rem, f.remPort, b.ext), f);
    b.refs++;
    this.c.created++;
    return f;
  }
  createOut(p: number, ip: number, port: number, rem: number, rport: number, now: number): MFlow | null {
    const e = this.lookupOut(p, ip, port, rem, rport);
    if (e) return e;
    if (this.flows.size >= this.max && !this.evict()) { this.c.full++; return null; }
    let b = this.eps.get(`${p} ${ip} ${port}`);
    if (!b) {
      const ext = this.alloc(p, port);
      if (ext < 0) { this.c.noPort++; return null; }
      b = this.addBind(p, ip, port, ext, false, true);
    }
    return this.insert(p, ip, port, rem, rport, b, false, now);
  }
  createIn(p: number, rem: number, rport: number, ext: number, now: number): MFlow | null {
    if (p === ICMP) return null;
    const b = this.owners.get(`${p} ${ext}`);
    if (!b || !b.fwd) return null;
    const e = this.lookupIn(p, rem, rport, ext);
    if (e) return e;
    if (this.lookupOut(p, b.ip, b.port, rem, rport)) { this.c.clash++; return null; }
    if (this.flows.size >= this.max && !this.evict()) { this.c.full++; return null; }
    return this.insert(p, b.ip, b.port, rem, rport, b, true, now);
  }
  addForward(p: number, ext: number, ip: number, port: number): string {
    const o = this.owners.get(`${p} ${ext}`);
    if (o) {
      const same = o.ip === ip && o.port === port;
      if (o.fwd) return same ? 'ok' : 'throw';
      if (same) { o.fwd = true; this.fwds.push(o); return 'ok'; }
      for (const f of [...this.flows.values()]) if (f.proto === p && f.ext === ext) this.remove(f);
    }
    this.fwds.push(this.addBind(p, ip, port, ext, true, !this.eps.has(`${p} ${ip} ${port}`)));
    return 'ok';
  }
  removeForward(p: number, ext: number): boolean {
    const b = this.owners.get(`${p} ${ext}`);
    if (!b || !b.fwd) return false;
    b.fwd = false;
    this.fwds.splice(this.fwds.indexOf(b), 1);
    if (b.refs === 0) this.release(b);
    return true;
  }
  setState(f: MFlow, s: number, now: number): void { f.state = s; f.exp = now + this.tmo(this.list(f)); f.seq = ++this.seq; }
  refresh(f: MFlow, now: number): void {
    const exp = now + this.tmo(this.list(f));
    if (exp !== f.exp) { f.exp = exp; f.seq = ++this.seq; }
  }
  tcp(f: MFlow, fromInside: boolean, flags: number, now: number): void {
    if (f.proto !== TCP) return;
    f.packets++;
    const orig = fromInside !== f.out;
    const closer = orig !== f.finReply; // sent the first FIN
    const S = CtState;
    let s = f.state;
    if (flags & F.rst) s = S.close;
    else if ((flags & F.syn) && (flags & F.ack)) { if (s === S.synSent && !orig) s = S.synRecv; }
    else if (flags & F.syn) {
      if (s === S.synSent && !orig) { s = S.synRecv; f.simul = true; }
      else if ((s === S.timeWait || s === S.close) && orig) { s = S.synSent; f.simul = false; f.finReply = false; }
    } else if (flags & F.fin) {
      if (s === S.established || s === S.synRecv) { s = S.finWait; f.finReply = !orig; }
      else if ((s === S.finWait || s === S.closeWait) && !closer) s = S.lastAck;
    } else if (flags & F.ack) {
      if (s === S.synRecv && (orig || f.simul)) s = S.established;
      else if (s === S.finWait && !closer) s = S.closeWait;
      else if (s === S.lastAck && closer) s = S.timeWait;
    }
    if (s !== f.state) this.setState(f, s, now); else this.refresh(f, now);
  }
  touch(f: MFlow, fromInside: boolean, now: number): void {
    f.packets++;
    if (f.state === CtState.unreplied && fromInside === f.out) this.setState(f, CtState.replied, now);
    else this.refresh(f, now);
  }
  expire(now: number): number {
    const due = [...this.flows.values()].filter((f) => f.exp <= now);
    for (const f of due) this.remove(f);
    this.c.expired += due.length;
    return due.length;
  }
  mappings(): number { return this.owners.size; }
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; let x = s ^ (s >>> 15); x = Math.imul(x, 0x2c1b3c6d); return ((x ^ (x >>> 12)) >>> 0) / 4294967296; };
}

test('randomized operations agree with a Map-based reference model', () => {
  const t: ConntrackTimeouts = { udp: 30, tcpEstablished: 100, tcpTransitory: 20, icmp: 10, tcpClose: 5 };
  for (let seed = 1; seed <= 25; seed++) {
    const r = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    const lo = 1000, hi = 1007, max = 12 + (seed % 4) * 8;
    const ct = new Conntrack({ maxEntries: max, portMin: lo, portMax: hi, timeouts: t });
    const m = new Model(max, lo, hi, t);
    const protos = [ICMP, TCP, UDP, UDP, TCP];
    const ins = [IN(1), IN(2), IN(3), 0xfffffffe];
    const rems = [OUT(1), OUT(2), 0x80000001, EXT];
    const sports = [999, 1000, 1001, 1005, 1007, 5000, 40000];
    const rports = [53, 80, 1000, 65535];
    const exts = [1000, 1001, 1003, 1007, 2222, 5353, 999];
    const flags = [SYN, SYN, SYNACK, ACK, ACK, ACK, FINACK, F.fin, RST, 0, SYN | F.fin];
    let now = 0;
    const ctx = (): string => `seed ${seed} now ${now}`;
    for (let op = 0; op < 3000; op++) {
      const k = r();
      if (k < 0.3) {
        const p = pick(protos), a = pick(ins), ap = pick(sports), b = pick(rems), bp = pick(rports);
        const f = ct.createOut(p, a, ap, b, bp, now);
        const g = m.createOut(p, a, ap, b, bp, now);
        assert.equal(f >= 0, g !== null, ctx());
        if (g) assert.equal(ct.extPort(f), g.ext, ctx());
      } else if (k < 0.4) {
        const p = pick(protos), b = pick(rems), bp = pick(rports), e = pick(exts);
        const f = ct.createIn(p, b, bp, e, now);
        const g = m.createIn(p, b, bp, e, now);
        assert.equal(f >= 0, g !== null, ctx());
        if (g) assert.equal(ct.insideIp(f), g.inIp >>> 0, ctx());
      } else if (k < 0.5) {
        const p = pick(protos), a = pick(ins), ap = pick(sports), b = pick(rems), bp = pick(rports), e = pick(exts);
        const f = ct.lookupOut(p, a, ap, b, bp), g = m.lookupOut(p, a, ap, b, bp);
        assert.equal(f >= 0, g !== undefined, ctx());
        if (g) assert.equal(ct.extPort(f), g.ext);
        const x = ct.lookupIn(p, b, bp, e), y = m.lookupIn(p, b, bp, e);
        assert.equal(x >= 0, y !== undefined, ctx());
        if (y) assert.equal(ct.insidePort(x), y.inPort);
      } else if (k < 0.85 && m.flows.size > 0) {
        const g = pick([...m.flows.values()]);
        const f = ct.lookupOut(g.proto, g.inIp, g.inPort, g.remIp, g.remPort);
        assert.ok(f >= 0, ctx());
        assert.equal(ct.lookupIn(g.proto, g.remIp, g.remPort, g.ext), f, ctx());
        const dir = r() < 0.5;
        if (g.proto === TCP && r() < 0.8) { const fl = pick(flags); ct.tcp(f, dir, fl, now); m.tcp(g, dir, fl, now); }
        else { ct.touch(f, dir, now); m.touch(g, dir, now); }
        assert.equal(ct.state(f), g.state, ctx());
        assert.equal(ct.expires(f), g.exp, ctx());
      } else if (k < 0.95) {
        now += Math.floor(r() * 8);
        assert.equal(ct.expire(now), m.expire(now), ctx());
      } else if (k < 0.98) {
        const p = pick([TCP, UDP]), e = pick(exts), a = pick(ins), ap = pick(sports);
        const want = m.addForward(p, e, a, ap);
        if (want === 'throw') assert.throws(() => ct.addForward(p, e, a, ap), RangeError, ctx());
        else ct.addForward(p, e, a, ap);
      } else {
        const p = pick([TCP, UDP]), e = pick(exts);
        assert.equal(ct.removeForward(p, e), m.removeForward(p, e), ctx());
      }
      assert.equal(ct.size, m.flows.size, ctx());
      assert.equal(ct.mappings, m.mappings(), ctx());
      assert.deepEqual({ created: ct.created, expired: ct.expired, evicted: ct.evicted, noPort: ct.noPort, full: ct.full, clash: ct.clash }, m.c, ctx());
      if (op % 50 === 0) {
        const mine = ct.entries(now).map((e) => `${e.proto} ${e.insideIp}:${e.insidePort} ${e.remoteIp}:${e.remotePort} ${e.extPort} ${e.state} ${e.expiresIn} ${e.packets} ${e.origin}`).sort();
        const theirs = [...m.flows.values()].map((f) => `${f.proto} ${f.inIp >>> 0}:${f.inPort} ${f.remIp >>> 0}:${f.remPort} ${f.ext} ${ctStateName(f.state)} ${f.exp - now} ${f.packets} ${f.out ? 'outside' : 'inside'}`).sort();
        assert.deepEqual(mine, theirs, ctx());
        const fw = ct.forwards().map((x) => `${x.proto} ${x.extPort} ${x.insideIp}:${x.insidePort} ${x.flows}`).sort();
        assert.deepEqual(fw, m.fwds.map((x) => `${x.proto} ${x.ext} ${x.ip >>> 0}:${x.port} ${x.refs}`).sort(), ctx());
      }
    }
  }
});
