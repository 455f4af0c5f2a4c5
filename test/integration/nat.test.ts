// Integration of NAT mode with real clients (libvirt's default network, Xen vif-nat, VMware
// vmnet8): VMs get their addresses from switchyard's DHCP with busybox udhcpc, then reach
// an "internet" host behind a Linux router through masquerade. The internet host cannot
// open connections in unless forwarded; forwards and hairpinning work; ICMP errors from
// beyond the switch come back translated; leases survive a restart and a cut-short file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, existsSync, statSync, truncateSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Switch } from '../../src/index.ts';
import { Topology, ping, sh, waitFor, type Host } from '../helpers/netns.ts';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'udhcpc.script');

async function dhcp(topo: Topology, vm: Host, out: string): Promise<string> {
  const r = await topo.run(vm.ns, 'env', `SY_DHCP_OUT=${out}`, 'busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-t', '6', '-T', '1', '-A', '1', '-s', script);
  assert.equal(r.status, 0, `udhcpc in ${vm.ns}: ${r.out}${r.err}`);
  const line = readFileSync(out, 'utf8').trim().split('\n').pop()!;
  return line;
}

const UDP_ECHO = `
import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind((sys.argv[1],int(sys.argv[2])))
while True:
  d,a=s.recvfrom(2048); s.sendto(b'echo:'+d+b' from '+a[0].encode(),a)`;
const UDP_ASK = `
import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3); s.connect((sys.argv[1],int(sys.argv[2])))
s.send(b'hello')
try: print(s.recv(2048).decode())
except ConnectionRefusedError: print('refused')
except socket.timeout: print('timeout')`;

test('nat mode with DHCP, masquerade, forwards, hairpin, ICMP errors and lease persistence', { timeout: 240_000 }, async (t) => {
  const topo = new Topology();
  const state = mkdtempSync(join(tmpdir(), 'sy-nat-'));
  let sw: Switch | null = null;
  try {
    // the internet: a Linux router (10.200.0.1 on the switch's uplink LAN) and a host behind it
    const r = topo.host('r', '10.200.0.1/24');
    const inet = topo.ns('i');
    sh('ip', ['link', 'add', 'eth1', 'netns', r.ns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', inet]);
    sh('ip', ['-n', r.ns, 'addr', 'add', '10.201.0.1/24', 'dev', 'eth1']);
    sh('ip', ['-n', r.ns, 'link', 'set', 'eth1', 'up']);
    sh('ip', ['-n', inet, 'addr', 'add', '10.201.0.2/24', 'dev', 'eth0']);
    sh('ip', ['-n', inet, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', inet, 'route', 'add', 'default', 'via', '10.201.0.1']);
    topo.exec(r.ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    // the VMs: no address until DHCP; vm1 has a reservation
    const v1 = topo.host('v1', null);
    const v2 = topo.host('v2', null);
    sh('ip', ['-n', v1.ns, 'link', 'set', 'eth0', 'address', '52:54:00:12:34:56']);
    const config = {
      name: `${topo.prefix}nat`,
      runDir: `/tmp/${topo.prefix}-run`,
      stateDir: state,
      ports: { vm1: { afpacket: v1.rootIf }, vm2: { afpacket: v2.rootIf }, wan: { afpacket: r.rootIf } },
      networks: {
        private: {
          mode: 'nat',
          ports: ['vm1', 'vm2'],
          address: '192.168.150.1/24',
          uplink: { port: 'wan', address: '10.200.0.5/24', gateway: '10.200.0.1' },
          dhcp: { range: '192.168.150.100-192.168.150.199', leaseSeconds: 3600, dns: ['192.168.150.1'], static: { '52:54:00:12:34:56': '192.168.150.10' } },
          forwards: ['tcp 8080 -> 192.168.150.10:8000', 'udp 5353 -> 192.168.150.10:5353'],
        },
      },
    };
    sw = await Switch.start(config, { log: () => {} });
    let v2ip = '';

    await t.test('VMs get their addresses, router and DNS from the DHCP server (udhcpc)', async () => {
      const l1 = await dhcp(topo, v1, join(state, 'v1.out'));
      assert.match(l1, /ip=192\.168\.150\.10 mask=24 router=192\.168\.150\.1 dns=192\.168\.150\.1 lease=3600/, l1);
      const l2 = await dhcp(topo, v2, join(state, 'v2.out'));
      const m = /ip=(192\.168\.150\.1\d\d) /.exec(l2);
      assert.ok(m, l2);
      v2ip = m![1];
      const leases = sw!.leases();
      assert.ok(leases.some((l) => l.ip === '192.168.150.10' && l.mac === '52:54:00:12:34:56'), JSON.stringify(leases));
      assert.ok(leases.some((l) => l.ip === v2ip && l.mac === v2.mac));
    });

    await t.test('ping through NAT', async () => {
      assert.equal(await ping(topo, v2.ns, '10.201.0.2', 2), 2);
      assert.equal(await ping(topo, v1.ns, '192.168.150.1', 1), 1, 'the gateway answers');
    });

    await t.test('curl a web server on the internet: it sees the uplink address', async () => {
      const srv = topo.spawn(inet, 'python3', '-m', 'http.server', '8000', '--bind', '10.201.0.2');
      let log = '';
      srv.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
      await waitFor('http server', async () => (await topo.run(inet, 'ss', '-ltn')).out.includes(':8000'));
      const c = await topo.run(v2.ns, 'curl', '-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.201.0.2:8000/');
      assert.equal(c.out, '200', c.err);
      await waitFor('server log', () => log.includes('GET /'), 3000);
      srv.kill();
      assert.match(log, /^10\.200\.0\.5 /m, log);
    });

    await t.test('a few seconds of iperf3 TCP through NAT', async () => {
      const srv = topo.spawn(inet, 'iperf3', '-s', '-1', '-B', '10.201.0.2');
      await waitFor('iperf3 server', async () => (await topo.run(inet, 'ss', '-ltn')).out.includes(':5201'));
      const out = JSON.parse(await topo.runOk(v2.ns, 'iperf3', '-c', '10.201.0.2', '-t', '3', '-J'));
      srv.kill();
      assert.ok(out.end.sum_received.bytes > 1_000_000, `${out.end.sum_received.bytes} bytes`);
    });

    await t.test('a UDP request gets its response through NAT', async () => {
      const srv = topo.spawn(inet, 'python3', '-c', UDP_ECHO, '10.201.0.2', '7777');
      await waitFor('udp server', async () => (await topo.run(inet, 'ss', '-lun')).out.includes(':7777'));
      const a = await topo.runOk(v2.ns, 'python3', '-c', UDP_ASK, '10.201.0.2', '7777');
      srv.kill();
      assert.equal(a.trim(), 'echo:hello from 10.200.0.5');
    });

    await t.test('ICMP errors from beyond the switch come back translated', async () => {
      const ttl = await topo.run(v2.ns, 'ping', '-n', '-c', '1', '-W', '2', '-t', '2', '10.201.0.2');
      assert.match(ttl.out, /From 10\.200\.0\.1 .*Time to live exceeded/i, ttl.out);
      const closed = await topo.runOk(v2.ns, 'python3', '-c', UDP_ASK, '10.201.0.2', '9');
      assert.equal(closed.trim(), 'refused', 'port unreachable reached the VM\'s socket');
    });

    await t.test('from the internet: nothing gets in unless forwarded; a forward reaches the VM', async () => {
      const srv = topo.spawn(v1.ns, 'python3', '-m', 'http.server', '8000', '--bind', '192.168.150.10');
      let log = '';
      srv.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
      await waitFor('vm1 http server', async () => (await topo.run(v1.ns, 'ss', '-ltn')).out.includes(':8000'));
      const no = await topo.run(inet, 'curl', '-sS', '--max-time', '2', 'http://10.200.0.5:8000/');
      assert.notEqual(no.status, 0, 'not forwarded: no connection');
      sh('ip', ['-n', inet, 'route', 'add', '192.168.150.0/24', 'via', '10.201.0.1']);
      sh('ip', ['-n', r.ns, 'route', 'add', '192.168.150.0/24', 'via', '10.200.0.5']);
      const direct = await topo.run(inet, 'curl', '-sS', '--max-time', '2', 'http://192.168.150.10:8000/');
      assert.notEqual(direct.status, 0, 'the private address is not reachable from outside');
      const yes = await topo.run(inet, 'curl', '-sS', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.200.0.5:8080/');
      assert.equal(yes.out, '200', yes.err);
      await waitFor('vm1 log', () => log.includes('GET /'), 3000);
      assert.match(log, /^10\.201\.0\.2 /m, 'DNAT keeps the client address: ' + log);
      const st = sw!.stats();
      assert.ok((st.drops['nat-unsolicited'] ?? 0) >= 1, JSON.stringify(st.drops));

      // hairpin: vm2 reaches vm1 through the uplink address and the forwarded port
      log = '';
      const h = await topo.run(v2.ns, 'curl', '-sS', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.200.0.5:8080/');
      assert.equal(h.out, '200', 'hairpin: ' + h.err);
      await waitFor('vm1 log (hairpin)', () => log.includes('GET /'), 3000);
      assert.match(log, /^10\.200\.0\.5 /m, 'the hairpinned connection comes from the uplink address');
      srv.kill();
    });

    await t.test('flows appear in conntrack', async () => {
      const ct = sw!.conntrack();
      assert.ok(ct.some((f) => f.proto === 'tcp' && f.src === v2ip && f.dst === '10.201.0.2' && f.dport === 5201), JSON.stringify(ct.slice(0, 5)));
      assert.ok(ct.some((f) => f.proto === 'icmp'), 'the ping flow');
      assert.equal(sw!.stats().pool.inUse, 0);
    });

    await t.test('a restart keeps the leases', async () => {
      await sw!.stop();
      sw = null;
      sw = await Switch.start(config, { log: () => {} });
      assert.ok(sw.leases().some((l) => l.ip === v2ip && l.mac === v2.mac), JSON.stringify(sw.leases()));
      sh('ip', ['-n', v2.ns, 'addr', 'flush', 'dev', 'eth0']);
      const again = await dhcp(topo, v2, join(state, 'v2.out'));
      assert.match(again, new RegExp(`ip=${v2ip.replace(/\./g, '\\.')} `), again);
    });

    await t.test('a lease file cut short does not stop the switch', async () => {
      await sw!.stop();
      sw = null;
      const file = readdirSync(state).map((f) => join(state, f)).find((f) => f.endsWith('.jsonl'));
      assert.ok(file && existsSync(file), `a lease file in ${state}: ${readdirSync(state).join(', ')}`);
      truncateSync(file!, statSync(file!).size - 7); // the last line cut short
      const logs: string[] = [];
      sw = await Switch.start(config, { log: (m) => logs.push(m) });
      assert.ok(sw.leases().length >= 1, 'what could be read was kept');
      assert.ok(logs.some((l) => /lease/i.test(l)), 'the damage is logged: ' + logs.join(' | '));
      assert.equal(await ping(topo, v1.ns, '192.168.150.1', 1), 1, 'and it forwards');
    });
  } finally {
    if (sw) await sw.stop();
    topo.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});
