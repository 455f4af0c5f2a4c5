// format.test.ts — `show neigh` and `show routes` text against fixtures: exact bytes, since
// the point is to look like net-tools `arp -n` and iproute2 `ip route show table all`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatNeigh, formatRoutes, NEIGH_HEADER } from '../../src/format.ts';
import type { NeighborView, RouteView } from '../../src/routing.ts';

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

test('formatShow: neigh/routes data that is not a list, and kinds without a layout, print generically', async () => {
  const { formatShow } = await import('../../src/cli.ts');
  assert.equal(formatShow('routes', { error: 'x' }), '{\n  "error": "x"\n}\n');
  assert.equal(formatShow('leases', [{ ip: '10.0.0.2', mac: null, expires: 30 }, { ip: '10.0.0.10', mac: 'm', expires: 5 }]), [
    'IP         MAC  EXPIRES',
    '10.0.0.2   -         30',
    '10.0.0.10  m          5',
    '',
  ].join('\n'));
});
