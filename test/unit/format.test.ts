// format.test.ts — `show neigh`, `routes`, `conntrack` and `leases` text against fixtures:
// exact bytes, since the point is to look like net-tools `arp -n`, iproute2 `ip route show
// table all`, conntrack-tools `conntrack -L` and `virsh net-dhcp-leases`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  conntrackSummary, formatConntrack, formatGeneric, formatLeases, formatNeigh, formatRoutes, localTimestamp, vshTable,
  NEIGH_HEADER, type LeaseEntry,
} from '../../src/format.ts';
import type { ConntrackView, NeighborView, RouteView } from '../../src/routing.ts';

// lease expiry prints in local time: pin the zone (node re-reads TZ when it is assigned)
process.env.TZ = 'UTC';

// as Routing.neighbors() lists them: table entries (hash order), then the published ones
const NEIGH: NeighborView[] = [
  { address: '192.168.200.203', hwtype: 'ether', hwaddress: '02:00:00:00:00:04', flags: 'CM', mask: '', iface: 'vm4', state: 'permanent' },
  { address: '192.168.0.99', hwtype: 'ether', hwaddress: '(incomplete)', flags: '', mask: '', iface: 'uplink', state: 'incomplete' },
  { address: '192.168.0.1', hwtype: 'ether', hwaddress: '52:54:00:aa:bb:cc', flags: 'C', mask: '', iface: 'uplink', state: 'reachable' },
  { address: '192.168.200.201', hwtype: 'ether', hwaddress: '02:00:00:00:00:03', flags: 'C', mask: '', iface: 'vm3', state: 'stale' },
  { address: '10.30.0.4', hwtype: 'ether', hwaddress: '00:1a:e2:c7:17:c1', flags: 'C', mask: '', iface: 'uplink', state: 'reachable' },
  { address: '192.168.200.202', hwtype: '*', hwaddress: '*', flags: 'MP', mask: '*', iface: 'uplink', state: 'published' },
  { address: '192.168.200.201', hwtype: '*', hwaddress: '*', flags: 'MP', mask: '*', iface: 'uplink', state: 'published' },
];

// expected lines made with printf("%-23.23s  %-8.8s%-20.20s%-6.6s%-15.15s %s\n"), as arp.c does
const NEIGH_TEXT = [
  'Address                  HWtype  HWaddress           Flags Mask            Iface',
  '10.30.0.4                ether   00:1a:e2:c7:17:c1   C                     uplink',
  '192.168.0.1              ether   52:54:00:aa:bb:cc   C                     uplink',
  '192.168.0.99                     (incomplete)                              uplink',
  '192.168.200.201          *       *                   MP                    uplink',
  '192.168.200.201          ether   02:00:00:00:00:03   C                     vm3',
  '192.168.200.202          *       *                   MP                    uplink',
  '192.168.200.203          ether   02:00:00:00:00:04   CM                    vm4',
  '',
].join('\n');

test('formatNeigh: the arp -n layout, sorted by address', () => {
  assert.equal(formatNeigh(NEIGH), NEIGH_TEXT);
  // the seed's published line, whitespace collapsed: "192.168.200.201 * * MP eth0"
  const pub = formatNeigh([{ ...NEIGH[6], iface: 'eth0' }]).split('\n')[1];
  assert.equal(pub.split(/\s+/).join(' '), '192.168.200.201 * * MP eth0');
});

test('formatNeigh: empty table is the header alone; a real netmask shows, long cells are cut', () => {
  assert.equal(formatNeigh([]), NEIGH_HEADER + '\n');
  const text = formatNeigh([
    { address: '10.0.0.0', hwtype: '*', hwaddress: '*', flags: 'MP', mask: '255.255.255.0', iface: 'uplink', state: 'published' },
    { address: '10.0.0.1', hwtype: 'infiniband', hwaddress: '80:00:00:48:fe:80:00:00:00:00', flags: 'C', mask: '', iface: 'ib0', state: 'reachable' },
  ]);
  assert.equal(text, [
    NEIGH_HEADER,
    '10.0.0.0                 *       *                   MP    255.255.255.0   uplink',
    '10.0.0.1                 infiniba80:00:00:48:fe:80:00C                     ib0',
    '',
  ].join('\n'));
});

// as Routing.routes() lists them (per table, longest prefix first) for the SPEC example,
// plus a dev route and a more specific static route in main
const ROUTES: RouteView[] = [
  { table: 'main', dst: '192.168.200.201', via: null, dev: 'vm3', proto: 'host', src: null },
  { table: 'main', dst: '10.50.1.0/24', via: '192.168.0.253', dev: 'uplink', proto: 'static', src: null },
  { table: 'main', dst: '192.168.0.0/24', via: null, dev: 'uplink', proto: 'kernel', src: '192.168.0.64' },
  { table: 'main', dst: '10.50.0.0/16', via: '192.168.0.254', dev: 'uplink', proto: 'static', src: null },
  { table: 'main', dst: '10.60.0.0/16', via: null, dev: 'vm3', proto: 'static', src: null },
  { table: 'main', dst: 'default', via: '192.168.0.1', dev: 'uplink', proto: 'static', src: null },
  { table: 'tenant', dst: '192.168.200.201', via: null, dev: 'vm3', proto: 'host', src: null },
  { table: 'tenant', dst: 'default', via: '192.168.0.254', dev: 'uplink', proto: 'static', src: null },
];

const ROUTES_TEXT = [
  'default via 192.168.0.1 dev uplink proto static',
  '10.50.0.0/16 via 192.168.0.254 dev uplink proto static',
  '10.50.1.0/24 via 192.168.0.253 dev uplink proto static',
  '10.60.0.0/16 dev vm3 proto static scope link',
  '192.168.0.0/24 dev uplink proto kernel scope link src 192.168.0.64',
  '192.168.200.201 dev vm3 scope link',
  'default via 192.168.0.254 dev uplink table tenant proto static',
  '192.168.200.201 dev vm3 table tenant scope link',
  '',
].join('\n');

test('formatRoutes: ip route show table all, main first without a table suffix', () => {
  assert.equal(formatRoutes(ROUTES), ROUTES_TEXT);
  // main comes first even when listed last; other tables keep their order
  const shuffled = [...ROUTES.filter((r) => r.table !== 'main'), { ...ROUTES[0], table: 'dmz' }, ...ROUTES.filter((r) => r.table === 'main')];
  const lines = formatRoutes(shuffled).trimEnd().split('\n');
  assert.deepEqual(lines.slice(0, 6), ROUTES_TEXT.split('\n').slice(0, 6));
  assert.deepEqual(lines.slice(6), [
    'default via 192.168.0.254 dev uplink table tenant proto static',
    '192.168.200.201 dev vm3 table tenant scope link',
    '192.168.200.201 dev vm3 table dmz scope link',
  ]);
});

test('formatRoutes: same address, longer prefix first; /32 bare; no routes prints nothing', () => {
  assert.equal(formatRoutes([]), '');
  assert.equal(formatRoutes([
    { table: 'main', dst: '10.0.0.0/8', via: null, dev: 'a', proto: 'static', src: null },
    { table: 'main', dst: '10.0.0.0/24', via: null, dev: 'b', proto: 'static', src: null },
    { table: 'main', dst: '10.0.0.7/32', via: null, dev: 'c', proto: 'host', src: null },
    { table: 'main', dst: '9.255.255.255', via: null, dev: 'd', proto: 'host', src: null },
  ]), [
    '9.255.255.255 dev d scope link',
    '10.0.0.0/24 dev b proto static scope link',
    '10.0.0.0/8 dev a proto static scope link',
    '10.0.0.7 dev c scope link',
    '',
  ].join('\n'));
});

test('formatShow: data that is not a list prints generically; formatGeneric makes a table of flat objects', async () => {
  const { formatShow } = await import('../../src/cli.ts');
  for (const what of ['neigh', 'routes', 'conntrack', 'leases'] as const) {
    assert.equal(formatShow(what, { error: 'x' }), '{\n  "error": "x"\n}\n', what);
  }
  assert.equal(formatGeneric([{ ip: '10.0.0.2', mac: null, expires: 30 }, { ip: '10.0.0.10', mac: 'm', expires: 5 }]), [
    'IP         MAC  EXPIRES',
    '10.0.0.2   -         30',
    '10.0.0.10  m          5',
    '',
  ].join('\n'));
});

// ---- conntrack ----

const ct = (o: Partial<ConntrackView>): ConntrackView => ({
  network: 'private', proto: 'tcp', state: 'ESTABLISHED', timeout: 7439,
  src: '192.168.122.100', dst: '10.0.0.9', sport: 40112, dport: 8000,
  replySrc: '10.0.0.9', replyDst: '10.0.0.5', replySport: 8000, replyDport: 40112,
  packets: 12, origin: 'inside', ...o,
});

// as Routing.conntrack() lists them (timer-list order), two NAT networks
const FLOWS: ConntrackView[] = [
  ct({ network: 'zeta', src: '172.16.0.2', dst: '10.9.9.9', replySrc: '10.9.9.9', replyDst: '10.0.1.5', timeout: 100 }),
  ct({ proto: 'udp', state: 'UNREPLIED', timeout: 29, sport: 5353, dport: 53, dst: '10.0.0.53', replySrc: '10.0.0.53', replySport: 53, replyDport: 5353, packets: 1 }),
  ct({}),
  // a connection that came in through the forward "tcp 2222 -> 192.168.122.10:22": the view
  // lists the inside side first, the text the direction it was opened in
  ct({ origin: 'outside', src: '192.168.122.10', dst: '203.0.113.7', sport: 22, dport: 51000,
    replySrc: '203.0.113.7', replyDst: '10.0.0.5', replySport: 51000, replyDport: 2222, packets: 40, timeout: 7200 }),
  ct({ state: 'SYN_SENT', timeout: 118, sport: 40200, replyDport: 1025, packets: 1 }),
  ct({ state: 'TIME_WAIT', timeout: 90, sport: 40100, replyDport: 40100 }),
  ct({ state: 'CLOSE', timeout: 8, sport: 40150, replyDport: 40150, packets: 3 }),
  ct({ proto: 'udp', state: 'REPLIED', timeout: 280, sport: 123, dport: 123, dst: '10.0.0.123', replySrc: '10.0.0.123', replySport: 123, replyDport: 1024, packets: 2 }),
  // ICMP echo: the identifier is the port on both sides (7 inside, 1030 outside)
  ct({ proto: 'icmp', state: 'REPLIED', timeout: 59, dst: '8.8.8.8', sport: 7, dport: 0, replySrc: '8.8.8.8', replySport: 0, replyDport: 1030, packets: 2 }),
  ct({ proto: 'icmp', state: 'UNREPLIED', timeout: 30, dst: '8.8.4.4', sport: 8, dport: 0, replySrc: '8.8.4.4', replySport: 0, replyDport: 8, packets: 1 }),
  ct({ proto: '47', state: 'REPLIED', timeout: 5, src: '192.168.122.9', dst: '10.0.0.47', replySrc: '10.0.0.47', packets: 4 }),
];

const CONNTRACK_TEXT = [
  'icmp     1 30 src=192.168.122.100 dst=8.8.4.4 type=8 code=0 id=8 packets=1 [UNREPLIED] src=8.8.4.4 dst=10.0.0.5 type=0 code=0 id=8 network=private',
  'icmp     1 59 src=192.168.122.100 dst=8.8.8.8 type=8 code=0 id=7 packets=2 src=8.8.8.8 dst=10.0.0.5 type=0 code=0 id=1030 network=private',
  'tcp      6 90 TIME_WAIT src=192.168.122.100 dst=10.0.0.9 sport=40100 dport=8000 packets=12 src=10.0.0.9 dst=10.0.0.5 sport=8000 dport=40100 [ASSURED] network=private',
  'tcp      6 7439 ESTABLISHED src=192.168.122.100 dst=10.0.0.9 sport=40112 dport=8000 packets=12 src=10.0.0.9 dst=10.0.0.5 sport=8000 dport=40112 [ASSURED] network=private',
  'tcp      6 8 CLOSE src=192.168.122.100 dst=10.0.0.9 sport=40150 dport=8000 packets=3 src=10.0.0.9 dst=10.0.0.5 sport=8000 dport=40150 network=private',
  'tcp      6 118 SYN_SENT src=192.168.122.100 dst=10.0.0.9 sport=40200 dport=8000 packets=1 [UNREPLIED] src=10.0.0.9 dst=10.0.0.5 sport=8000 dport=1025 network=private',
  'tcp      6 7200 ESTABLISHED src=203.0.113.7 dst=10.0.0.5 sport=51000 dport=2222 packets=40 src=192.168.122.10 dst=203.0.113.7 sport=22 dport=51000 [ASSURED] network=private',
  'udp      17 29 src=192.168.122.100 dst=10.0.0.53 sport=5353 dport=53 packets=1 [UNREPLIED] src=10.0.0.53 dst=10.0.0.5 sport=53 dport=5353 network=private',
  'udp      17 280 src=192.168.122.100 dst=10.0.0.123 sport=123 dport=123 packets=2 src=10.0.0.123 dst=10.0.0.5 sport=123 dport=1024 [ASSURED] network=private',
  'unknown  47 5 src=192.168.122.9 dst=10.0.0.47 packets=4 src=10.0.0.47 dst=10.0.0.5 network=private',
  'tcp      6 100 ESTABLISHED src=172.16.0.2 dst=10.9.9.9 sport=40112 dport=8000 packets=12 src=10.9.9.9 dst=10.0.1.5 sport=8000 dport=40112 [ASSURED] network=zeta',
  '',
].join('\n');

test('formatConntrack: conntrack -L lines, by network, protocol, then source, destination, ports', () => {
  assert.equal(formatConntrack(FLOWS), CONNTRACK_TEXT);
  // the fields sit where conntrack puts them: "%-8s %u " protocol, then timeout and TCP state
  const first = formatConntrack([ct({})]).trimEnd();
  assert.match(first, /^tcp {6}6 7439 ESTABLISHED src=/);
  // stdout is one flow per line: nothing else (the summary goes to stderr)
  assert.equal(CONNTRACK_TEXT.trimEnd().split('\n').length, FLOWS.length);
});

test('formatConntrack: no flows prints nothing; the summary line counts like conntrack', () => {
  assert.equal(formatConntrack([]), '');
  assert.equal(conntrackSummary(0), 'switchyard: 0 flow entries have been shown.\n');
  assert.equal(conntrackSummary(11), 'switchyard: 11 flow entries have been shown.\n');
});

// ---- leases ----

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);
const lease = (o: Partial<LeaseEntry>): LeaseEntry => ({
  network: 'default', mac: '52:54:00:12:34:01', ip: '10.99.0.101', hostname: 'vm1', clientId: '01:52:54:00:12:34:01',
  expiresAt: T0, state: 'bound', prefix: 24, ...o,
});

// as Switch.leases() lists them: network by network, table order
const LEASES: LeaseEntry[] = [
  lease({ network: 'private', ip: '192.168.122.100', mac: '52:54:00:aa:00:01', hostname: 'web-01', clientId: null, expiresAt: T0 + 3600_000 }),
  lease({}),
  lease({ ip: '10.99.0.102', mac: '52:54:00:12:34:02', state: 'offered', hostname: null }),
  lease({ ip: '10.99.0.103', mac: '52:54:00:12:34:03', state: 'declined', hostname: null }),
  lease({ ip: '10.99.0.10', mac: '52:54:00:12:34:56', state: 'static', hostname: null, clientId: null, expiresAt: T0 + 61_000 }),
];

// made with vsh-table.c's rule: " " + cell padded to width + 2, the last cell unpadded;
// a rule of width + 3 dashes per column
const LEASES_TEXT = [
  ' Network   Expiry Time           MAC address         Protocol   IP address           Hostname   Client ID or DUID',
  '-'.repeat(10 + 22 + 20 + 11 + 21 + 11 + 23),
  ' default   2025-01-02 03:05:06   52:54:00:12:34:56   ipv4       10.99.0.10/24        -          -',
  ' default   2025-01-02 03:04:05   52:54:00:12:34:01   ipv4       10.99.0.101/24       vm1        01:52:54:00:12:34:01',
  ' private   2025-01-02 04:04:05   52:54:00:aa:00:01   ipv4       192.168.122.100/24   web-01     -',
  '',
].join('\n');

test('formatLeases: virsh net-dhcp-leases columns, a network column first, held leases only', () => {
  assert.equal(formatLeases(LEASES), LEASES_TEXT);
  // virsh's own header, column for column, follows the network column
  assert.ok(LEASES_TEXT.startsWith(' Network   Expiry Time           MAC address         Protocol   IP address           Hostname   Client ID or DUID\n'));
});

test('formatLeases: without prefix the address alone; empty is the header and its rule; cells are made safe', () => {
  assert.equal(formatLeases([]), [
    ' Network   Expiry Time   MAC address   Protocol   IP address   Hostname   Client ID or DUID',
    '-'.repeat(10 + 14 + 14 + 11 + 13 + 11 + 20),
    '',
  ].join('\n'));
  const noPrefix = formatLeases([lease({ prefix: undefined, hostname: 'a\tb\\xc' })], () => 'T');
  assert.equal(noPrefix, [
    ' Network   Expiry Time   MAC address         Protocol   IP address    Hostname       Client ID or DUID',
    '-'.repeat(10 + 14 + 20 + 11 + 14 + 15 + 23),
    ' default   T             52:54:00:12:34:01   ipv4       10.99.0.101   a\\x09b\\x5cxc   01:52:54:00:12:34:01',
    '',
  ].join('\n'));
});

test('vshTable and localTimestamp', () => {
  assert.equal(vshTable(['A', 'Long header'], [['xyz', '1'], ['', '']]), [
    ' A     Long header',
    '------' + '--------------',
    ' xyz   1',
    '       ',
    '',
  ].join('\n'));
  assert.equal(localTimestamp(T0), '2025-01-02 03:04:05');
  assert.equal(localTimestamp(NaN), '-');
  process.env.TZ = 'Asia/Kolkata';
  try {
    assert.equal(localTimestamp(T0), '2025-01-02 08:34:05');
  } finally {
    process.env.TZ = 'UTC';
  }
});
