// config.test.ts — parseConfig/loadConfigFile: the SPEC example, defaults, round trip through
// formatConfig, and that every class of error names the path of the bad field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import {
  ConfigError, checkInterfaces, defaultConfig, deriveMac, formatConfig, loadConfigFile, parseConfig,
} from '../../src/config.ts';

const EXAMPLE = new URL('../../examples/spec-example.yaml', import.meta.url).pathname;
/** A fresh plain-object copy of the SPEC example, to mutate. */
const example = (): Record<string, any> => YAML.parse(readFileSync(EXAMPLE, 'utf8'));

/** Asserts that parseConfig(raw) throws a ConfigError with this path and a message matching re. */
function rejects(raw: unknown, path: string, re: RegExp): void {
  assert.throws(() => parseConfig(raw), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.equal(e.path, path, e.message);
    assert.match(e.message, re);
    assert.ok(e.message.startsWith(`${path}: `), e.message);
    return true;
  });
}

/** The example with one change applied. */
function mutate(f: (c: Record<string, any>) => void): Record<string, any> {
  const c = example();
  f(c);
  return c;
}

test('the SPEC example parses and normalises', () => {
  const c = loadConfigFile(EXAMPLE);
  assert.equal(c.name, 'lab');
  assert.equal(c.mac, '02:00:5e:00:53:01');
  assert.equal(c.runDir, '/run/switchyard');
  assert.equal(c.stateDir, '/var/lib/switchyard/lab');
  assert.deepEqual(c.pool, { slots: 16384 });
  assert.deepEqual(c.ports.vm1, { kind: 'afpacket', name: 'vm1', ifname: 'sy-vm1', promiscuous: false, mtu: null, ring: 4096 });
  assert.deepEqual(c.ports.host, { kind: 'tap', name: 'host', ifname: 'sy-host', address: '192.168.122.254/24', mtu: null });
  assert.equal((c.ports.lan as { promiscuous: boolean }).promiscuous, true);
  assert.deepEqual(Object.keys(c.networks), ['br0', 'pub', 'private', 'lab']);
  assert.deepEqual(c.networks.br0.ports, ['vm1', 'vm2', 'lan']);
  assert.deepEqual(c.networks.br0.fdb, { agingSeconds: 300, maxEntries: 65536 });
  const pub = c.networks.pub;
  assert.equal(pub.mode, 'routed');
  assert.equal(pub.gateway, '169.255.30.1');
  assert.deepEqual(pub.hosts, { '192.168.200.201': 'vm3' });
  assert.equal(pub.antiSpoof, true);
  assert.deepEqual(pub.uplink, { port: 'uplink', address: '192.168.0.64/24', gateway: '192.168.0.1' });
  const priv = c.networks.private;
  assert.equal(priv.address, '192.168.122.1/24');
  assert.deepEqual(priv.dhcp, {
    range: ['192.168.122.100', '192.168.122.199'], leaseSeconds: 3600, dns: ['192.168.122.1'],
    domain: null, static: { '52:54:00:12:34:56': '192.168.122.10' },
  });
  assert.deepEqual(priv.forwards, ['tcp 2222 -> 192.168.122.10:22', 'udp 5353 -> 192.168.122.11:53']);
  assert.deepEqual(c.networks.lab.dhcp?.dns, ['10.99.0.1']);
  assert.deepEqual(c.routes, ['10.50.0.0/16 via 192.168.0.254']);
  assert.deepEqual(c.rules, [{ fromPort: 'vm3', table: 'tenant' }]);
  assert.deepEqual(c.tables, { tenant: ['default via 192.168.0.254'] });
});

test('formatConfig round-trips to the same Config', () => {
  const c = loadConfigFile(EXAMPLE);
  const text = formatConfig(c);
  assert.deepEqual(parseConfig(YAML.parse(text)), c);
  assert.match(text, /"52:54:00:12:34:56": 192\.168\.122\.10/);
  const d = defaultConfig();
  assert.deepEqual(parseConfig(YAML.parse(formatConfig(d))), d);
});

test('defaults are filled', () => {
  const c = parseConfig({
    ports: { a: { afpacket: 'veth-a' }, b: { tap: 'tap-b' }, c: { afpacket: 'veth-c' } },
    networks: {
      n: { mode: 'bridged', ports: ['a', 'b'] },
      r: { mode: 'routed', ports: ['c'] },
      i: { mode: 'isolated', address: '10.1.0.1/16', dhcp: { range: '10.1.0.10 - 10.1.0.20' } },
    },
  });
  assert.equal(c.name, 'default');
  assert.equal(c.mac, deriveMac('default'));
  assert.match(c.mac, /^02(:[0-9a-f]{2}){5}$/);
  assert.equal(c.stateDir, '/var/lib/switchyard/default');
  assert.deepEqual(c.ports.b, { kind: 'tap', name: 'b', ifname: 'tap-b', address: null, mtu: null });
  assert.deepEqual(c.networks.n.fdb, { agingSeconds: 300, maxEntries: 65536 });
  assert.equal(c.networks.r.gateway, '169.255.30.1');
  assert.equal(c.networks.r.antiSpoof, true);
  assert.equal(c.networks.r.uplink, null);
  assert.deepEqual(c.networks.i.ports, []);
  assert.deepEqual(c.networks.i.dhcp, { range: ['10.1.0.10', '10.1.0.20'], leaseSeconds: 3600, dns: ['10.1.0.1'], domain: null, static: {} });
  assert.deepEqual(c.routes, []);
  assert.deepEqual(c.rules, []);
  assert.deepEqual(c.tables, {});
  // a different name derives a different MAC, stably
  assert.notEqual(deriveMac('lab'), deriveMac('default'));
  assert.equal(deriveMac('lab'), deriveMac('lab'));
  assert.equal(parseConfig({ name: 'x', stateDir: '/tmp/sy/' }).stateDir, '/tmp/sy');
});

test('null counts as absent', () => {
  const c = parseConfig({ ports: { a: { afpacket: 'eth0', mtu: null, promiscuous: null } }, routes: null });
  assert.deepEqual(c.ports.a, { kind: 'afpacket', name: 'a', ifname: 'eth0', promiscuous: false, mtu: null, ring: 4096 });
});

test('the default config is valid and matches the README', () => {
  const d = defaultConfig();
  assert.equal(d.name, 'default');
  assert.deepEqual(d.ports.host, { kind: 'tap', name: 'host', ifname: 'sy-host', address: '10.99.0.254/24', mtu: null });
  assert.equal(d.networks.default.mode, 'isolated');
  assert.equal(d.networks.default.address, '10.99.0.1/24');
  assert.deepEqual(d.networks.default.dhcp?.range, ['10.99.0.100', '10.99.0.199']);
  assert.deepEqual(d.networks.default.ports, ['host']);
  checkInterfaces(d, () => false); // a tap port needs no existing interface
});

test('unknown keys name their path', () => {
  rejects(mutate((c) => { c.prots = {}; }), 'prots', /unknown key at the top level \(expected one of name, mac/);
  rejects(mutate((c) => { c.ports.vm9 = { afpaket: 'x' }; }), 'ports.vm9',
    /^ports\.vm9: unknown key "afpaket" \(expected one of afpacket, tap, stream, dgram, promiscuous, mtu, address, ring\)$/);
  rejects(mutate((c) => { c.networks.br0.vlan = 5; }), 'networks.br0', /unknown key "vlan" \(expected one of mode, ports, fdb\)/);
  rejects(mutate((c) => { c.networks.private.dhcp.lease = 5; }), 'networks.private.dhcp', /unknown key "lease"/);
  rejects(mutate((c) => { c.networks.pub.uplink.gw = '1.2.3.4'; }), 'networks.pub.uplink', /unknown key "gw"/);
  rejects(mutate((c) => { c.networks.br0.fdb.aging = 5; }), 'networks.br0.fdb', /unknown key "aging"/);
  rejects(mutate((c) => { c.rules[0].priority = 5; }), 'rules[0]', /unknown key "priority"/);
  rejects(mutate((c) => { c.pool = { size: 5 }; }), 'pool', /unknown key "size"/);
});

test('mode-specific keys in another mode say so', () => {
  rejects(mutate((c) => { c.networks.br0.gateway = '10.0.0.1'; }), 'networks.br0.gateway', /applies only to routed networks, not bridged/);
  rejects(mutate((c) => { c.networks.lab.uplink = c.networks.private.uplink; }), 'networks.lab.uplink', /applies only to routed and nat networks, not isolated/);
  rejects(mutate((c) => { c.networks.pub.dhcp = { range: '1.1.1.1-1.1.1.2' }; }), 'networks.pub.dhcp', /applies only to nat and isolated networks, not routed/);
  rejects(mutate((c) => { c.networks.lab.forwards = []; }), 'networks.lab.forwards', /applies only to nat networks, not isolated/);
  rejects(mutate((c) => { c.ports.vm1.address = '10.0.0.1/24'; }), 'ports.vm1.address', /applies only to tap ports/);
  rejects(mutate((c) => { c.ports.host.promiscuous = true; }), 'ports.host.promiscuous', /applies only to afpacket ports/);
});

test('port errors', () => {
  rejects(mutate((c) => { c.ports.x = { afpacket: 'a', tap: 'b' }; }), 'ports.x', /only one of afpacket, tap/);
  rejects(mutate((c) => { c.ports.x = { mtu: 1500 }; }), 'ports.x', /missing the port kind/);
  rejects(mutate((c) => { c.ports.x = { afpacket: 'much-too-long-name' }; }), 'ports.x.afpacket', /invalid interface name/);
  rejects(mutate((c) => { c.ports.x = { afpacket: 'eth0:1' }; }), 'ports.x.afpacket', /invalid interface name/);
  rejects(mutate((c) => { c.ports.x = { afpacket: 'sy-vm1' }; }), 'ports.x.afpacket', /interface "sy-vm1" is already used by port "vm1"/);
  rejects(mutate((c) => { c.ports.vm1.mtu = 67; }), 'ports.vm1.mtu', /67 is out of range \(68\.\.9000\)/);
  rejects(mutate((c) => { c.ports.vm1.promiscuous = 'yes'; }), 'ports.vm1.promiscuous', /expected true or false, got string "yes"/);
  rejects(mutate((c) => { c.ports.host.address = '192.168.122.0/24'; }), 'ports.host.address', /network address/);
  rejects(mutate((c) => { c.ports.host.address = '192.168.122.150/24'; }), 'ports.host.address', /inside the DHCP range/);
  rejects(mutate((c) => { c.ports.host.address = '192.168.5.1/24'; }), 'ports.host.address', /outside 192\.168\.122\.0\/24/);
  rejects(mutate((c) => { c.ports['bad/name'] = { afpacket: 'x' }; }), 'ports["bad/name"]', /invalid port name/);
});

test('instance name and MAC', () => {
  rejects(mutate((c) => { c.name = '../etc'; }), 'name', /invalid instance name/);
  rejects(mutate((c) => { c.name = 'x'.repeat(33); }), 'name', /invalid instance name/);
  rejects(mutate((c) => { c.mac = '01:00:5e:00:00:01'; }), 'mac', /multicast/);
  rejects(mutate((c) => { c.mac = '02:00:5e:00:53'; }), 'mac', /invalid MAC address/);
  rejects(mutate((c) => { c.networks.private.dhcp.static = { 'zz:00:00:00:00:01': '192.168.122.10' }; }),
    'networks.private.dhcp.static["zz:00:00:00:00:01"]', /invalid MAC address/);
  assert.equal(parseConfig({ mac: '02-AB-00-00-00-01' }).mac, '02:ab:00:00:00:01');
});

test('network membership', () => {
  rejects(mutate((c) => { c.networks.br0.ports.push('vm6'); }), 'networks.lab.ports[0]', /port "vm6" is already in network "br0"/);
  rejects(mutate((c) => { c.networks.lab.ports.push('vm1'); }), 'networks.lab.ports[2]', /^networks\.lab\.ports\[2\]: port "vm1" is already in network "br0"$/);
  rejects(mutate((c) => { c.networks.br0.ports.push('vm9'); }), 'networks.br0.ports[3]', /unknown port "vm9"/);
  rejects(mutate((c) => { c.networks.br0.ports.push('vm1'); }), 'networks.br0.ports[3]', /listed twice/);
  rejects(mutate((c) => { c.networks.pub.hosts['192.168.200.202'] = 'vm4'; }), 'networks.pub.hosts["192.168.200.202"]',
    /port "vm4" is not in network "pub" \(its ports: vm3\)/);
  rejects(mutate((c) => { c.networks.pub.ports.push('uplink'); }), 'networks.pub.uplink.port', /an uplink port must not be listed there/);
  rejects(mutate((c) => { c.networks.br0.ports.push('wan'); }), 'networks.private.uplink.port', /port "wan" is already in network "br0"/);
  rejects(mutate((c) => { c.networks.private.uplink.port = 'uplink'; }), 'networks.private.uplink.port', /already the uplink of network "pub"/);
  rejects(mutate((c) => { c.networks.lab.ports.push('uplink'); }), 'networks.lab.ports[2]', /already the uplink of network "pub"/);
});

test('modes and required keys', () => {
  rejects(mutate((c) => { c.networks.br0.mode = 'bridge'; }), 'networks.br0.mode', /unknown mode "bridge" \(expected one of bridged, routed, nat, isolated\)/);
  rejects(mutate((c) => { delete c.networks.br0.mode; }), 'networks.br0.mode', /required/);
  rejects(mutate((c) => { delete c.networks.private.address; }), 'networks.private.address', /required for nat networks/);
  rejects(mutate((c) => { delete c.networks.private.uplink; }), 'networks.private.uplink', /required for nat networks/);
  rejects(mutate((c) => { delete c.networks.lab.address; }), 'networks.lab.address', /required for isolated networks/);
  rejects(mutate((c) => { c.networks.br0.fdb.maxEntries = 0; }), 'networks.br0.fdb.maxEntries', /out of range/);
  rejects(mutate((c) => { c.networks.br0.fdb.agingSeconds = 1.5; }), 'networks.br0.fdb.agingSeconds', /expected an integer/);
  rejects(mutate((c) => { c.pool = { slots: 100 }; }), 'pool.slots', /out of range \(1024\.\.1048576\)/);
});

test('addresses', () => {
  rejects(mutate((c) => { c.networks.private.address = '192.168.122.1'; }), 'networks.private.address', /expected a\.b\.c\.d\/len/);
  rejects(mutate((c) => { c.networks.private.address = '192.168.122.255/24'; }), 'networks.private.address', /broadcast address/);
  rejects(mutate((c) => { c.networks.pub.uplink.gateway = '192.168.1.1'; }), 'networks.pub.uplink.gateway', /192\.168\.1\.1 is outside 192\.168\.0\.0\/24/);
  rejects(mutate((c) => { c.networks.pub.uplink.address = '192.168.0.300/24'; }), 'networks.pub.uplink.address', /invalid address/);
  rejects(mutate((c) => { c.networks.pub.hosts = { '192.168.200.01': 'vm3' }; }), 'networks.pub.hosts["192.168.200.01"]', /invalid IPv4/);
  rejects(mutate((c) => { c.networks.private.dhcp.static['52:54:00:00:00:01'] = '192.168.5.10'; }),
    'networks.private.dhcp.static["52:54:00:00:00:01"]', /192\.168\.5\.10 is outside 192\.168\.122\.0\/24/);
  rejects(mutate((c) => { c.networks.private.dhcp.dns = ['8.8.8']; }), 'networks.private.dhcp.dns[0]', /invalid IPv4/);
  rejects(mutate((c) => { c.networks.lab.address = '192.168.122.1/24'; }), 'networks.lab.address', /already used at networks\.private\.address/);
  rejects(mutate((c) => { c.networks.private.uplink.address = '192.168.0.5/24'; c.networks.private.uplink.gateway = null; }),
    'networks.private.uplink.address', /overlaps 192\.168\.0\.0\/24 \(networks\.pub\.uplink\.address\)/);
});

test('dhcp range', () => {
  rejects(mutate((c) => { c.networks.private.dhcp.range = '192.168.5.10-192.168.122.20'; }), 'networks.private.dhcp.range',
    /^networks\.private\.dhcp\.range: 192\.168\.5\.10 is outside 192\.168\.122\.0\/24$/);
  rejects(mutate((c) => { c.networks.private.dhcp.range = '192.168.122.199-192.168.122.100'; }), 'networks.private.dhcp.range', /reversed/);
  rejects(mutate((c) => { c.networks.private.dhcp.range = '192.168.122.1-192.168.122.100'; }), 'networks.private.dhcp.range', /contains the switch's own address 192\.168\.122\.1/);
  rejects(mutate((c) => { c.networks.private.dhcp.range = '192.168.122.100'; }), 'networks.private.dhcp.range', /expected FIRST-LAST/);
  rejects(mutate((c) => { c.networks.private.dhcp.leaseSeconds = 30; }), 'networks.private.dhcp.leaseSeconds', /out of range/);
  rejects(mutate((c) => { delete c.networks.private.dhcp.range; }), 'networks.private.dhcp.range', /required/);
  rejects(mutate((c) => { c.networks.private.dhcp.domain = 'bad domain'; }), 'networks.private.dhcp.domain', /invalid domain/);
});

test('forwards', () => {
  rejects(mutate((c) => { c.networks.private.forwards = ['tcp 2222 => 192.168.122.10:22']; }), 'networks.private.forwards[0]',
    /expected "tcp\|udp PORT -> IP:PORT"/);
  rejects(mutate((c) => { c.networks.private.forwards = ['sctp 1 -> 192.168.122.10:22']; }), 'networks.private.forwards[0]', /expected/);
  rejects(mutate((c) => { c.networks.private.forwards = ['tcp 70000 -> 192.168.122.10:22']; }), 'networks.private.forwards[0]', /out of range/);
  rejects(mutate((c) => { c.networks.private.forwards = ['tcp 22 -> 10.0.0.9:22']; }), 'networks.private.forwards[0]', /outside 192\.168\.122\.0\/24/);
  rejects(mutate((c) => { c.networks.private.forwards.push('TCP 2222 -> 192.168.122.11:22'); }), 'networks.private.forwards[2]', /tcp 2222 is already forwarded/);
  const c = parseConfig(mutate((x) => { x.networks.private.forwards = ['TCP  80->192.168.122.10:8080']; }));
  assert.deepEqual(c.networks.private.forwards, ['tcp 80 -> 192.168.122.10:8080']);
});

test('routes, rules and tables', () => {
  rejects(mutate((c) => { c.routes = ['10.50.0.0/16 through 192.168.0.254']; }), 'routes[0]', /expected "PREFIX via IP"/);
  rejects(mutate((c) => { c.routes = ['10.50.0.1/16 via 192.168.0.254']; }), 'routes[0]', /host bits set \(did you mean 10\.50\.0\.0\/16\?\)/);
  rejects(mutate((c) => { c.routes = ['10.50.0.0/16 via 172.16.0.1']; }), 'routes[0]', /gateway 172\.16\.0\.1 is not in a directly connected subnet/);
  rejects(mutate((c) => { c.routes = ['10.50.0.0/16 dev vm9']; }), 'routes[0]', /unknown port "vm9"/);
  rejects(mutate((c) => { c.routes.push('10.50.0.0/16 dev vm3'); }), 'routes[1]', /duplicate route for 10\.50\.0\.0\/16 \(routes\[0\]\)/);
  rejects(mutate((c) => { c.rules[0].table = 'nope'; }), 'rules[0].table', /unknown table "nope" \(tables: tenant\)/);
  rejects(mutate((c) => { c.rules[0].fromPort = 'nope'; }), 'rules[0].fromPort', /unknown port "nope"/);
  rejects(mutate((c) => { c.rules.push({ fromPort: 'vm3', table: 'tenant' }); }), 'rules[1].fromPort', /already has a rule \(rules\[0\]\)/);
  rejects(mutate((c) => { c.tables.tenant = ['default via nowhere']; }), 'tables.tenant[0]', /invalid gateway address/);
  const c = parseConfig(mutate((x) => { x.routes = ['0.0.0.0/0 via 10.0.0.1', '10.7.0.0/16 via 192.168.200.201', '10.8.0.0/16 dev vm3']; }));
  assert.deepEqual(c.routes, ['default via 10.0.0.1', '10.7.0.0/16 via 192.168.200.201', '10.8.0.0/16 dev vm3']);
});

test('types are checked with a hint', () => {
  rejects(mutate((c) => { c.ports.vm1.afpacket = 1234; }), 'ports.vm1.afpacket', /expected an interface name, got number 1234 \(quote it\)/);
  rejects(mutate((c) => { c.networks.br0.ports = 'vm1'; }), 'networks.br0.ports', /expected a list/);
  rejects(mutate((c) => { c.networks = []; }), 'networks', /expected a mapping/);
  assert.throws(() => parseConfig([]), /expected a mapping at the top level/);
});

test('checkInterfaces names the afpacket port whose interface is missing', () => {
  const c = loadConfigFile(EXAMPLE);
  assert.throws(() => checkInterfaces(c, (i) => i !== 'sy-vm3'), (e: unknown) =>
    e instanceof ConfigError && e.path === 'ports.vm3.afpacket' && e.message === 'ports.vm3.afpacket: interface "sy-vm3" does not exist');
  checkInterfaces(c, (i) => i !== 'sy-host'); // taps are created when missing
});

test('loadConfigFile: YAML and JSON syntax errors name file, line and column', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-config-'));
  const y = join(dir, 'bad.yaml');
  writeFileSync(y, 'name: lab\nports:\n  a: { afpacket: eth0\n');
  assert.throws(() => loadConfigFile(y), (e: unknown) => e instanceof ConfigError && e.path.startsWith(`${y}:`) && /invalid YAML/.test(e.message));
  const dup = join(dir, 'dup.yaml');
  writeFileSync(dup, 'name: a\nname: b\n');
  assert.throws(() => loadConfigFile(dup), (e: unknown) => e instanceof ConfigError && e.path === `${dup}:2:1` && /unique/.test(e.message));
  const j = join(dir, 'bad.json');
  writeFileSync(j, '{\n  "name": "lab",\n  "ports": {,}\n}\n');
  assert.throws(() => loadConfigFile(j), (e: unknown) => e instanceof ConfigError && e.path === `${j}:3:13` && /invalid JSON/.test(e.message));
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ name: 'lab', ports: { a: { afpacket: 'eth0' } } }));
  assert.equal((loadConfigFile(good).ports.a as { ifname: string }).ifname, 'eth0');
  assert.throws(() => loadConfigFile(join(dir, 'missing.yaml')), /missing\.yaml: cannot read config file: no such file/);
});

test('stream and dgram ports: QEMU socket paths, normalised and printed back', () => {
  const c = parseConfig({
    ports: { s: { stream: '/run/sy//vm1.sock' }, d: { dgram: '/run/sy/vm2.sock', mtu: 9000 }, a: { afpacket: 'eth0' } },
    networks: { lan: { mode: 'bridged', ports: ['s', 'd', 'a'] } },
  });
  assert.deepEqual(c.ports.s, { kind: 'stream', name: 's', path: '/run/sy/vm1.sock', mtu: null });
  assert.deepEqual(c.ports.d, { kind: 'dgram', name: 'd', path: '/run/sy/vm2.sock', mtu: 9000 });
  assert.deepEqual(parseConfig(YAML.parse(formatConfig(c))), c);
  assert.match(formatConfig(c), /s: \{ stream: \/run\/sy\/vm1\.sock, mtu: null \}/);
  // no interface behind a socket: checkInterfaces leaves them alone
  checkInterfaces(c, (i) => i === 'eth0');
});

test('stream and dgram port errors name their path', () => {
  const port = (p: unknown): Record<string, unknown> => ({ ports: { x: p, y: { stream: '/tmp/y.sock' } } });
  rejects(port({ stream: 'vm1.sock' }), 'ports.x.stream', /"vm1\.sock" must be an absolute path/);
  rejects(port({ dgram: '/tmp/' }), 'ports.x.dgram', /names a directory/);
  rejects(port({ stream: '/tmp/' + 'x'.repeat(110) }), 'ports.x.stream', /115 bytes; a unix socket path holds at most 107/);
  rejects(port({ dgram: 42 }), 'ports.x.dgram', /expected a unix socket path, got number 42/);
  rejects(port({ stream: '/tmp/a.sock', dgram: '/tmp/b.sock' }), 'ports.x', /give only one of afpacket, tap, stream, dgram \(got stream and dgram\)/);
  rejects(port({ stream: '/tmp/y.sock' }), 'ports.y.stream', /socket \/tmp\/y\.sock is already used by port "x"/);
  rejects(port({ dgram: '/tmp/a.sock', address: '10.0.0.1/24' }), 'ports.x.address', /applies only to tap ports, not dgram/);
  rejects(port({ stream: '/tmp/a.sock', promiscuous: true }), 'ports.x.promiscuous', /applies only to afpacket ports, not stream/);
  rejects(port({ stream: '/tmp/a.sock', mtu: 10000 }), 'ports.x.mtu', /out of range/);
  rejects(port({ mtu: 1500 }), 'ports.x', /give afpacket: IFNAME, tap: IFNAME, stream: PATH or dgram: PATH/);
});

test('ring: an afpacket port takes an RX ring size, a power of two in 256..65536', () => {
  const base = (port: Record<string, unknown>): unknown => ({ ports: { a: port }, networks: { n: { mode: 'bridged', ports: ['a'] } } });
  assert.equal(parseConfig(base({ afpacket: 'eth0', ring: 32768 })).ports.a.kind === 'afpacket' && (parseConfig(base({ afpacket: 'eth0', ring: 32768 })).ports.a as { ring: number }).ring, 32768);
  assert.throws(() => parseConfig(base({ afpacket: 'eth0', ring: 3000 })), /ports\.a\.ring: 3000 is not a power of two/);
  assert.throws(() => parseConfig(base({ afpacket: 'eth0', ring: 128 })), /ports\.a\.ring/);
  assert.throws(() => parseConfig(base({ tap: 'tap0', ring: 4096 })), /ports\.a\.ring: "ring" applies only to afpacket ports/);
});
