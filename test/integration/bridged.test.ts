// Integration of bridged mode through the CLI, with real kernel stacks in namespaces:
// three namespaces on veths plus a host TAP port in one bridged network, a second bridged
// network beside it. Pings between every pair, iperf3 TCP with default offloads, the fdb
// seen through `show fdb --json`, a MAC move, a broadcast reaching everyone, isolation
// between networks, malformed frames dropped and counted while a ping flows, no pool slot
// leaked, and a clean shutdown on SIGTERM that removes the TAP the switch created.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdtempSync, existsSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Topology, ping, run, shStatus, sh, waitFor, lines, type Host } from '../helpers/netns.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'switchyard.js');
const tsxSniff = ['--import', 'tsx', join(root, 'test', 'helpers', 'sniff.ts')];
const inject = ['--import', 'tsx', join(root, 'test', 'helpers', 'native-inject.ts')];

async function cli(runDir: string, name: string, ...args: string[]): Promise<{ status: number; out: string; err: string }> {
  return run(process.execPath, [bin, ...args, '--name', name, '--run-dir', runDir]);
}

async function showJson<T>(runDir: string, name: string, what: string): Promise<T> {
  const r = await cli(runDir, name, 'show', what, '--json');
  assert.equal(r.status, 0, `show ${what}: ${r.err}`);
  return JSON.parse(r.out) as T;
}

interface FdbRow { network: string; mac: string; port: string }
interface PortRow { name: string; drops: Record<string, number>; counters: { rxPackets: number; txPackets: number } }
interface Stats { pool: { inUse: number; slots: number; free: number }; ports: PortRow[]; drops: Record<string, number> }

function macHex(mac: string): string { return mac.replace(/:/g, ''); }

/** Start sniffers on eth0 of each host; resolves to a function that returns their frames. */
async function sniff(topo: Topology, hosts: Host[], ms: number): Promise<() => Promise<Map<string, string[]>>> {
  const procs = hosts.map((h) => {
    const c = topo.track(spawn('ip', ['netns', 'exec', h.ns, process.execPath, ...tsxSniff, 'eth0', String(ms)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }));
    return { h, c, out: lines(c) };
  });
  await waitFor('sniffers ready', () => procs.every((p) => p.out.some((l) => l.includes('ready'))), 15000);
  return async () => {
    await Promise.all(procs.map((p) => new Promise((r) => (p.c.exitCode !== null ? r(null) : p.c.on('exit', r)))));
    const m = new Map<string, string[]>();
    for (const p of procs) m.set(p.h.ns, p.out.filter((l) => l.includes('frame')).map((l) => JSON.parse(l).frame as string));
    return m;
  };
}

test('bridged mode end to end through the CLI', { timeout: 180_000 }, async (t) => {
  const topo = new Topology();
  const runDir = mkdtempSync(join(tmpdir(), 'sy-run-'));
  const name = `${topo.prefix}br`;
  const tap = `${topo.prefix}t`;
  topo.own(tap);
  let sw: ChildProcess | null = null;
  const log: string[] = [];
  try {
    const a = topo.host('a', '10.77.0.1/24');
    const b = topo.host('b', '10.77.0.2/24');
    // c's veth carries jumbo frames so that oversize frames reach the switch (port mtu 1500)
    const c = topo.host('c', '10.77.0.3/24', { mtu: 9000 });
    const d = topo.host('d', '10.77.0.5/24'); // in the second network, same subnet on purpose
    const e = topo.host('e', '10.77.0.6/24');
    const h = topo.ns('h');                   // the "host" side of the TAP, kept in a namespace
    const cfg = join(runDir, 'switch.yaml');
    writeFileSync(cfg, [
      `name: ${name}`,
      `runDir: ${runDir}`,
      'ports:',
      `  a: { afpacket: ${a.rootIf} }`,
      `  b: { afpacket: ${b.rootIf} }`,
      `  c: { afpacket: ${c.rootIf}, mtu: 1500 }`,
      `  host: { tap: ${tap} }`,
      `  d: { afpacket: ${d.rootIf} }`,
      `  e: { afpacket: ${e.rootIf} }`,
      'networks:',
      '  lan: { mode: bridged, ports: [a, b, c, host] }',
      '  other: { mode: bridged, ports: [d, e] }',
      '',
    ].join('\n'));
    const checked = await run(process.execPath, [bin, 'check', '-c', cfg]);
    assert.equal(checked.status, 0, `check: ${checked.err}`);

    sw = spawn(process.execPath, [bin, 'run', '-c', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    sw.stderr!.on('data', (x: Buffer) => log.push(x.toString()));
    await waitFor('control socket', () => existsSync(join(runDir, `${name}.sock`)), 15000);
    await waitFor('tap device', () => shStatus('ip', ['link', 'show', tap]).status === 0, 5000);
    // the host joins through the TAP; its stack lives in namespace h for isolation
    sh('ip', ['link', 'set', tap, 'netns', h]);
    sh('ip', ['-n', h, 'addr', 'add', '10.77.0.4/24', 'dev', tap]);
    sh('ip', ['-n', h, 'link', 'set', tap, 'up']);
    const hostMac = JSON.parse(sh('ip', ['-j', '-n', h, 'link', 'show', tap]))[0].address as string;
    const ips: [string, string][] = [[a.ns, a.ip], [b.ns, b.ip], [c.ns, c.ip], [h, '10.77.0.4']];

    await t.test('every pair pings', async () => {
      for (const [from] of ips) for (const [to, ip] of ips) {
        if (from === to) continue;
        assert.equal(await ping(topo, from, ip, 2), 2, `${from} -> ${ip}`);
      }
    });

    await t.test('TCP with default offloads: iperf3 a -> b and host -> c', async () => {
      for (const [srv, srvIp, cl] of [[b.ns, b.ip, a.ns], [c.ns, c.ip, h]] as const) {
        const server = topo.spawn(srv, 'iperf3', '-s', '-1', '-B', srvIp);
        await waitFor('iperf3 server', async () => (await topo.run(srv, 'ss', '-ltn')).out.includes(':5201'));
        const r = JSON.parse(await topo.runOk(cl, 'iperf3', '-c', srvIp, '-t', '2', '-J'));
        server.kill();
        assert.ok(r.end.sum_received.bytes > 1_000_000, `${cl} -> ${srvIp}: ${r.end.sum_received.bytes} bytes`);
      }
    });

    await t.test('show fdb --json lists each MAC on its port', async () => {
      const fdb = await showJson<FdbRow[]>(runDir, name, 'fdb');
      for (const [mac, port] of [[a.mac, 'a'], [b.mac, 'b'], [c.mac, 'c'], [hostMac, 'host']]) {
        assert.ok(fdb.some((r) => r.mac === mac && r.port === port && r.network === 'lan'), `${mac} on ${port}: ${JSON.stringify(fdb)}`);
      }
      const text = await cli(runDir, name, 'show', 'fdb');
      assert.equal(text.status, 0);
      assert.match(text.out, new RegExp(a.mac));
    });

    await t.test('a MAC that moves to another port is relearned there', async () => {
      // frames with a's source MAC now come in on port c (a VM migrated, say)
      const frame = `ffffffffffff${macHex(a.mac)}88b5` + '00'.repeat(46);
      await topo.runOk(c.ns, process.execPath, ...inject, 'eth0', frame);
      await waitFor('a relearned on c', async () => (await showJson<FdbRow[]>(runDir, name, 'fdb')).some((r) => r.mac === a.mac && r.port === 'c'));
      // and back when a speaks again
      assert.equal(await ping(topo, a.ns, b.ip, 1), 1);
      await waitFor('a back on a', async () => (await showJson<FdbRow[]>(runDir, name, 'fdb')).some((r) => r.mac === a.mac && r.port === 'a'));
    });

    await t.test('a broadcast (arping) reaches every namespace of the network, and no other', async () => {
      const collect = await sniff(topo, [b, c, d, e], 2500);
      await topo.run(a.ns, 'arping', '-c', '1', '-I', 'eth0', '10.77.0.99');
      const seen = await collect();
      const isArpFromA = (f: string): boolean => f.startsWith('ffffffffffff' + macHex(a.mac) + '0806');
      for (const hst of [b, c]) assert.ok(seen.get(hst.ns)!.some(isArpFromA), `${hst.ns} saw the ARP broadcast`);
      for (const hst of [d, e]) assert.ok(!seen.get(hst.ns)!.some(isArpFromA), `${hst.ns} (other network) did not`);
    });

    await t.test('a second bridged network in the same switch cannot reach the first', async () => {
      assert.equal(await ping(topo, d.ns, e.ip, 2), 2, 'd and e reach each other');
      assert.equal(await ping(topo, d.ns, a.ip, 2), 0, 'd cannot reach a');
      assert.equal(await ping(topo, a.ns, e.ip, 2), 0, 'a cannot reach e');
    });

    await t.test('runt, truncated and oversize frames are dropped and counted while a ping flows', async () => {
      const pinger = topo.run(a.ns, 'ping', '-n', '-q', '-c', '15', '-i', '0.2', '-W', '2', b.ip);
      const src = macHex(c.mac);
      const truncated = `${macHex(b.mac)}${src}0800` + '4500003c0000';            // IPv4 header cut at 6 bytes
      const lenLie = `${macHex(b.mac)}${src}0100` + '00'.repeat(46);              // 802.3 length 256 > 46
      const big = (n: number): string => `${macHex(b.mac)}${src}88b5` + 'ab'.repeat(n - 14);
      // a veth drops a cut VLAN tag in the kernel (skb_vlan_untag) before any packet socket
      // sees it; the TAP's transmit path does not, so the runt goes in through the host TAP
      const runtFromHost = `${macHex(b.mac)}${macHex(hostMac)}8100002a`;
      for (let i = 0; i < 5; i++) {
        const r = await topo.runOk(c.ns, process.execPath, ...inject, 'eth0', truncated, lenLie, big(1700), big(4000));
        assert.ok(!r.includes('error'), r);
        const r2 = await topo.runOk(h, process.execPath, ...inject, tap, runtFromHost);
        assert.ok(!r2.includes('error'), r2);
        await new Promise((res) => setTimeout(res, 200));
      }
      const p = await pinger;
      assert.match(p.out, /15 received/, `ping kept flowing: ${p.out}`);
      const st = await showJson<Stats>(runDir, name, 'stats');
      const pc = st.ports.find((x) => x.name === 'c')!;
      assert.equal(st.ports.find((x) => x.name === 'host')!.drops.runt, 5, 'runt: a 16-byte frame whose VLAN tag is cut');
      assert.equal(pc.drops['ip4-truncated'], 5, JSON.stringify(pc.drops));
      assert.equal(pc.drops['bad-length'], 5);
      assert.equal(pc.drops.oversize, 10, 'oversize: 1700 B over the port MTU, and 4000 B over a slot');
      assert.ok(st.drops.runt >= 5 && st.drops.oversize >= 10);
    });

    await t.test('capture writes a pcap that tcpdump reads', async () => {
      const file = join(runDir, 'a.pcap');
      const cap = run(process.execPath, [bin, 'capture', 'a', '-w', file, '-c', '6', '--name', name, '--run-dir', runDir], 20000);
      await new Promise((res) => setTimeout(res, 500));
      assert.equal(await ping(topo, a.ns, b.ip, 4), 4);
      const r = await cap;
      assert.equal(r.status, 0, r.err);
      const dump = sh('tcpdump', ['-nn', '-r', file]);
      const n = dump.trim().split('\n').filter((l) => l.includes('ICMP echo')).length;
      assert.equal(n, 6, dump);
      assert.match(dump, new RegExp(`${a.ip.replace(/\./g, '\\.')} > ${b.ip.replace(/\./g, '\\.')}: ICMP echo request`));
    });

    await t.test('no pool slot is leaked after the run', async () => {
      const st = await showJson<Stats>(runDir, name, 'stats');
      assert.equal(st.pool.inUse, 0, JSON.stringify(st.pool));
      assert.equal(st.pool.free, st.pool.slots);
    });

    await t.test('SIGTERM: clean exit, control socket and created TAP removed', async () => {
      const exited = new Promise<number | null>((r) => sw!.on('exit', (code) => r(code)));
      sw!.kill('SIGTERM');
      assert.equal(await exited, 0, log.join(''));
      sw = null;
      assert.equal(existsSync(join(runDir, `${name}.sock`)), false, 'socket removed');
      assert.notEqual(shStatus('ip', ['-n', h, 'link', 'show', tap]).status, 0, 'TAP gone');
    });
  } finally {
    if (sw) sw.kill('SIGKILL');
    topo.dispose();
    rmSync(runDir, { recursive: true, force: true });
  }
});
