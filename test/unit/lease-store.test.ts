// lease-store.test.ts — the lease file: round trip, missing file, expired and corrupt lines,
// a file cut short at every byte, debounced writes, and crash safety (temp file + fsync +
// rename: the live file is never seen torn, and a write replaces it instead of truncating it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaseStore, type StoredLease } from '../../src/dhcp/lease-store.ts';

const NOW = 1_700_000_000_000;

function lease(i: number, o: Partial<StoredLease> = {}): StoredLease {
  const h = (i & 0xff).toString(16).padStart(2, '0');
  return {
    ip: `10.99.0.${100 + (i % 100)}`, mac: `52:54:00:00:01:${h}`, clientId: i % 2 ? `01:52:54:00:00:01:${h}` : null,
    hostname: i % 3 ? `vm-${i}` : null, expiresAt: NOW + 3600_000 + i, state: 'bound', ...o,
  };
}

async function withDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-leases-'));
  try { await fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

test('save + close, then load: the same leases; one JSON object per line after a header', () => withDir(async (dir) => {
  const s = new LeaseStore({ dir: join(dir, 'state'), network: 'lab' }); // the directory is created
  const ls = [lease(1), lease(2, { state: 'static' }), lease(3, { state: 'declined', hostname: null })];
  s.save(ls);
  await s.close();
  assert.equal(s.path, join(dir, 'state', 'leases-lab.jsonl'));
  const text = readFileSync(s.path, 'utf8');
  const lines = text.split('\n');
  assert.equal(lines.at(-1), '', 'ends with a newline');
  assert.deepEqual(JSON.parse(lines[0]), { format: 'switchyard-leases', version: 1, network: 'lab' });
  assert.deepEqual(lines.slice(1, -1).map((l) => JSON.parse(l)), ls);
  assert.deepEqual(new LeaseStore({ dir: join(dir, 'state'), network: 'lab' }).load(NOW), ls);
  assert.equal(s.writes, 1);
}));

test('a missing file is an empty table, silently', () => withDir((dir) => {
  const logs: string[] = [];
  assert.deepEqual(new LeaseStore({ dir, network: 'lab', log: (m) => logs.push(m) }).load(NOW), []);
  assert.deepEqual(new LeaseStore({ dir: join(dir, 'nope'), network: 'lab', log: (m) => logs.push(m) }).load(NOW), []);
  assert.deepEqual(logs, []);
}));

test('load drops expired leases and skips corrupt lines with a log line, keeping the rest', () => withDir((dir) => {
  const logs: string[] = [];
  const s = new LeaseStore({ dir, network: 'lab', log: (m) => logs.push(m) });
  writeFileSync(s.path, [
    JSON.stringify({ format: 'switchyard-leases', version: 1, network: 'lab' }),
    JSON.stringify(lease(1)),
    JSON.stringify(lease(2, { expiresAt: NOW - 1 })), //            expired
    '{"ip":"10.99.0.7","mac":"52:54:00:00', //                     cut short in the middle
    JSON.stringify(lease(4, { ip: '10.99.0.300' })), //            bad address
    JSON.stringify(lease(5, { mac: 'zz:54:00:00:01:05' })), //     bad MAC
    JSON.stringify(lease(6, { state: 'offered' as 'bound' })), //  not a state we write
    JSON.stringify({ ...lease(7), expiresAt: 'soon' }),
    '[1,2,3]',
    'null',
    '',
    JSON.stringify(lease(8)),
    '\u0000\u0000\u0000', //                                        a block of zeros after a crash
  ].join('\n'));
  assert.deepEqual(s.load(NOW), [lease(1), lease(8)]);
  assert.equal(s.skipped, 8);
  assert.equal(logs.filter((l) => /skipped/.test(l) && l.includes(s.path)).length, 8 + 1);
  assert.ok(logs.some((l) => /:4: skipped/.test(l)), 'names the line');
  assert.ok(logs.some((l) => /loaded 2, 1 expired, 8 unreadable/.test(l)));
}));

test('a file cut short at every byte length: the complete lines load, nothing throws', () => withDir((dir) => {
  const s = new LeaseStore({ dir, network: 'lab', log: () => {} });
  const ls = Array.from({ length: 6 }, (_, i) => lease(i));
  const full = s.serialize(ls);
  const ends = [...full.matchAll(/\n/g)].map((m) => m.index!); // ends[0]: the header
  for (let len = 0; len <= full.length; len++) {
    writeFileSync(s.path, full.slice(0, len));
    const got = s.load(NOW);
    // a line is whole once its last character is there, newline or not
    const whole = ends.slice(1).filter((e) => e <= len).length;
    assert.deepEqual(got, ls.slice(0, whole), `cut at ${len}`);
  }
}));

test('debounced: a burst of saves is one or two writes, of the latest snapshot', () => withDir(async (dir) => {
  const s = new LeaseStore({ dir, network: 'lab', debounceMs: 500 });
  for (let i = 0; i < 100; i++) s.save(Array.from({ length: i + 1 }, (_, k) => lease(k)));
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(s.writes <= 1);
  await s.flush();
  assert.ok(s.writes >= 1 && s.writes <= 2, `${s.writes} writes`);
  assert.equal(s.load(NOW).length, 100);
  // the next save waits for the debounce interval
  const t = performance.now();
  s.save([lease(1)]);
  while (s.load(NOW).length !== 1) {
    assert.ok(performance.now() - t < 10_000, 'written within 10 s');
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(performance.now() - t >= 250, 'not written before the interval');
  await s.close();
}));

test('crash safety: the live file is never torn during a sequence of writes, and is replaced, not truncated', () => withDir(async (dir) => {
  const s = new LeaseStore({ dir, network: 'lab', debounceMs: 0 });
  s.save([lease(0)]);
  await s.flush();
  const snapshots = new Set<string>();
  let reads = 0;
  let stop = false;
  // a reader polling the live file as fast as the event loop lets it
  const reader = (async () => {
    while (!stop) {
      const text = readFileSync(s.path, 'utf8');
      reads++;
      assert.ok(text.endsWith('\n'), 'a whole file ends with a newline');
      const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines[0].format, 'switchyard-leases');
      assert.ok(lines.length >= 2 && lines.slice(1).every((l) => typeof l.ip === 'string' && typeof l.expiresAt === 'number'));
      snapshots.add(text);
      await new Promise((r) => setImmediate(r));
    }
  })();
  for (let i = 1; i <= 40; i++) {
    s.save(Array.from({ length: 1 + (i * 7) % 30 }, (_, k) => lease(k + i)));
    await s.flush();
    await new Promise((r) => setImmediate(r));
  }
  stop = true;
  await reader;
  assert.ok(reads > 40, `${reads} reads`);
  assert.ok(snapshots.size > 5);
  // a write replaces the file: whoever holds the old one open still reads it whole
  const before = readFileSync(s.path, 'utf8');
  const fd = openSync(s.path, 'r');
  try {
    s.save([lease(99)]);
    await s.flush();
    const old = Buffer.alloc(fstatSync(fd).size);
    readSync(fd, old, 0, old.length, 0);
    assert.equal(old.toString(), before, 'the old file was not truncated or rewritten');
    assert.notEqual(fstatSync(fd).ino, statSync(s.path).ino);
    assert.deepEqual(s.load(NOW), [lease(99)]);
  } finally {
    closeSync(fd);
  }
  assert.deepEqual(readdirSync(dir), ['leases-lab.jsonl'], 'no temporary file left');
  await s.close();
}));

test('a temporary file left by a crash mid-write is ignored (and removed); the live file stands', () => withDir(async (dir) => {
  const s = new LeaseStore({ dir, network: 'lab' });
  s.save([lease(1), lease(2)]);
  await s.flush();
  writeFileSync(`${s.path}.4242.1.tmp`, s.serialize([lease(1), lease(2), lease(3)]).slice(0, 150));
  assert.deepEqual(s.load(NOW), [lease(1), lease(2)]);
  assert.deepEqual(readdirSync(dir), ['leases-lab.jsonl']);
  await s.close();
}));

test('a write that fails is logged and counted, never thrown; the next save retries', () => withDir(async (dir) => {
  const logs: string[] = [];
  writeFileSync(join(dir, 'blocker'), 'a file where the state directory should be');
  const s = new LeaseStore({ dir: join(dir, 'blocker', 'state'), network: 'lab', log: (m) => logs.push(m), debounceMs: 0 });
  s.save([lease(1)]);
  await s.flush();
  assert.equal(s.writeErrors, 1);
  assert.ok(logs.some((l) => /cannot write/.test(l)));
  rmSync(join(dir, 'blocker'));
  s.save([lease(1), lease(2)]);
  await s.close();
  assert.equal(s.writes, 1);
  assert.equal(new LeaseStore({ dir: join(dir, 'blocker', 'state'), network: 'lab' }).load(NOW).length, 2);
}));

test('a network name that cannot be a file name is refused at start-up', () => {
  assert.throws(() => new LeaseStore({ dir: '/tmp', network: '../etc/passwd' }), RangeError);
  assert.throws(() => new LeaseStore({ dir: '/tmp', network: '' }), RangeError);
});
