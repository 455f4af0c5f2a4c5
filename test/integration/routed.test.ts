// Integration of routed mode with real kernel stacks, on the topologies of the seeds.
//
// Seeds 000/001 (Virtuozzo host-routed): a LAN namespace "computer X" on the uplink, VMs
// 192.168.200.201 and .202 behind two ports with gateway 169.255.30.1. X's ARP for a VM is
// answered with the switch's (uplink) MAC; pings and TCP every way; TTL expiry and
// unreachable destinations answered with ICMP; a spoofed source dropped and counted; a VM's
// duplicate-address probe never answered by proxy.
//
// Seed 004 (proxy ARP + policy routing across hosts): two "host" switches, each with a VM
// in one shared subnet, uplinks on one LAN with a plain Linux router that has host routes
// to the VMs; a rule by ingress port sends VM traffic to the router.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Switch } from '../../src/index.ts';
import { Topology, ping, sh, waitFor, type Host } from '../helpers/netns.ts';

function vmRoutes(topo: Topology, vm: Host, gateway = '169.255.30.1'): void {
  // the Virtuozzo guest set-up: a /32 address, the gateway on-link, default via it
  sh('ip', ['-n', vm.ns, 'route', 'add', gateway, 'dev', 'eth0']);
  sh('ip', ['-n', vm.ns, 'route', 'add', 'default', 'via', gateway]);
  void topo;
}

async function iperf(topo: Topology, server: Host, client: Host, reverse = false): Promise<number> {
  const srv = topo.spawn(server.ns, 'iperf3', '-s', '-1', '-B', server.ip);
  await waitFor('iperf3 server', async () => (await topo.run(server.ns, 'ss', '-ltn')).out.includes(':5201'));
  const out = await topo.runOk(client.ns, 'iperf3', '-c', server.ip, '-t', '2', '-J', ...(reverse ? ['-R'] : []));
  srv.kill();
  return JSON.parse(out).end.sum_received.bytes as number;
}

test('routed mode, seeds 000/001: proxy ARP, host routes, ICMP errors, anti-spoofing', { timeout: 180_000 }, async (t) => {
  const topo = new Topology();
  let sw: Switch | null = null;
  try {
    const x = topo.host('x', '192.168.0.10/24');
    // X believes the VM addresses are on its LAN and ARPs for them (seed 001, step 1)
    sh('ip', ['-n', x.ns, 'route', 'add', '192.168.200.0/24', 'dev', 'eth0']);
    const vm1 = topo.host('v1', '192.168.200.201/32');
    const vm2 = topo.host('v2', '192.168.200.202/32');
    vmRoutes(topo, vm1); vmRoutes(topo, vm2);
    sw = await Switch.start({
      name: `${topo.prefix}rt`,
      runDir: `/tmp/${topo.prefix}-run`,
      ports: { vm1: { afpacket: vm1.rootIf }, vm2: { afpacket: vm2.rootIf }, uplink: { afpacket: x.rootIf } },
      networks: {
        pub: {
          mode: 'routed',
          ports: ['vm1', 'vm2'],
          hosts: { '192.168.200.201': 'vm1', '192.168.200.202': 'vm2' },
          uplink: { port: 'uplink', address: '192.168.0.64/24' },
        },
      },
    }, { log: () => {} });
    const uplinkMac = JSON.parse(sh('ip', ['-j', 'link', 'show', x.rootIf]))[0].address as string;

    await t.test("X's ARP for a VM address is answered with the switch's uplink MAC", async () => {
      const r = await topo.run(x.ns, 'arping', '-c', '1', '-w', '3', '-I', 'eth0', vm1.ip);
      // iputils arping: "Unicast reply from 192.168.200.201 [AA:BB:CC:DD:EE:FF]  0.9ms"
      assert.match(r.out, new RegExp(`reply from 192\\.168\\.200\\.201 \\[${uplinkMac}\\]`, 'i'), r.out);
    });

    await t.test('X pings both VMs, the VMs ping X and each other', async () => {
      assert.equal(await ping(topo, x.ns, vm1.ip, 2), 2, 'X -> vm1');
      assert.equal(await ping(topo, x.ns, vm2.ip, 2), 2, 'X -> vm2');
      assert.equal(await ping(topo, vm1.ns, x.ip, 2), 2, 'vm1 -> X');
      assert.equal(await ping(topo, vm2.ns, x.ip, 2), 2, 'vm2 -> X');
      assert.equal(await ping(topo, vm1.ns, vm2.ip, 2), 2, 'vm1 -> vm2');
      assert.equal(await ping(topo, vm2.ns, vm1.ip, 2), 2, 'vm2 -> vm1');
    });

    await t.test('the gateway answers ping', async () => {
      assert.equal(await ping(topo, vm1.ns, '169.255.30.1', 2), 2);
    });

    await t.test('TCP both ways between X and a VM (default offloads)', async () => {
      assert.ok(await iperf(topo, vm1, x) > 1_000_000, 'X -> vm1');
      assert.ok(await iperf(topo, x, vm2) > 1_000_000, 'vm2 -> X');
      assert.ok(await iperf(topo, x, vm2, true) > 1_000_000, 'X -> vm2 (reverse)');
    });

    await t.test('ping -t 1 through the switch gets ICMP time exceeded from it', async () => {
      const r = await topo.run(vm1.ns, 'ping', '-n', '-c', '1', '-W', '2', '-t', '1', x.ip);
      assert.match(r.out, /From 169\.255\.30\.1 .*Time to live exceeded/i, r.out);
    });

    await t.test('an unroutable destination gets ICMP net unreachable', async () => {
      const r = await topo.run(vm1.ns, 'ping', '-n', '-c', '1', '-W', '2', '198.51.100.1');
      assert.match(r.out, /Destination Net Unreachable/i, r.out);
    });

    await t.test('a route added at run time takes effect, and removed it stops', async () => {
      sh('ip', ['-n', x.ns, 'addr', 'add', '198.51.100.1/32', 'dev', 'eth0']);
      sw!.addRoute('198.51.100.0/24 via 192.168.0.10');
      assert.equal(await ping(topo, vm1.ns, '198.51.100.1', 2), 2, 'reachable through X once routed');
      assert.ok(sw!.routes().some((r) => r.dst === '198.51.100.0/24' && r.via === '192.168.0.10' && r.dev === 'uplink'));
      assert.equal(sw!.removeRoute('198.51.100.0/24'), true);
      const r = await topo.run(vm1.ns, 'ping', '-n', '-c', '1', '-W', '2', '198.51.100.1');
      assert.match(r.out, /Destination Net Unreachable/i, r.out);
      assert.throws(() => sw!.addRoute('198.51.100.0/24 via'), /expected/);
    });

    await t.test('a spoofed source is dropped and counted', async () => {
      sh('ip', ['-n', vm1.ns, 'addr', 'add', '192.168.200.250/32', 'dev', 'eth0']);
      assert.equal(await ping(topo, vm1.ns, x.ip, 2, ['-I', '192.168.200.250']), 0);
      const p = sw!.ports().find((q) => q.name === 'vm1')!;
      assert.ok((p.drops['spoofed-source'] ?? 0) >= 2, JSON.stringify(p.drops));
    });

    await t.test("a VM's duplicate-address probe for its own address gets no proxy reply", async () => {
      const r = await topo.run(vm1.ns, 'arping', '-D', '-c', '2', '-w', '3', '-I', 'eth0', vm1.ip);
      assert.equal(r.status, 0, `arping -D saw a reply (exit ${r.status}): ${r.out}`);
    });

    await t.test('neighbours print like arp -n, routes like ip route', async () => {
      const neigh = sw!.neighbors();
      const pub = neigh.find((n) => n.address === vm1.ip && n.flags.includes('P'));
      assert.ok(pub && pub.flags === 'MP' && pub.iface === 'uplink', JSON.stringify(neigh));
      assert.ok(neigh.some((n) => n.address === x.ip && n.flags === 'C' && n.hwaddress === x.mac && n.iface === 'uplink'));
      const routes = sw!.routes();
      assert.ok(routes.some((r) => r.table === 'main' && r.dst === '192.168.200.201' && r.dev === 'vm1'), JSON.stringify(routes));
      assert.ok(routes.some((r) => r.table === 'main' && r.dst === '192.168.0.0/24' && r.dev === 'uplink'));
    });

    await t.test('no pool slot leaked', async () => {
      assert.equal(sw!.stats().pool.inUse, 0);
    });
  } finally {
    if (sw) await sw.stop();
    topo.dispose();
  }
});

test('routed mode, seed 004: two hosts, a Linux router, a rule by ingress port', { timeout: 120_000 }, async (t) => {
  const topo = new Topology();
  const switches: Switch[] = [];
  try {
    // the LAN: a Linux bridge in its own namespace joins the router and both hosts' uplinks
    const lan = topo.ns('lan');
    sh('ip', ['-n', lan, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', lan, 'link', 'set', 'br0', 'up']);
    const router = topo.ns('r');
    const attach = (ns: string, ifname: string, lanName: string): void => {
      sh('ip', ['link', 'add', `${topo.prefix}${lanName}`, 'type', 'veth', 'peer', 'name', ifname, 'netns', ns]);
      sh('ip', ['link', 'set', `${topo.prefix}${lanName}`, 'netns', lan]);
      sh('ip', ['-n', lan, 'link', 'set', `${topo.prefix}${lanName}`, 'master', 'br0', 'up']);
    };
    attach(router, 'eth0', 'lr');
    sh('ip', ['-n', router, 'addr', 'add', '192.168.50.1/24', 'dev', 'eth0']);
    sh('ip', ['-n', router, 'link', 'set', 'eth0', 'up']);
    topo.exec(router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    sh('ip', ['-n', router, 'route', 'add', '10.10.0.11/32', 'via', '192.168.50.11']);
    sh('ip', ['-n', router, 'route', 'add', '10.10.0.21/32', 'via', '192.168.50.12']);

    const hosts: { vm: Host; upIf: string }[] = [];
    for (const [i, vmIp, upIp] of [[1, '10.10.0.11', '192.168.50.11'], [2, '10.10.0.21', '192.168.50.12']] as const) {
      // the host's uplink: a veth whose far end is on the LAN bridge
      const upIf = `${topo.prefix}u${i}`;
      sh('ip', ['link', 'add', upIf, 'type', 'veth', 'peer', 'name', `${topo.prefix}l${i}`]);
      topo.own(upIf);
      sh('ip', ['link', 'set', `${topo.prefix}l${i}`, 'netns', lan]);
      sh('ip', ['-n', lan, 'link', 'set', `${topo.prefix}l${i}`, 'master', 'br0', 'up']);
      sh('sysctl', ['-qw', `net.ipv6.conf.${upIf}.disable_ipv6=1`]);
      sh('ip', ['link', 'set', upIf, 'up']);
      // the VM: in the shared subnet 10.10.0.0/16, ARPs for its peers directly (seed 004)
      const vm = topo.host(`v${i}`, `${vmIp}/16`);
      sh('ip', ['-n', vm.ns, 'route', 'add', 'default', 'via', '169.255.30.1', 'dev', 'eth0', 'onlink']);
      hosts.push({ vm, upIf });
      switches.push(await Switch.start({
        name: `${topo.prefix}h${i}`,
        runDir: `/tmp/${topo.prefix}-run`,
        ports: { vm: { afpacket: vm.rootIf }, up: { afpacket: upIf } },
        networks: {
          net1: { mode: 'routed', ports: ['vm'], hosts: { [vmIp]: 'vm' }, uplink: { port: 'up', address: `${upIp}/24` } },
        },
        rules: [{ fromPort: 'vm', table: 'sdn_net' }],
        tables: { sdn_net: ['default via 192.168.50.1'] },
      }, { log: () => {} }));
    }
    const [h1, h2] = hosts;

    await t.test('a VM on host 1 pings a VM on host 2 through the router', async () => {
      const r = await topo.run(h1.vm.ns, 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', h2.vm.ip);
      assert.match(r.out, /3 received/, r.out);
      // vm1 -> sw1 -> router -> sw2 -> vm2: the reply crossed three routers (64 - 3)
      assert.match(r.out, /ttl=61/, 'the reply went through the Linux router: ' + r.out);
    });

    await t.test('and fetches a page from it over TCP', async () => {
      const srv = topo.spawn(h2.vm.ns, 'python3', '-m', 'http.server', '8080', '--bind', h2.vm.ip);
      await waitFor('http server', async () => (await topo.run(h2.vm.ns, 'ss', '-ltn')).out.includes(':8080'));
      const r = await topo.run(h1.vm.ns, 'curl', '-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `http://${h2.vm.ip}:8080/`);
      srv.kill();
      assert.match(r.out, /^200 \d+/, r.out + r.err);
    });

    await t.test('the rule by ingress port is what sends VM traffic to the router', async () => {
      const rt = switches[0].routes();
      assert.ok(rt.some((r) => r.table === 'sdn_net' && r.dst === 'default' && r.via === '192.168.50.1'), JSON.stringify(rt));
      assert.ok(!rt.some((r) => r.table === 'main' && r.dst === 'default'), 'main has no default route');
    });
  } finally {
    for (const s of switches) await s.stop();
    topo.dispose();
  }
});
