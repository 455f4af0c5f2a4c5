// Node harness tests of the bridged path (eth-input, l2-learn, l2-fwd, l2-flood,
// port-output) with in-memory ports and a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../helpers/harness.ts';
import { eth, hex, udpFrame, arpRequest, ip4 } from '../helpers/frames.ts';

const A = '02:00:00:00:00:0a', B = '02:00:00:00:00:0b', C = '02:00:00:00:00:0c';

function lab3(): Lab {
  const lab = new Lab();
  lab.network('br0', ['p1', 'p2', 'p3']);
  return lab;
}

test('unknown unicast floods to every other port, never back to the ingress', () => {
  const lab = lab3();
  const f = udpFrame(A, B);
  lab.send('p1', f);
  assert.deepEqual(lab.sent(), { p2: [hex(f)], p3: [hex(f)] });
});

test('after learning, unicast goes only to the learned port, byte-exact', () => {
  const lab = lab3();
  lab.send('p2', udpFrame(B, A));      // learn B on p2 (floods)
  lab.sent();
  const f = udpFrame(A, B, 'to b');
  lab.send('p1', f);
  assert.deepEqual(lab.sent(), { p2: [hex(f)] });
  assert.equal(lab.pool.inFlight, 0, 'no slot leaked');
});

test('broadcast ARP reaches every other port', () => {
  const lab = lab3();
  const f = arpRequest(A, '10.0.0.1', '10.0.0.2');
  lab.send('p2', f);
  assert.deepEqual(lab.sent(), { p1: [hex(f)], p3: [hex(f)] });
});

test('a MAC that moves is relearned on its new port', () => {
  const lab = lab3();
  lab.send('p2', udpFrame(B, A));
  lab.send('p3', udpFrame(B, A));      // B moved to p3
  lab.sent();
  lab.send('p1', udpFrame(A, B));
  assert.deepEqual(Object.keys(lab.sent()), ['p3']);
  assert.equal(lab.dp.networks[0]!.table.moves, 1);
});

test('a frame for a MAC behind its own ingress port is dropped (same-port), counted', () => {
  const lab = lab3();
  lab.send('p1', udpFrame(B, C));
  lab.send('p1', udpFrame(A, C));
  lab.sent();
  lab.send('p1', udpFrame(A, B));
  assert.deepEqual(lab.sent(), {});
  assert.equal(lab.drops()['same-port'], 1);
});

test('aging on a fake clock: an entry not seen for agingSeconds is forgotten and floods again', () => {
  const lab = new Lab();
  lab.network('br0', ['p1', 'p2', 'p3'], { agingSeconds: 10, maxEntries: 100 });
  lab.send('p2', udpFrame(B, A));
  lab.clock.advance(9); lab.dp.age();
  lab.sent();
  lab.send('p1', udpFrame(A, B));
  assert.deepEqual(Object.keys(lab.sent()), ['p2']);
  lab.clock.advance(10); lab.dp.age();  // B last seen 19 s ago
  assert.equal(lab.dp.networks[0]!.table.lookup(0x0200, 0x0b), -1);
  lab.send('p1', udpFrame(A, B));
  assert.deepEqual(Object.keys(lab.sent()).sort(), ['p2', 'p3']);
});

test('two bridged networks never exchange frames', () => {
  const lab = new Lab();
  lab.network('red', ['r1', 'r2']);
  lab.network('blue', ['b1', 'b2']);
  const bc = arpRequest(A, '10.0.0.1', '10.0.0.2');
  lab.send('r1', bc);
  assert.deepEqual(lab.sent(), { r2: [hex(bc)] });
  lab.send('b1', udpFrame(C, A));       // A is known in red only
  assert.deepEqual(Object.keys(lab.sent()), ['b2']);
});

test('802.1Q-tagged frames are forwarded untouched', () => {
  const lab = lab3();
  const tagged = eth({ dst: 'ff:ff:ff:ff:ff:ff', src: A, vlan: [100], type: 0x0806, payload: new Array(28).fill(1) });
  const qinq = eth({ dst: B, src: A, vlan: [10, 20], type: 0x0800, payload: ip4({ src: '1.1.1.1', dst: '2.2.2.2', payload: [1, 2] }) });
  lab.send('p1', tagged, qinq);
  assert.deepEqual(lab.sent(), { p2: [hex(tagged), hex(qinq)], p3: [hex(tagged), hex(qinq)] });
});

test('malformed frames are dropped by reason, counted on the ingress port, and do not stop forwarding', () => {
  const lab = lab3();
  const good = udpFrame(A, B);
  const runtTag = eth({ dst: B, src: A, vlan: [5] }).slice(0, 16);
  const lenLie = eth({ dst: B, src: A, type: 200, payload: new Array(30).fill(0) });
  const oversize = eth({ dst: B, src: A, type: 0x0800, payload: ip4({ src: '1.1.1.1', dst: '2.2.2.2', payload: new Array(1600).fill(0) }) });
  const ipTrunc = eth({ dst: B, src: A, type: 0x0800, payload: [0x45, 0, 0, 60, 0, 0] });
  const ipLies = eth({ dst: B, src: A, type: 0x0800, payload: ip4({ src: '1.1.1.1', dst: '2.2.2.2', totalLength: 200, payload: [1] }) });
  const ipBadIhl = eth({ dst: B, src: A, type: 0x0800, payload: ip4({ src: '1.1.1.1', dst: '2.2.2.2', payload: new Array(30).fill(0) }).map((x, i) => (i === 0 ? 0x43 : x)) });
  const groupSrc = udpFrame('01:00:5e:00:00:01', B);
  const zeroSrc = udpFrame('00:00:00:00:00:00', B);
  lab.send('p1', good, runtTag, lenLie, oversize, ipTrunc, ipLies, ipBadIhl, groupSrc, zeroSrc, good);
  assert.deepEqual(lab.sent(), { p2: [hex(good), hex(good)], p3: [hex(good), hex(good)] });
  assert.deepEqual(lab.drops(), { runt: 1, 'bad-length': 1, oversize: 1, 'ip4-truncated': 1, 'ip4-bad-length': 1, 'ip4-bad-header': 1, 'bad-source-mac': 2 });
  assert.deepEqual(lab.dp.graph.portDropsOf(lab.ids.get('p1')!), { runt: 1, 'bad-length': 1, oversize: 1, 'ip4-truncated': 1, 'ip4-bad-length': 1, 'ip4-bad-header': 1, 'bad-source-mac': 2 });
  assert.equal(lab.pool.inFlight, 0);
});

test('a full MAC table evicts the oldest entry and keeps forwarding', () => {
  const lab = new Lab();
  lab.network('br0', ['p1', 'p2'], { agingSeconds: 300, maxEntries: 4 });
  for (let i = 0; i < 10; i++) { lab.clock.advance(1); lab.send('p1', udpFrame(`02:00:00:00:01:${i.toString(16).padStart(2, '0')}`, B)); }
  const t = lab.dp.networks[0]!.table;
  assert.equal(t.size, 4);
  assert.equal(t.evictions, 6);
  assert.equal(lab.sent().p2.length, 10);
});

test('flooding with an exhausted pool drops copies with no-buffer, keeps the original', () => {
  const lab = new Lab();
  lab.network('br0', ['p1', 'p2', 'p3', 'p4']);
  const held: number[] = [];
  for (let s = lab.pool.alloc(); s >= 0; s = lab.pool.alloc()) held.push(s);
  // give back exactly one slot for the received frame
  lab.pool.free(held.pop()!);
  lab.send('p1', arpRequest(A, '10.0.0.1', '10.0.0.9'));
  const sent = lab.sent();
  assert.equal(Object.values(sent).flat().length, 1, 'only the original went out');
  assert.equal(lab.drops()['no-buffer'], 2);
  for (const s of held) lab.pool.free(s);
  assert.equal(lab.pool.inFlight, 0);
  assert.equal(lab.pool.doubleFrees, 0);
});

test('a device that refuses frames (full ring) counts tx-full and frees the slots', () => {
  const lab = lab3();
  lab.io.get('p2')!.txLimit = 1;
  lab.send('p2', udpFrame(B, A)); lab.sent();
  lab.send('p1', udpFrame(A, B), udpFrame(A, B), udpFrame(A, B));
  assert.equal(lab.sent().p2.length, 1);
  assert.equal(lab.drops()['tx-full'], 2);
  assert.equal(lab.dp.ports.txDrops[lab.ids.get('p2')!], 2);
  assert.equal(lab.pool.inFlight, 0);
});
