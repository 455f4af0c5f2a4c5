// Integration of isolated (host-only) mode: VMs on veths and the host through a TAP the
// switch creates with an address (libvirt isolated, VMware vmnet1). The VMs, the host and
// the switch's address reach each other; nothing is forwarded beyond the segment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Switch } from '../../src/index.ts';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Topology, ping, sh, shStatus, run } from '../helpers/netns.ts';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'udhcpc.script');

test('isolated mode: VMs, host TAP and the switch address reach each other, nothing beyond', { timeout: 120_000 }, async (t) => {
  const topo = new Topology();
  let sw: Switch | null = null;
  // a subnet of its own for this run: the host side of the TAP lives in the root namespace
  const third = 100 + (process.pid % 100);
  const net = (h: number): string => `10.99.${third}.${h}`;
  const tap = `${topo.prefix}h`;
  topo.own(tap);
  const state = mkdtempSync(join(tmpdir(), 'sy-iso-'));
  try {
    const v1 = topo.host('v1', null);          // gets its address from switchyard's DHCP
    const v2 = topo.host('v2', `${net(12)}/24`);
    const out = topo.host('o', '10.98.0.1/24'); // on another network of the same switch
    sh('ip', ['-n', v2.ns, 'route', 'add', 'default', 'via', net(1)]);
    sw = await Switch.start({
      name: `${topo.prefix}iso`,
      runDir: `/tmp/${topo.prefix}-run`,
      stateDir: state,
      ports: {
        vm1: { afpacket: v1.rootIf }, vm2: { afpacket: v2.rootIf },
        host: { tap, address: `${net(254)}/24` },
        wan: { afpacket: out.rootIf },
      },
      networks: {
        lab: { mode: 'isolated', ports: ['vm1', 'vm2', 'host'], address: `${net(1)}/24`, dhcp: { range: `${net(100)}-${net(199)}` } },
        other: { mode: 'bridged', ports: ['wan'] },
      },
    }, { log: () => {} });

    await t.test('a VM gets its address from the DHCP server, and no default route', async () => {
      const outFile = join(state, 'v1.out');
      const r = await topo.run(v1.ns, 'env', `SY_DHCP_OUT=${outFile}`, 'busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-t', '6', '-T', '1', '-A', '1', '-s', script);
      assert.equal(r.status, 0, r.out + r.err);
      const line = readFileSync(outFile, 'utf8');
      const m = new RegExp(`ip=(${net(1).replace(/\.1$/, '').replace(/\./g, '\\.')}\\.1\\d\\d) mask=24 router= `).exec(line);
      assert.ok(m, line);
      v1.ip = m![1];
    });

    await t.test('the host kernel got the TAP address', async () => {
      const addrs = sh('ip', ['-br', 'addr', 'show', tap]);
      assert.match(addrs, new RegExp(`${net(254).replace(/\./g, '\\.')}/24`), addrs);
    });

    await t.test('VMs reach each other, the switch address and the host', async () => {
      assert.equal(await ping(topo, v1.ns, v2.ip, 2), 2, 'vm1 -> vm2');
      assert.equal(await ping(topo, v1.ns, net(1), 2), 2, 'vm1 -> switch');
      assert.equal(await ping(topo, v2.ns, net(254), 2), 2, 'vm2 -> host');
      const r = await run('ping', ['-n', '-q', '-c', '2', '-i', '0.2', '-W', '1', '-I', tap, v1.ip]);
      assert.match(r.out, /2 received/, 'host -> vm1: ' + r.out);
    });

    await t.test('nothing is forwarded beyond the segment', async () => {
      // v2 routes everything to the switch's address: the switch has no way out for it
      const r = await topo.run(v2.ns, 'ping', '-n', '-c', '2', '-W', '1', out.ip);
      assert.doesNotMatch(r.out, / 0% packet loss/, r.out);
      assert.match(r.out, /Net Unreachable|100% packet loss/, r.out);
      // v1 (DHCP, no router option) has no route at all
      const r1 = await topo.run(v1.ns, 'ping', '-n', '-c', '1', '-W', '1', out.ip);
      assert.notEqual(r1.status, 0, r1.out + r1.err);
      assert.equal(await ping(topo, out.ns, net(1), 1), 0, 'the outside cannot reach the switch address');
    });

    await t.test('no pool slot leaked', async () => {
      assert.equal(sw!.stats().pool.inUse, 0);
    });
  } finally {
    if (sw) await sw.stop();
    topo.dispose();
    rmSync(state, { recursive: true, force: true });
  }
  assert.notEqual(shStatus('ip', ['link', 'show', tap]).status, 0, 'the TAP is gone with the switch');
});
