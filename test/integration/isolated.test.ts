// Integration of isolated (host-only) mode: VMs on veths and the host through a TAP the
// switch creates with an address (libvirt isolated, VMware vmnet1). The VMs, the host and
// the switch's address reach each other; nothing is forwarded beyond the segment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Switch } from '../../src/index.ts';
import { Topology, ping, sh, shStatus, run } from '../helpers/netns.ts';

test('isolated mode: VMs, host TAP and the switch address reach each other, nothing beyond', { timeout: 120_000 }, async (t) => {
  const topo = new Topology();
  let sw: Switch | null = null;
  // a subnet of its own for this run: the host side of the TAP lives in the root namespace
  const third = 100 + (process.pid % 100);
  const net = (h: number): string => `10.99.${third}.${h}`;
  const tap = `${topo.prefix}h`;
  topo.own(tap);
  try {
    const v1 = topo.host('v1', `${net(11)}/24`);
    const v2 = topo.host('v2', `${net(12)}/24`);
    const out = topo.host('o', '10.98.0.1/24'); // on another network of the same switch
    for (const v of [v1, v2]) sh('ip', ['-n', v.ns, 'route', 'add', 'default', 'via', net(1)]);
    sw = await Switch.start({
      name: `${topo.prefix}iso`,
      runDir: `/tmp/${topo.prefix}-run`,
      ports: {
        vm1: { afpacket: v1.rootIf }, vm2: { afpacket: v2.rootIf },
        host: { tap, address: `${net(254)}/24` },
        wan: { afpacket: out.rootIf },
      },
      networks: {
        lab: { mode: 'isolated', ports: ['vm1', 'vm2', 'host'], address: `${net(1)}/24` },
        other: { mode: 'bridged', ports: ['wan'] },
      },
    }, { log: () => {} });

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
      const r = await topo.run(v1.ns, 'ping', '-n', '-c', '2', '-W', '1', out.ip);
      assert.doesNotMatch(r.out, / 0% packet loss/, r.out);
      assert.match(r.out, /Unreachable|100% packet loss/, r.out);
      assert.equal(await ping(topo, out.ns, net(1), 1), 0, 'the outside cannot reach the switch address');
    });

    await t.test('no pool slot leaked', async () => {
      assert.equal(sw!.stats().pool.inUse, 0);
    });
  } finally {
    if (sw) await sw.stop();
    topo.dispose();
  }
  assert.notEqual(shStatus('ip', ['link', 'show', tap]).status, 0, 'the TAP is gone with the switch');
});
