// Ports that change while the switch runs (issue 5): `switchyard port add/del` through the
// control socket, and interfaces that vanish and come back. The other ports keep forwarding
// and keep what they learned throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdtempSync, existsSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Topology, ping, run, sh, waitFor } from '../helpers/netns.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'switchyard.js');

test('ports added, removed, vanishing and coming back at run time', { timeout: 120_000 }, async (t) => {
  const topo = new Topology();
  const runDir = mkdtempSync(join(tmpdir(), 'sy-ports-'));
  const name = `${topo.prefix}pt`;
  let sw: ChildProcess | null = null;
  let log = '';
  const cli = (...args: string[]): Promise<{ status: number; out: string; err: string }> =>
    run(process.execPath, [bin, ...args, '--name', name, '--run-dir', runDir]);
  const ports = async (): Promise<{ name: string; state: string; counters: { rxPackets: number } }[]> => JSON.parse((await cli('show', 'ports', '--json')).out);
  try {
    const a = topo.host('a', '10.76.0.1/24');
    const b = topo.host('b', '10.76.0.2/24');
    const c = topo.host('c', '10.76.0.3/24');
    const cfg = join(runDir, 'sw.yaml');
    writeFileSync(cfg, `name: ${name}\nrunDir: ${runDir}\nports:\n  a: { afpacket: ${a.rootIf} }\n  b: { afpacket: ${b.rootIf} }\nnetworks:\n  lan: { mode: bridged, ports: [a, b] }\n`);
    sw = spawn(process.execPath, [bin, 'run', '-c', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    sw.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    await waitFor('control socket', () => existsSync(join(runDir, `${name}.sock`)), 15000);
    assert.equal(await ping(topo, a.ns, b.ip, 2), 2);

    await t.test('port add joins a running network; port del takes it out', async () => {
      assert.equal(await ping(topo, c.ns, a.ip, 1), 0, 'c is not attached yet');
      const add = await cli('port', 'add', 'c', '--afpacket', c.rootIf, '--network', 'lan');
      assert.equal(add.status, 0, add.err);
      assert.equal(await ping(topo, c.ns, a.ip, 2), 2, 'c reaches a once added');
      assert.ok((await ports()).some((p) => p.name === 'c' && p.state === 'up'));
      const del = await cli('port', 'del', 'c');
      assert.equal(del.status, 0, del.err);
      assert.equal(await ping(topo, c.ns, a.ip, 1), 0, 'c is cut off after del');
      assert.equal(await ping(topo, a.ns, b.ip, 2), 2, 'a and b never noticed');
    });

    await t.test('bad port requests are refused with a reason, the switch keeps running', async () => {
      const r1 = await cli('port', 'add', 'x', '--afpacket', c.rootIf, '--network', 'nope');
      assert.equal(r1.status, 1);
      assert.match(r1.err, /no network "nope"/);
      const r2 = await cli('port', 'add', 'a', '--afpacket', c.rootIf, '--network', 'lan');
      assert.match(r2.err, /exists already/);
      const r3 = await cli('port', 'add', 'y', '--afpacket', 'nosuchif0', '--network', 'lan');
      assert.match(r3.err, /No such device/);
      const r4 = await cli('port', 'del', 'ghost');
      assert.match(r4.err, /no port "ghost"/);
      assert.equal(await ping(topo, a.ns, b.ip, 1), 1);
    });

    await t.test('an interface that vanishes detaches its port, and re-attaches when it is back', async () => {
      const before = (await ports()).find((p) => p.name === 'b')!.counters.rxPackets;
      sh('ip', ['link', 'del', b.rootIf]);
      await waitFor('b detached', async () => (await ports()).some((p) => p.name === 'b' && p.state === 'down'), 10000);
      assert.match(log, new RegExp(`port b: interface ${b.rootIf} is gone`));
      // the rest keeps forwarding: re-add c and let a talk to it
      assert.equal((await cli('port', 'add', 'c', '--afpacket', c.rootIf, '--network', 'lan')).status, 0);
      assert.equal(await ping(topo, a.ns, c.ip, 2), 2, 'a and c forward while b is gone');
      // b comes back under the same name
      sh('ip', ['link', 'add', b.rootIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b.ns]);
      sh('ip', ['link', 'set', b.rootIf, 'up']);
      sh('ip', ['-n', b.ns, 'link', 'set', 'eth0', 'address', b.mac]); // a VM comes back with its MAC
      sh('ip', ['-n', b.ns, 'addr', 'add', '10.76.0.2/24', 'dev', 'eth0']);
      sh('ip', ['-n', b.ns, 'link', 'set', 'eth0', 'up']);
      await waitFor('b re-attached', async () => (await ports()).some((p) => p.name === 'b' && p.state === 'up'), 10000);
      assert.equal(await ping(topo, a.ns, b.ip, 2), 2, 'b forwards again');
      const after = (await ports()).find((p) => p.name === 'b')!.counters.rxPackets;
      assert.ok(after > before, `counters kept across the absence (${before} -> ${after})`);
    });
  } finally {
    if (sw) {
      const done = new Promise((r) => sw!.on('exit', r));
      sw.kill('SIGTERM');
      await done;
    }
    topo.dispose();
    rmSync(runDir, { recursive: true, force: true });
  }
});
