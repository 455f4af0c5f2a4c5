// bench-devices.test.ts — the benchmark's third-party bridges (devices/ovs.ts, devices/vde.ts)
// on a throwaway copy of the benchmark's topology (gen, sink and mon namespaces whose eth0 are
// veth peers of pgen, psink, pmon in a DUT namespace, no IPv6). Where a device cannot run here
// (CI installs neither Open vSwitch nor vde2), available() must say why, plainly. Where it can:
// up(), pings and TCP from gen to sink cross it, the mon namespace sees only flooded frames
// (broadcast ARP), the counters and details come back, and down() leaves no process in the
// DUT namespace and its ports as they were (up, no addresses, not promiscuous, no XDP program,
// no tc qdisc, no extra interface).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, execOk } from '../../src/bench/exec.ts';
import { ovsDevice } from '../../src/bench/devices/ovs.ts';
import { vdeDevice } from '../../src/bench/devices/vde.ts';
import type { BenchTopology, Device, DeviceEnv, Endpoint } from '../../src/bench/types.ts';
import { Topology, ping, run, sh, waitFor } from '../helpers/netns.ts';

const noIpv6 = ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'];

/** The benchmark's shape: DUT namespace with pgen/psink/pmon, their peers eth0 in gen/sink/mon. */
function benchTopology(topo: Topology): BenchTopology {
  const dutNs = topo.ns('dut');
  topo.exec(dutNs, ...noIpv6);
  const endpoint = (name: 'gen' | 'sink' | 'mon', cidr: string): Endpoint => {
    const ns = topo.ns(name);
    topo.exec(ns, ...noIpv6);
    sh('ip', ['-n', dutNs, 'link', 'add', `p${name}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    sh('ip', ['-n', dutNs, 'link', 'set', `p${name}`, 'up']);
    if (cidr) sh('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', 'eth0']);
    // locally generated TCP leaves with a partial checksum; OVS's netdev datapath does not complete it
    if (name !== 'mon') topo.exec(ns, 'ethtool', '-K', 'eth0', 'tx', 'off');
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    const mac = JSON.parse(sh('ip', ['-j', '-n', ns, 'link', 'show', 'eth0']))[0].address as string;
    return { ns, ifname: 'eth0', mac, ip: cidr.split('/')[0] };
  };
  const gen = endpoint('gen', '10.99.0.1/24');
  const sink = endpoint('sink', '10.99.0.2/24');
  const mon = endpoint('mon', '');
  return { prefix: topo.prefix, dutNs, ports: { gen: 'pgen', sink: 'psink', mon: 'pmon' }, gen, sink, mon };
}

/** The DUT namespace's interfaces, as `ip -j -d link` and `ip -j addr` see them. */
async function dutLinks(ns: string): Promise<{ ifname: string; flags: string[]; promiscuity: number; xdp?: unknown; addr_info?: unknown[] }[]> {
  return JSON.parse(await execOk('ip', ['-n', ns, '-d', '-j', 'addr', 'show']));
}

/** Frames mon's eth0 receives until stop(): destination MACs. */
async function monitor(topo: Topology, ns: string): Promise<() => Promise<string[]>> {
  const c = topo.track(spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', 'eth0', '-nn', '-e', '-l', '-Q', 'in'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '', err = '';
  c.stdout!.on('data', (d: Buffer) => { out += d; });
  c.stderr!.on('data', (d: Buffer) => { err += d; });
  await waitFor('tcpdump on mon', () => err.includes('listening on'), 10000);
  return async () => {
    await new Promise((r) => setTimeout(r, 300));
    c.kill('SIGINT');
    await new Promise((r) => (c.exitCode !== null ? r(null) : c.on('exit', r)));
    return out.split('\n').map((l) => / > ([0-9a-f:]{17}),/.exec(l)?.[1]).filter((m): m is string => !!m);
  };
}

/** Exited (a daemon's zombie waits for whoever reaps orphans here, maybe nobody). */
function gone(pid: number): boolean {
  try { return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ')')); } catch { return true; }
}

const isGroup = (mac: string): boolean => (parseInt(mac.slice(0, 2), 16) & 1) === 1;

async function exercise(dev: Device, missing: RegExp): Promise<void> {
  const why = await dev.available();
  if (why !== null) {
    // not installed here: the reason must say what is missing and how to get it
    assert.match(why, missing, `${dev.key}: ${why}`);
    return;
  }
  const topo = new Topology();
  const workDir = mkdtempSync(join(tmpdir(), 'sy-devtest-'));
  const log: string[] = [];
  let env: DeviceEnv | null = null;
  try {
    const net = benchTopology(topo);
    env = {
      topo: net, workDir, log: (l) => log.push(l), exec, execOk,
      spawn: (cmd, args) => topo.track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })),
    };
    const before = await dutLinks(net.dutNs);

    await dev.up(env);
    await dev.prepare(env);
    assert.equal(dev.nextHopMac('forward'), net.sink.mac);
    assert.equal(dev.nextHopMac('reverse'), net.gen.mac);
    const pids = dev.pids();
    const inDut = (await run('ip', ['netns', 'pids', net.dutNs])).out.split('\n').filter(Boolean).map(Number);
    for (const p of pids) assert.ok(inDut.includes(p), `${dev.key}: pid ${p} runs inside the DUT namespace (${inDut.join(' ')})`);

    const stop = await monitor(topo, net.mon.ns);
    assert.equal(await ping(topo, net.gen.ns, net.sink.ip, 300, ['-i', '0.005']), 300, `${dev.key}: 300 pings gen -> sink`);
    const server = topo.spawn(net.sink.ns, 'iperf3', '-s', '-1', '-p', '5201');
    await waitFor('iperf3 server', async () => (await topo.run(net.sink.ns, 'ss', '-Hltn', 'sport = :5201')).out.includes('5201'), 5000);
    const tcp = await topo.run(net.gen.ns, 'iperf3', '-c', net.sink.ip, '-p', '5201', '-t', '2', '-J');
    server.kill();
    assert.equal(tcp.status, 0, `${dev.key}: iperf3: ${tcp.err || tcp.out.slice(0, 500)}`);
    assert.ok(JSON.parse(tcp.out).end.sum_received.bytes > 1e6, `${dev.key}: TCP crossed`);
    const seen = await stop();
    assert.ok(seen.some(isGroup), `${dev.key}: mon saw the flooded ARP request`);
    assert.deepEqual(seen.filter((m) => !isGroup(m)), [], `${dev.key}: mon saw no unicast once both ends were learned`);

    const counters = await dev.counters?.();
    if (counters) for (const [k, v] of Object.entries(counters)) assert.ok(Number.isFinite(v) && v >= 0, `${dev.key}: counter ${k} = ${v}`);
    JSON.stringify(await dev.details?.());

    await dev.down(env);
    env = null;
    assert.equal((await run('ip', ['netns', 'pids', net.dutNs])).out.trim(), '', `${dev.key}: no process left in the DUT namespace`);
    for (const p of pids) assert.ok(gone(p), `${dev.key}: pid ${p} is gone`);
    const after = await dutLinks(net.dutNs);
    assert.deepEqual(after.map((l) => l.ifname).sort(), before.map((l) => l.ifname).sort(), `${dev.key}: no interface left behind`);
    for (const l of after.filter((x) => x.ifname !== 'lo')) {
      assert.ok(l.flags.includes('UP'), `${dev.key}: ${l.ifname} is up`);
      assert.equal(l.promiscuity, 0, `${dev.key}: ${l.ifname} is not promiscuous`);
      assert.equal(l.xdp, undefined, `${dev.key}: ${l.ifname} has no XDP program`);
      assert.deepEqual(l.addr_info, [], `${dev.key}: ${l.ifname} has no address`);
      const qdiscs = await execOk('tc', ['-n', net.dutNs, 'qdisc', 'show', 'dev', l.ifname]);
      assert.doesNotMatch(qdiscs, /clsact|ingress/, `${dev.key}: ${l.ifname} has no tc qdisc left`);
    }
  } finally {
    if (env) await dev.down(env).catch(() => {});
    topo.dispose();
    rmSync(workDir, { recursive: true, force: true });
  }
}

const notInstalled = (pkg: string): RegExp => new RegExp(`not installed \\(apt-get install ${pkg}\\)`);

test('Open vSwitch, userspace datapath, af_packet ports', { timeout: 120_000 }, async () => {
  await exercise(ovsDevice('afpacket'), notInstalled('openvswitch-switch'));
});

test('Open vSwitch, userspace datapath, AF_XDP ports', { timeout: 120_000 }, async () => {
  await exercise(ovsDevice('afxdp'), /not installed \(apt-get install openvswitch-switch\)|has no AF_XDP support/);
});

test('vde_switch (vde2) on TAPs redirected to the veths', { timeout: 120_000 }, async () => {
  await exercise(vdeDevice(), notInstalled('vde2'));
});
