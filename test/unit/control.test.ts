// control.test.ts — the control socket against a fake ControlTarget: show replies, malformed
// requests answered with errors while the server keeps serving, capture as a pcap stream with
// unsubscribe on close, refusal of a live socket and replacement of a stale one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ControlReplyError, request, socketPath, startCapture, startControlServer, type ControlTarget,
} from '../../src/control.ts';
import { readPcap } from '../../src/io/pcap.ts';
import type { FdbEntryView, PortView, StatsView } from '../../src/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-control-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => socketPath(join(dir, `run${++n}`), 'lab');

const PORTS: PortView[] = [{
  name: 'vm1', kind: 'afpacket', ifname: 'sy-vm1', network: 'br0', state: 'up', mac: null, mtu: 1500,
  counters: { rxPackets: 10, rxBytes: 1000, txPackets: 20, txBytes: 2000, rxDrops: 1, txDrops: 0 },
  drops: { runt: 1 },
}];
const FDB: FdbEntryView[] = [{ network: 'br0', mac: '52:54:00:00:00:01', port: 'vm1', ageSeconds: 12 }];

/** A ControlTarget whose capture subscribers can be fed by the test. */
class FakeTarget implements ControlTarget {
  readonly name = 'lab';
  readonly subs = new Map<string, Set<(dir: 'rx' | 'tx', frame: Uint8Array, timeNs: bigint) => void>>([['vm1', new Set()], ['vm2', new Set()]]);
  ports(): PortView[] { return PORTS; }
  fdb(): FdbEntryView[] { return FDB; }
  stats(): StatsView {
    return {
      name: 'lab', uptimeSeconds: 5, pool: { slots: 1024, free: 1000, inUse: 24, allocFailures: 0 },
      ports: PORTS, nodes: [], drops: { runt: 1 }, fdb: [],
    };
  }
  capture(port: string, onFrame: (dir: 'rx' | 'tx', frame: Uint8Array, timeNs: bigint) => void): () => void {
    const s = this.subs.get(port);
    if (!s) throw new Error(`unknown port "${port}"`);
    s.add(onFrame);
    return () => { s.delete(onFrame); };
  }
  /** delivers a frame to every subscriber from a reused buffer, like the engine does */
  push(port: string, dir: 'rx' | 'tx', frame: Uint8Array, timeNs: bigint): void {
    const scratch = new Uint8Array(2048);
    scratch.set(frame);
    for (const f of this.subs.get(port)!) f(dir, scratch.subarray(0, frame.length), timeNs);
    scratch.fill(0xee); // the view is dead after the call
  }
}

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Sends raw bytes, collects reply lines until `lines` have arrived. */
function raw(path: string, payload: string, lines: number): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      const got = buf.split('\n').filter(Boolean);
      if (got.length >= lines) { s.destroy(); resolve(got.map((l) => JSON.parse(l))); }
    });
    s.on('error', reject);
    s.write(payload);
  });
}

test('show requests return the target data', async () => {
  const path = freshPath();
  const srv = await startControlServer(new FakeTarget(), path);
  try {
    assert.deepEqual(await request(path, { cmd: 'show', what: 'ports' }), { ok: true, data: PORTS });
    assert.deepEqual(await request(path, { cmd: 'show', what: 'fdb' }), { ok: true, data: FDB });
    const st = await request(path, { cmd: 'show', what: 'stats', id: 7 });
    assert.equal(st.ok, true);
    assert.equal(st.id, 7);
    assert.equal((st as { data: StatsView }).data.pool.slots, 1024);
    const ping = await request(path, { cmd: 'ping' });
    assert.equal(ping.ok, true);
    assert.deepEqual((ping as { data: { show: string[] } }).data.show, ['ports', 'fdb', 'stats']);
  } finally {
    await srv.close();
  }
  assert.equal(existsSync(path), false, 'close removes the socket file');
});

test('malformed requests get error replies and the server keeps answering', async () => {
  const path = freshPath();
  const srv = await startControlServer(new FakeTarget(), path);
  try {
    const payload = [
      'not json',
      '[1,2]',
      '{"what":"ports"}',
      '{"cmd":"frobnicate"}',
      '{"cmd":"show","what":"everything"}',
      '{"cmd":"show","what":"neigh","id":"n1"}',
      '{"cmd":"capture","port":"vm9"}',
      '{"cmd":"capture","port":"vm1","count":-1}',
      'x'.repeat(70 * 1024) + '{"cmd":"show","what":"ports"}', // oversized: one error, the whole line is skipped
      '{"cmd":"show","what":"fdb"}',
    ].join('\n') + '\n';
    const r = await raw(path, payload, 10);
    assert.deepEqual(r.map((x) => x.ok), [false, false, false, false, false, false, false, false, false, true]);
    assert.match(r[0].error, /not valid JSON/);
    assert.match(r[1].error, /must be a JSON object/);
    assert.match(r[2].error, /needs "cmd"/);
    assert.match(r[3].error, /unknown cmd "frobnicate" \(expected one of ping, show, port, capture\)/);
    assert.match(r[4].error, /unknown "what" "everything" \(expected one of ports, fdb, stats, neigh, routes, conntrack, leases\)/);
    assert.equal(r[5].error, 'show neigh: not available in this instance');
    assert.equal(r[5].id, 'n1');
    assert.match(r[6].error, /capture: unknown port "vm9"/);
    assert.match(r[7].error, /count/);
    assert.match(r[8].error, /longer than 65536 bytes/);
    assert.deepEqual(r[9].data, FDB);
    // an oversized line arriving in pieces is answered once, then the connection works on
    const r2 = await new Promise<any[]>((resolve, reject) => {
      const s = net.connect(path);
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => { buf += d; const l = buf.split('\n').filter(Boolean); if (l.length >= 2) { s.destroy(); resolve(l.map((x) => JSON.parse(x))); } });
      s.on('error', reject);
      for (let i = 0; i < 10; i++) s.write('y'.repeat(10 * 1024));
      s.write('\n{"cmd":"show","what":"ports"}\n');
    });
    assert.match(r2[0].error, /longer than/);
    assert.deepEqual(r2[1].data, PORTS);
    // and a fresh client is served too
    assert.equal((await request(path, { cmd: 'show', what: 'ports' })).ok, true);
  } finally {
    await srv.close();
  }
});

test('a target that throws gives an error reply, not a dead server', async () => {
  const path = freshPath();
  const t = new FakeTarget();
  t.fdb = () => { throw new Error('table busy'); };
  const srv = await startControlServer(t, path);
  try {
    assert.deepEqual(await request(path, { cmd: 'show', what: 'fdb' }), { ok: false, error: 'internal error: table busy' });
    assert.equal((await request(path, { cmd: 'show', what: 'ports' })).ok, true);
  } finally {
    await srv.close();
  }
});

test('capture streams a pcap of count frames, then unsubscribes', async () => {
  const path = freshPath();
  const t = new FakeTarget();
  const srv = await startControlServer(t, path);
  try {
    const chunks: Buffer[] = [];
    const cap = await startCapture(path, { port: 'vm1', count: 3 }, (c) => chunks.push(Buffer.from(c)));
    assert.equal(t.subs.get('vm1')!.size, 1);
    const frames = [60, 1514, 64].map((len, i) => Uint8Array.from({ length: len }, (_, j) => (i + j) & 255));
    t.push('vm1', 'rx', frames[0], 1_000_000_001n);
    t.push('vm2', 'rx', frames[1], 5n); // another port: not captured
    t.push('vm1', 'tx', frames[1], 2_000_000_002n);
    t.push('vm1', 'rx', frames[2], 3_000_000_003n);
    t.push('vm1', 'rx', frames[2], 4_000_000_004n); // beyond count
    await cap.done;
    assert.equal(t.subs.get('vm1')!.size, 0, 'unsubscribed after count');
    const { header, records } = readPcap(Buffer.concat(chunks));
    assert.equal(header.nanos, true);
    assert.equal(header.linktype, 1);
    assert.equal(records.length, 3);
    assert.deepEqual(records.map((r) => r.timeNs), [1_000_000_001n, 2_000_000_002n, 3_000_000_003n]);
    records.forEach((r, i) => assert.deepEqual(r.data, frames[i]));
  } finally {
    await srv.close();
  }
});

test('capture: direction filter, and closing the client unsubscribes', async () => {
  const path = freshPath();
  const t = new FakeTarget();
  const srv = await startControlServer(t, path);
  try {
    const chunks: Buffer[] = [];
    const cap = await startCapture(path, { port: 'vm2', dir: 'tx' }, (c) => chunks.push(Buffer.from(c)));
    t.push('vm2', 'rx', new Uint8Array(60), 1n);
    t.push('vm2', 'tx', new Uint8Array(61), 2n);
    await waitFor(() => Buffer.concat(chunks).length >= 24 + 16 + 61);
    cap.stop();
    await cap.done;
    await waitFor(() => t.subs.get('vm2')!.size === 0);
    const { records } = readPcap(Buffer.concat(chunks));
    assert.deepEqual(records.map((r) => r.data.length), [61]);
    await assert.rejects(startCapture(path, { port: 'nope' }, () => {}), (e: unknown) =>
      e instanceof ControlReplyError && /unknown port "nope"/.test(e.message));
  } finally {
    await srv.close();
  }
});

test('closing the server ends captures and unsubscribes them', async () => {
  const path = freshPath();
  const t = new FakeTarget();
  const srv = await startControlServer(t, path);
  const cap = await startCapture(path, { port: 'vm1' }, () => {});
  assert.equal(t.subs.get('vm1')!.size, 1);
  await srv.close();
  await cap.done;
  assert.equal(t.subs.get('vm1')!.size, 0);
});

test('a second server on a live socket is refused; a stale socket file is replaced', async () => {
  const path = freshPath();
  const srv = await startControlServer(new FakeTarget(), path);
  await assert.rejects(startControlServer(new FakeTarget(), path), (e: Error) => e.message.includes(path) && /another switchyard instance/.test(e.message));
  // the refusal did not disturb the live one
  assert.equal((await request(path, { cmd: 'ping' })).ok, true);
  await srv.close();

  // a process that died without cleaning up leaves a socket file nobody listens on
  const stale = freshPath();
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(stale, '..'), { recursive: true });
  const child = spawn(process.execPath, ['-e',
    `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  await new Promise((r) => child.on('exit', r));
  assert.equal(existsSync(stale), true, 'stale socket file left behind');
  await assert.rejects(request(stale, { cmd: 'ping' }), /ECONNREFUSED/);
  const srv2 = await startControlServer(new FakeTarget(), stale);
  try {
    assert.equal((await request(stale, { cmd: 'ping' })).ok, true);
  } finally {
    await srv2.close();
  }

  // something that is not a socket is never removed
  const notSock = freshPath();
  mkdirSync(join(notSock, '..'), { recursive: true });
  writeFileSync(notSock, 'precious');
  await assert.rejects(startControlServer(new FakeTarget(), notSock), /is not a socket/);
  assert.equal(existsSync(notSock), true);
});

test('request to a missing instance fails with ENOENT', async () => {
  await assert.rejects(request(join(dir, 'nobody.sock'), { cmd: 'ping' }), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
});
