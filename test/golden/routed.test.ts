// Golden test of the routed graph (seeds 000/001): committed per-port pcaps in → byte-exact
// per-port pcaps out + counters. The scenario: X on the LAN resolves a VM by proxy ARP and
// pings it (the switch resolves the VM first), the VM answers, a TTL-1 packet earns a time
// exceeded, a default-routed packet waits for the LAN router's ARP, a spoofed source and a
// DAD probe are ignored, and a packet for a VM that never answers ARP comes back to X as
// host unreachable after three requests. The network is in routed/config.json.
//
// Regenerate after an intended change with
//   node --import tsx test/golden/routed.test.ts --update
// and read the diff of counters.json and `tcpdump -enr test/golden/routed/out-*.pcap`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPcap } from '../../src/io/pcap.ts';
import { update, assertGolden, type Scenario } from './l3-golden.ts';
import { arpReply, arpWhoHas, ipFrame, udp, icmpEcho, inetChecksum } from '../helpers/frames.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'routed');
const PORTS = ['vm1', 'vm2', 'uplink'];

const SW = '02:00:5e:00:53:01', UP = '02:00:00:00:ff:01';
const V1 = '52:54:00:00:00:01', V2 = '52:54:00:00:00:02', X = '02:00:00:00:00:10', R = '02:00:00:00:00:01';
const GW = '169.255.30.1', UPIP = '192.168.0.64';
const VM1 = '192.168.200.201', VM2 = '192.168.200.202', XIP = '192.168.0.10', RIP = '192.168.0.1';


const SCENARIO: Scenario = {
  config: {
    name: 'golden',
    mac: SW,
    ports: { vm1: { afpacket: 'sy-vm1' }, vm2: { afpacket: 'sy-vm2' }, uplink: { afpacket: 'eth0' } },
    networks: {
      pub: {
        mode: 'routed',
        ports: ['vm1', 'vm2'],
        hosts: { [VM1]: 'vm1', [VM2]: 'vm2' },
        uplink: { port: 'uplink', address: `${UPIP}/24`, gateway: RIP },
      },
    },
  },
  macs: { uplink: UP },
  endMs: 6000,
};

function inputs(): Record<string, { t: number; f: Uint8Array }[]> {
  const u = (dst: string, src: string, from: string, to: string, ttl: number, body: string): Uint8Array =>
    ipFrame(dst, src, { src: from, dst: to, ttl, proto: 17, payload: udp(40000, 33434, body) });
  return {
    uplink: [
      { t: 1000, f: arpWhoHas(X, XIP, VM1) },                                                        // proxy ARP: answered with UP
      { t: 1100, f: ipFrame(UP, X, { src: XIP, dst: VM1, proto: 1, payload: icmpEcho(8, 0x77, 1, 'golden') }) }, // waits: ARP for VM1 on vm1
      { t: 1450, f: arpReply(R, RIP, UP, UPIP) },                                                     // releases the packet for 8.8.8.8
      { t: 2000, f: u(UP, X, XIP, VM2, 64, 'to a silent vm') },                                       // VM2 never answers: host unreachable
    ],
    vm1: [
      { t: 1150, f: arpReply(V1, VM1, SW, GW) },                                                      // releases the echo request
      { t: 1200, f: ipFrame(SW, V1, { src: VM1, dst: XIP, proto: 1, payload: icmpEcho(0, 0x77, 1, 'golden') }) }, // to X (known)
      { t: 1300, f: u(SW, V1, VM1, '8.8.8.8', 1, 'ttl one') },                                        // time exceeded from GW
      { t: 1400, f: u(SW, V1, VM1, '8.8.8.8', 64, 'default route') },                                 // waits: ARP for the router
    ],
    vm2: [
      { t: 1500, f: u(SW, V2, VM1, XIP, 64, 'spoofed') },                                             // spoofed-source
      { t: 1600, f: arpWhoHas(V2, '0.0.0.0', VM2) },                                                  // DAD probe: no reply
    ],
  };
}


if (process.argv.includes('--update')) update(DIR, SCENARIO, inputs(), PORTS);

test('routed scenario: every port sends exactly the golden output, counters match', () => {
  assertGolden(DIR, PORTS);
});

test('routed scenario: the golden files say what the scenario means', () => {
  const c = JSON.parse(readFileSync(join(DIR, 'counters.json'), 'utf8'));
  // hand-written expectations, whatever the engine does
  for (const [k, v] of Object.entries({
    'arp-replies': 1, 'spoofed-source': 1, 'icmp-errors-sent': 2, unresolved: 1, poolInFlight: 0, doubleFrees: 0,
  })) assert.equal(c[k], v, k);
  const out = (p: string): Uint8Array[] => readPcap(readFileSync(join(DIR, `out-${p}.pcap`))).records.map((r) => r.data);
  const summary = (f: Uint8Array): string => {
    const type = (f[12] << 8) | f[13];
    if (type === 0x0806) return `arp op${f[21]} ${f.subarray(38, 42).join('.')}`;
    const hl = (f[14] & 15) * 4;
    assert.equal(inetChecksum(f.subarray(14, 14 + hl)), 0, 'IP header checksum');
    const proto = f[23], l4 = 14 + hl;
    return `ip ${f.subarray(26, 30).join('.')}>${f.subarray(30, 34).join('.')} ttl${f[22]} ${proto === 1 ? `icmp${f[l4]}/${f[l4 + 1]}` : `p${proto}`}`;
  };
  assert.deepEqual(out('uplink').map(summary), [
    `arp op2 ${XIP}`,                                  // proxy reply to X
    `ip ${VM1}>${XIP} ttl63 icmp0/0`,                   // VM1's echo reply
    `arp op1 ${RIP}`,                                  // who has the default router
    `ip ${VM1}>8.8.8.8 ttl63 p17`,                      // released
    `ip ${UPIP}>${XIP} ttl64 icmp3/1`,                  // host unreachable for the silent VM2
  ]);
  assert.deepEqual(out('vm1').map(summary), [
    `arp op1 ${VM1}`,                                  // who has VM1, tell 169.255.30.1
    `ip ${XIP}>${VM1} ttl63 icmp8/0`,                   // X's echo request, released
    `ip ${GW}>${VM1} ttl64 icmp11/0`,                   // time exceeded
  ]);
  assert.deepEqual(out('vm2').map(summary), [`arp op1 ${VM2}`, `arp op1 ${VM2}`, `arp op1 ${VM2}`], 'three requests, then give up');
});
