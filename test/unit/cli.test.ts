// cli.test.ts — main() called directly: check (exit 0/2 and messages), show against a fake
// control server (text and --json), capture into a file and to stdout, usage errors, and the
// built-in default configuration against examples/default.yaml.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { main, type CliIO } from '../../src/cli.ts';
import { defaultConfig, formatConfig, loadConfigFile } from '../../src/config.ts';
import { socketPath, startControlServer, type ControlTarget } from '../../src/control.ts';
import { readPcap } from '../../src/io/pcap.ts';
import type { FdbEntryView, PortView, StatsView } from '../../src/types.ts';
import type { ConntrackView, NeighborView, RouteView } from '../../src/routing.ts';
import type { LeaseEntry } from '../../src/format.ts';

// `show leases` prints expiry in local time
process.env.TZ = 'UTC';

const dir = mkdtempSync(join(tmpdir(), 'sy-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const EXAMPLE = new URL('../../examples/spec-example.yaml', import.meta.url).pathname;

interface Run { code: number; out: string; outBytes: Buffer; err: string }

async function run(argv: string[], extra: Partial<CliIO> = {}): Promise<Run> {
  const out: Buffer[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    stdout: { write: (c: string | Uint8Array) => { out.push(Buffer.from(c)); return true; } },
    stderr: { write: (s: string) => { err.push(s); return true; } },
    interfaceExists: (i) => i === 'lo' || i === 'eth0',
    ...extra,
  });
  const outBytes = Buffer.concat(out);
  return { code, out: outBytes.toString('utf8'), outBytes, err: err.join('') };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const PORTS: PortView[] = [
  {
    name: 'vm1', kind: 'afpacket', ifname: 'sy-vm1', network: 'br0', state: 'up', mac: '02:00:00:00:00:01', mtu: 1500,
    counters: { rxPackets: 1234, rxBytes: 1_500_000, txPackets: 7, txBytes: 420, rxDrops: 3, txDrops: 0 },
    drops: { runt: 2, 'bad-ethertype': 1 },
  },
  {
    name: 'host', kind: 'tap', ifname: 'sy-host', network: 'br0', state: 'down', mac: null, mtu: 9000,
    counters: { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, rxDrops: 0, txDrops: 0 },
    drops: {},
  },
];
const FDB: FdbEntryView[] = [
  { network: 'br0', mac: '52:54:00:00:00:02', port: 'vm1', ageSeconds: 75 },
  { network: 'br0', mac: '52:54:00:00:00:01', port: 'host', ageSeconds: 3 },
];
const STATS: StatsView = {
  name: 'lab', uptimeSeconds: 3725,
  pool: { slots: 16384, free: 16000, inUse: 384, allocFailures: 0 },
  ports: PORTS,
  nodes: [{ name: 'eth-input', calls: 10, vectors: 10, packets: 1234, vectorSize: 123.4, nsPerPacket: 41.25, counters: { runt: 2 } }],
  drops: { runt: 2, 'bad-ethertype': 1 },
  fdb: [{ network: 'br0', entries: 2, learned: 5, moves: 1, evictions: 0, aged: 3 }],
};

const NEIGH: NeighborView[] = [
  { address: '192.168.0.99', hwtype: 'ether', hwaddress: '(incomplete)', flags: '', mask: '', iface: 'uplink', state: 'incomplete' },
  { address: '192.168.0.1', hwtype: 'ether', hwaddress: '52:54:00:aa:bb:cc', flags: 'C', mask: '', iface: 'uplink', state: 'reachable' },
  { address: '192.168.200.201', hwtype: '*', hwaddress: '*', flags: 'MP', mask: '*', iface: 'uplink', state: 'published' },
];
const ROUTES: RouteView[] = [
  { table: 'main', dst: '192.168.200.201', via: null, dev: 'vm3', proto: 'host', src: null },
  { table: 'main', dst: '192.168.0.0/24', via: null, dev: 'uplink', proto: 'kernel', src: '192.168.0.64' },
  { table: 'main', dst: 'default', via: '192.168.0.1', dev: 'uplink', proto: 'static', src: null },
  { table: 'tenant', dst: '192.168.200.201', via: null, dev: 'vm3', proto: 'host', src: null },
  { table: 'tenant', dst: 'default', via: '192.168.0.254', dev: 'uplink', proto: 'static', src: null },
];

class Fake implements ControlTarget {
  readonly name = 'lab';
  readonly subs = new Set<(dir: 'rx' | 'tx', frame: Uint8Array, timeNs: bigint) => void>();
  ports(): PortView[] { return PORTS; }
  fdb(): FdbEntryView[] { return FDB; }
  stats(): StatsView { return STATS; }
  neighbors(): NeighborView[] { return NEIGH; }
  routes(): RouteView[] { return ROUTES; }
  capture(port: string, onFrame: (dir: 'rx' | 'tx', frame: Uint8Array, timeNs: bigint) => void): () => void {
    if (port !== 'vm1') throw new Error(`no port "${port}"`);
    this.subs.add(onFrame);
    return () => { this.subs.delete(onFrame); };
  }
  push(n: number): void {
    for (let i = 0; i < n; i++) for (const f of this.subs) f('rx', new Uint8Array(60).fill(i), BigInt(i) * 1000n);
  }
}

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---- check ----

test('check: a good file prints the normalised config, exit 0', async () => {
  const p = file('good.yaml', 'name: lab\nports:\n  a: { afpacket: lo }\n  h: { tap: sy-h }\nnetworks:\n  n: { mode: bridged, ports: [a, h] }\n');
  const r = await run(['check', '-c', p]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  assert.deepEqual(YAML.parse(r.out).networks.n, { mode: 'bridged', ports: ['a', 'h'], fdb: { agingSeconds: 300, maxEntries: 65536 } });
  assert.equal(YAML.parse(r.out).stateDir, '/var/lib/switchyard/lab');
  // the positional form and --config= work too
  assert.equal((await run(['check', p])).code, 0);
  assert.equal((await run(['check', `--config=${p}`])).code, 0);
});

test('check: bad files exit 2 with the path of the bad field', async () => {
  const bad = file('bad.yaml', 'name: lab\nports:\n  a: { afpacket: lo, promiscous: true }\n');
  let r = await run(['check', '-c', bad]);
  assert.equal(r.code, 2);
  assert.equal(r.out, '');
  assert.equal(r.err, 'switchyard: ports.a: unknown key "promiscous" (expected one of afpacket, tap, stream, dgram, promiscuous, mtu, address, ring)\n');

  r = await run(['check', '-c', EXAMPLE]);
  assert.equal(r.code, 2);
  assert.equal(r.err, 'switchyard: ports.vm1.afpacket: interface "sy-vm1" does not exist\n');

  r = await run(['check', '-c', EXAMPLE, '--skip-interfaces']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(YAML.parse(r.out).name, 'lab');

  r = await run(['check', '-c', file('syntax.yaml', 'ports: [\n')]);
  assert.equal(r.code, 2);
  assert.match(r.err, /^switchyard: .*syntax\.yaml:\d+:\d+: invalid YAML/);

  r = await run(['check', '-c', join(dir, 'missing.yaml')]);
  assert.equal(r.code, 2);
  assert.match(r.err, /missing\.yaml: cannot read config file: no such file/);
});

test('check: the built-in examples are accepted (bar their interfaces)', async () => {
  for (const ex of ['bridged.yaml', 'spec-example.yaml', 'default.yaml']) {
    const p = new URL(`../../examples/${ex}`, import.meta.url).pathname;
    const r = await run(['check', '-c', p], { interfaceExists: () => true });
    assert.equal(r.code, 0, `${ex}: ${r.err}`);
    assert.deepEqual(loadConfigFile(p), loadConfigFile(file(`norm-${ex}`, r.out)));
  }
});

// ---- usage ----

test('usage errors exit 2 with the usage on stderr', async () => {
  for (const argv of [[], ['frobnicate'], ['check'], ['show'], ['show', 'everything'], ['show', 'ports', '--bogus'],
    ['capture'], ['capture', 'vm1', '-c', 'x'], ['capture', 'vm1', '-Q', 'sideways'], ['show', 'ports', '--name'],
    ['show', 'ports', '--name', '../x'], ['run', 'extra']]) {
    const r = await run(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    assert.match(r.err, /^switchyard: .*\n\nusage: switchyard/, argv.join(' '));
    assert.equal(r.out, '');
  }
  assert.match((await run(['frobnicate'])).err, /unknown command "frobnicate"/);
  assert.match((await run(['show', 'ports', '--bogus'])).err, /show: unknown option --bogus/);
});

test('help and version', async () => {
  for (const argv of [['help'], ['--help'], ['-h'], ['show', '--help']]) {
    const r = await run(argv);
    assert.equal(r.code, 0);
    assert.match(r.out, /^usage: switchyard/);
  }
  const v = await run(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.out, /^switchyard \d+\.\d+\.\d+\n$/);
});

// ---- show ----

test('show against a running instance: text and --json', async () => {
  const runDir = join(dir, 'run-show');
  const srv = await startControlServer(new Fake(), socketPath(runDir, 'lab'));
  const at = ['--name', 'lab', '--run-dir', runDir];
  try {
    let r = await run(['show', 'ports', ...at, '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), PORTS);

    r = await run(['show', 'ports', ...at]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.match(lines[0], /^PORT +KIND +IFNAME +NETWORK +STATE +MAC +MTU +RX-PKTS +RX-BYTES +RX-DROP +TX-PKTS +TX-BYTES +TX-DROP$/);
    assert.match(lines[1], /^vm1 +afpacket +sy-vm1 +br0 +up +02:00:00:00:00:01 +1500 +1234 +1\.43 MiB +3 +7 +420 B +0$/);
    assert.match(lines[2], /^host +tap +sy-host +br0 +down +- +9000 +0 +0 B +0 +0 +0 B +0$/);
    // columns line up: every column starts at the same offset in every row
    assert.equal(lines[0].indexOf('KIND'), lines[1].indexOf('afpacket'));
    assert.equal(lines[0].indexOf('KIND'), lines[2].indexOf('tap'));
    assert.match(r.out, /vm1 +runt=2 bad-ethertype=1/);

    r = await run(['show', 'fdb', ...at]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, [
      'NETWORK  MAC                PORT    AGE',
      'br0      52:54:00:00:00:01  host     3s',
      'br0      52:54:00:00:00:02  vm1   1m15s',
      '',
    ].join('\n'));
    assert.deepEqual(JSON.parse((await run(['show', 'fdb', ...at, '--json'])).out), FDB);

    r = await run(['show', 'stats', ...at]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^instance lab, up 1h02m\n/);
    assert.match(r.out, /pool: 384 of 16384 slots in use/);
    assert.match(r.out, /eth-input +10 +10 +1234 +123\.4 +41\.3 +runt=2/);
    assert.match(r.out, /DROP REASON +COUNT\nrunt +2\nbad-ethertype +1\n/);
    assert.deepEqual(JSON.parse((await run(['show', 'stats', ...at, '--json'])).out), STATS);

    r = await run(['show', 'neigh', ...at]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, [
      'Address                  HWtype  HWaddress           Flags Mask            Iface',
      '192.168.0.1              ether   52:54:00:aa:bb:cc   C                     uplink',
      '192.168.0.99                     (incomplete)                              uplink',
      '192.168.200.201          *       *                   MP                    uplink',
      '',
    ].join('\n'));
    assert.deepEqual(JSON.parse((await run(['show', 'neigh', ...at, '--json'])).out), NEIGH);

    r = await run(['show', 'routes', ...at]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, [
      'default via 192.168.0.1 dev uplink proto static',
      '192.168.0.0/24 dev uplink proto kernel scope link src 192.168.0.64',
      '192.168.200.201 dev vm3 scope link',
      'default via 192.168.0.254 dev uplink table tenant proto static',
      '192.168.200.201 dev vm3 table tenant scope link',
      '',
    ].join('\n'));
    assert.deepEqual(JSON.parse((await run(['show', 'routes', ...at, '--json'])).out), ROUTES);

    r = await run(['show', 'conntrack', ...at]);
    assert.equal(r.code, 1);
    assert.equal(r.err, 'switchyard: show conntrack: not available in this instance\n');

    // --config takes name and run directory from a config file
    const cfg = file('lab.yaml', `name: lab\nrunDir: ${runDir}\n`);
    assert.equal((await run(['show', 'fdb', '--config', cfg, '--json'])).code, 0);

    // another name: not running, and the running ones are named
    r = await run(['show', 'ports', '--name', 'nope', '--run-dir', runDir]);
    assert.equal(r.code, 1);
    assert.equal(r.err, `switchyard: no instance "nope" running (${join(runDir, 'nope.sock')}); running: lab (use --name)\n`);
  } finally {
    await srv.close();
  }
  const r = await run(['show', 'ports', '--name', 'lab', '--run-dir', runDir]);
  assert.equal(r.code, 1);
  assert.equal(r.err, `switchyard: no instance "lab" running (${join(runDir, 'lab.sock')})\n`);
});

test('show neigh / routes of an instance without a routed network: header only / nothing, exit 0', async () => {
  const runDir = join(dir, 'run-show-empty');
  class Bridged extends Fake {
    override neighbors(): NeighborView[] { return []; }
    override routes(): RouteView[] { return []; }
  }
  const srv = await startControlServer(new Bridged(), socketPath(runDir, 'lab'));
  const at = ['--name', 'lab', '--run-dir', runDir];
  try {
    let r = await run(['show', 'neigh', ...at]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'Address                  HWtype  HWaddress           Flags Mask            Iface\n');
    r = await run(['show', 'routes', ...at]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '');
    for (const what of ['neigh', 'routes']) {
      r = await run(['show', what, ...at, '--json']);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, '[]\n');
    }
  } finally {
    await srv.close();
  }
});

// ---- show conntrack / leases ----

const FLOWS: ConntrackView[] = [
  {
    network: 'private', proto: 'udp', state: 'UNREPLIED', timeout: 29, src: '192.168.122.100', dst: '10.0.0.53', sport: 5353, dport: 53,
    replySrc: '10.0.0.53', replyDst: '10.0.0.5', replySport: 53, replyDport: 5353, packets: 1, origin: 'inside',
  },
  {
    network: 'private', proto: 'tcp', state: 'ESTABLISHED', timeout: 7439, src: '192.168.122.100', dst: '10.0.0.9', sport: 40112, dport: 8000,
    replySrc: '10.0.0.9', replyDst: '10.0.0.5', replySport: 8000, replyDport: 40112, packets: 12, origin: 'inside',
  },
];
const LEASES: LeaseEntry[] = [
  { network: 'private', mac: '52:54:00:12:34:56', ip: '192.168.122.10', hostname: 'db', clientId: null, expiresAt: Date.UTC(2025, 5, 1, 12, 0, 0), state: 'static' },
  { network: 'private', mac: '52:54:00:12:34:01', ip: '192.168.122.100', hostname: null, clientId: '01:52:54:00:12:34:01', expiresAt: Date.UTC(2025, 5, 1, 12, 30, 0), state: 'bound' },
  { network: 'private', mac: '52:54:00:12:34:02', ip: '192.168.122.101', hostname: null, clientId: null, expiresAt: Date.UTC(2025, 5, 1, 11, 1, 0), state: 'offered' },
];

test('show conntrack and leases: text like conntrack -L / virsh net-dhcp-leases, and --json', async () => {
  const runDir = join(dir, 'run-show-nat');
  class Nat extends Fake {
    conntrack(): ConntrackView[] { return FLOWS; }
    leases(): LeaseEntry[] { return LEASES; }
  }
  const srv = await startControlServer(new Nat(), socketPath(runDir, 'lab'));
  const at = ['--name', 'lab', '--run-dir', runDir];
  try {
    let r = await run(['show', 'conntrack', ...at]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, [
      'tcp      6 7439 ESTABLISHED src=192.168.122.100 dst=10.0.0.9 sport=40112 dport=8000 packets=12 src=10.0.0.9 dst=10.0.0.5 sport=8000 dport=40112 [ASSURED] network=private',
      'udp      17 29 src=192.168.122.100 dst=10.0.0.53 sport=5353 dport=53 packets=1 [UNREPLIED] src=10.0.0.53 dst=10.0.0.5 sport=53 dport=5353 network=private',
      '',
    ].join('\n'));
    assert.equal(r.err, 'switchyard: 2 flow entries have been shown.\n');

    r = await run(['show', 'conntrack', ...at, '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), FLOWS);
    assert.equal(r.err, '');

    r = await run(['show', 'leases', ...at]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, [
      ' Network   Expiry Time           MAC address         Protocol   IP address        Hostname   Client ID or DUID',
      '-'.repeat(10 + 22 + 20 + 11 + 18 + 11 + 23),
      ' private   2025-06-01 12:00:00   52:54:00:12:34:56   ipv4       192.168.122.10    db         -',
      ' private   2025-06-01 12:30:00   52:54:00:12:34:01   ipv4       192.168.122.100   -          01:52:54:00:12:34:01',
      '',
    ].join('\n'));
    assert.equal(r.err, '');

    r = await run(['show', 'leases', ...at, '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), LEASES); // everything, the offer in flight included
  } finally {
    await srv.close();
  }
});

test('show conntrack / leases with nothing to show: no flows (count on stderr), the leases header alone', async () => {
  const runDir = join(dir, 'run-show-nat-empty');
  class Idle extends Fake {
    conntrack(): ConntrackView[] { return []; }
    leases(): LeaseEntry[] { return []; }
  }
  const srv = await startControlServer(new Idle(), socketPath(runDir, 'lab'));
  const at = ['--name', 'lab', '--run-dir', runDir];
  try {
    let r = await run(['show', 'conntrack', ...at]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '');
    assert.equal(r.err, 'switchyard: 0 flow entries have been shown.\n');
    r = await run(['show', 'leases', ...at]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, [
      ' Network   Expiry Time   MAC address   Protocol   IP address   Hostname   Client ID or DUID',
      '-'.repeat(10 + 14 + 14 + 11 + 13 + 11 + 20),
      '',
    ].join('\n'));
    for (const what of ['conntrack', 'leases']) {
      r = await run(['show', what, ...at, '--json']);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, '[]\n');
      assert.equal(r.err, '');
    }
  } finally {
    await srv.close();
  }
});

// ---- the built-in default ----

test('run without -c uses defaultConfig(), which is examples/default.yaml (isolated, DHCP, host TAP)', async () => {
  const file = new URL('../../examples/default.yaml', import.meta.url).pathname;
  const fromFile = loadConfigFile(file);
  assert.deepEqual(defaultConfig(), fromFile);
  assert.equal(formatConfig(defaultConfig()), formatConfig(fromFile));
  // what SPEC.md promises of it
  const c = defaultConfig();
  const nets = Object.values(c.networks);
  assert.equal(nets.length, 1);
  assert.equal(nets[0].mode, 'isolated');
  assert.ok(nets[0].dhcp, 'a DHCP server');
  const taps = nets[0].ports.filter((p) => c.ports[p].kind === 'tap' && c.ports[p].address);
  assert.equal(taps.length, 1, 'a host TAP port with an address');
  // and it needs no interface to exist beforehand (the TAP is created)
  const r = await run(['check', '-c', file], { interfaceExists: () => false });
  assert.equal(r.code, 0, r.err);
});

// ---- capture ----

test('capture -w FILE -c N writes a readable pcap', async () => {
  const runDir = join(dir, 'run-cap');
  const fake = new Fake();
  const srv = await startControlServer(fake, socketPath(runDir, 'lab'));
  try {
    const out = join(dir, 'cap.pcap');
    const p = run(['capture', 'vm1', '-w', out, '-c', '3', '--name', 'lab', '--run-dir', runDir]);
    await waitFor(() => fake.subs.size === 1);
    fake.push(5);
    const r = await p;
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /3 frames captured\n$/);
    const { header, records } = readPcap(readFileSync(out));
    assert.equal(header.linktype, 1);
    assert.equal(records.length, 3);
    assert.deepEqual(records.map((x) => x.data[0]), [0, 1, 2]);
    assert.equal(fake.subs.size, 0);

    // unknown port: exit 1 with the instance's reason, no file written
    const none = join(dir, 'none.pcap');
    const r2 = await run(['capture', 'vm9', '-w', none, '--name', 'lab', '--run-dir', runDir]);
    assert.equal(r2.code, 1);
    assert.match(r2.err, /^switchyard: capture: no port "vm9"\n$/);
    assert.throws(() => readFileSync(none), /ENOENT/);
  } finally {
    await srv.close();
  }
});

test('capture to stdout stops on abort and leaves whole records only', async () => {
  const runDir = join(dir, 'run-cap2');
  const fake = new Fake();
  const srv = await startControlServer(fake, socketPath(runDir, 'lab'));
  try {
    const ac = new AbortController();
    const p = run(['capture', 'vm1', '--name', 'lab', '--run-dir', runDir], { signal: ac.signal });
    await waitFor(() => fake.subs.size === 1);
    fake.push(4);
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    const r = await p;
    assert.equal(r.code, 0, r.err);
    assert.equal(readPcap(r.outBytes).records.length, 4);
    assert.match(r.err, /4 frames captured/);
    await waitFor(() => fake.subs.size === 0);

    const tty = await main(['capture', 'vm1', '--name', 'lab', '--run-dir', runDir], {
      stdout: { write: () => true, isTTY: true }, stderr: { write: () => true },
    });
    assert.equal(tty, 2, 'refuses to write pcap to a terminal');
  } finally {
    await srv.close();
  }
});

test('port add --stream/--dgram: the socket path goes to the instance absolute; kinds are exclusive', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'sy-cli-port-'));
  const seen: Record<string, unknown>[] = [];
  const target = Object.assign(new Fake(), {
    addPort: async (name: string, spec: Record<string, unknown>) => { seen.push({ name, ...spec }); return PORTS[0]; },
  });
  const server = await startControlServer(target, socketPath(runDir, 'lab'));
  try {
    const inst = ['--name', 'lab', '--run-dir', runDir];
    const r = await run(['port', 'add', 'vm9', '--stream', 'vm9.sock', '--network', 'br0', ...inst]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'port vm9 added\n');
    assert.equal(seen[0].stream, join(process.cwd(), 'vm9.sock'));
    assert.equal((await run(['port', 'add', 'vm8', '--dgram', '/run/vm8.sock', '--network', 'br0', ...inst])).code, 0);
    assert.equal(seen[1].dgram, '/run/vm8.sock');
    const both = await run(['port', 'add', 'x', '--stream', '/a', '--dgram', '/b', '--network', 'br0', ...inst]);
    assert.equal(both.code, 2);
    assert.match(both.err, /give exactly one of --afpacket IF, --tap IF, --stream PATH or --dgram PATH/);
    assert.equal((await run(['port', 'del', 'x', '--stream', '/a', ...inst])).code, 2);
  } finally {
    await server.close();
    rmSync(runDir, { recursive: true, force: true });
  }
});
