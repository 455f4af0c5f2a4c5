// Golden test of the NAT graph: committed per-port pcaps in → byte-exact per-port pcaps out +
// counters. The scenario (network in nat/config.json, built like the Switch builds it by
// test/helpers/nat-lab.ts): two VMs resolve their gateway; VM1's UDP query waits for the
// uplink router's ARP and leaves masqueraded, its answer comes back; VM2 uses the same source
// port and gets the next external one; an unsolicited SYN is dropped; a forwarded SYN
// reaches VM2 and its SYN/ACK leaves from the forwarded port; VM1 reaches VM2 through the
// uplink address (hairpin); a time exceeded about VM2's flow comes back translated; VM1
// pings the internet and gets its reply; an ICMP error about no flow is dropped.
//
// Regenerate after an intended change with
//   node --import tsx test/golden/nat.test.ts --update
// and read the diff of counters.json and `tcpdump -venr test/golden/nat/out-*.pcap`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPcap } from '../../src/io/pcap.ts';
import { update, assertGolden, type Scenario } from './l3-golden.ts';
import { arpReply, arpWhoHas, ipFrame, ipFrameCs, ipv4, udp, tcp, icmp, icmpEcho, withL4Checksum, inetChecksum, l4ChecksumOk, TcpFlag } from '../helpers/frames.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'nat');
const PORTS = ['vm1', 'vm2', 'wan'];

const SW = '02:00:5e:00:53:01', UP = '02:00:00:00:ff:01', R = '02:00:00:00:00:01';
const V1 = '52:54:00:00:00:01', V2 = '52:54:00:00:00:02';
const GW = '192.168.150.1', EXT = '10.200.0.5', RIP = '10.200.0.1';
const VM1 = '192.168.150.10', VM2 = '192.168.150.11', X = '198.51.100.7';


const SCENARIO: Scenario = {
  config: {
    name: 'golden-nat',
    mac: SW,
    ports: { vm1: { afpacket: 'sy-vm1' }, vm2: { afpacket: 'sy-vm2' }, wan: { afpacket: 'eth0' } },
    networks: {
      private: {
        mode: 'nat',
        ports: ['vm1', 'vm2'],
        address: `${GW}/24`,
        uplink: { port: 'wan', address: `${EXT}/24`, gateway: RIP },
        forwards: [`tcp 2222 -> ${VM2}:22`],
      },
    },
  },
  macs: { wan: UP },
  endMs: 4000,
};

function inputs(): Record<string, { t: number; f: Uint8Array }[]> {
  const { syn: SYN, ack: ACK } = TcpFlag;
  const fromVm = (mac: string, src: string, dst: string, proto: number, payload: number[]): Uint8Array => ipFrameCs(SW, mac, { src, dst, proto, payload });
  const fromWan = (src: string, proto: number, payload: number[]): Uint8Array => ipFrameCs(UP, R, { src, dst: EXT, proto, payload });
  // VM2's query as it left on the wan, as the next router quotes it (TTL 1, first 8 bytes of UDP)
  const quoted = withL4Checksum(ipv4({ src: EXT, dst: X, ttl: 1, payload: udp(40001, 53, 'vm2 query') })).slice(0, 28);
  const stray = withL4Checksum(ipv4({ src: EXT, dst: X, ttl: 1, payload: udp(45000, 53, 'nobody') })).slice(0, 28);
  return {
    vm1: [
      { t: 1000, f: arpWhoHas(V1, VM1, GW) },                                                      // answered; flooded to vm2
      { t: 1100, f: fromVm(V1, VM1, X, 17, udp(40000, 53, 'vm1 query')) },                         // waits: ARP for the router
      { t: 1700, f: fromVm(V1, VM1, EXT, 6, tcp(33000, 2222, SYN, 500)) },                         // hairpin to VM2:22
      { t: 1900, f: fromVm(V1, VM1, X, 1, icmpEcho(8, 0x1234, 1, 'golden ping')) },                // ping through NAT
    ],
    vm2: [
      { t: 1050, f: arpWhoHas(V2, VM2, GW) },
      { t: 1300, f: fromVm(V2, VM2, X, 17, udp(40000, 53, 'vm2 query')) },                         // 40000 taken: 40001
      { t: 1600, f: fromVm(V2, VM2, X, 6, tcp(22, 5555, SYN | ACK, 900, 101)) },                   // leaves from 2222
    ],
    wan: [
      { t: 1150, f: arpReply(R, RIP, UP, EXT) },                                                   // releases VM1's query
      { t: 1200, f: fromWan(X, 17, udp(53, 40000, 'vm1 answer')) },                                // to VM1
      { t: 1400, f: fromWan(X, 6, tcp(1234, 22, SYN, 1)) },                                        // unsolicited
      { t: 1500, f: fromWan(X, 6, tcp(5555, 2222, SYN, 100)) },                                    // forward to VM2:22
      { t: 1800, f: ipFrame(UP, R, { src: RIP, dst: EXT, proto: 1, payload: icmp(11, 0, [0, 0, 0, 0], quoted) }) }, // to VM2
      { t: 2000, f: fromWan(X, 1, icmpEcho(0, 0x1234, 1, 'golden ping')) },                        // to VM1
      { t: 2100, f: ipFrame(UP, R, { src: RIP, dst: EXT, proto: 1, payload: icmp(11, 0, [0, 0, 0, 0], stray) }) },  // no flow
    ],
  };
}


if (process.argv.includes('--update')) update(DIR, SCENARIO, inputs(), PORTS);

test('nat scenario: every port sends exactly the golden output, counters match', () => {
  assertGolden(DIR, PORTS);
});

test('nat scenario: the golden files say what the scenario means', () => {
  const c = JSON.parse(readFileSync(join(DIR, 'counters.json'), 'utf8'));
  // hand-written expectations, whatever the engine does
  for (const [k, v] of Object.entries({
    'arp-replies': 2, 'nat-unsolicited': 2, 'nat-forwarded-new': 2, 'nat-hairpin': 1, 'nat-new-flows': 4,
    'private.flows': 6, poolInFlight: 0, doubleFrees: 0,
  })) assert.equal(c[k], v, k);
  const out = (p: string): Uint8Array[] => readPcap(readFileSync(join(DIR, `out-${p}.pcap`))).records.map((r) => r.data);
  const summary = (f: Uint8Array): string => {
    const type = (f[12] << 8) | f[13];
    if (type === 0x0806) return `arp op${f[21]} ${f.subarray(38, 42).join('.')}`;
    const hl = (f[14] & 15) * 4;
    const dg = f.subarray(14, 14 + ((f[16] << 8) | f[17]));
    assert.equal(inetChecksum(dg.subarray(0, hl)), 0, 'IP header checksum');
    const proto = f[23], l4 = 14 + hl;
    const addr = `${f.subarray(26, 30).join('.')}>${f.subarray(30, 34).join('.')}`;
    if (proto === 1) {
      assert.equal(inetChecksum(dg.subarray(hl)), 0, 'ICMP checksum');
      if (f[l4] === 11) {
        const q = l4 + 8, qhl = (f[q] & 15) * 4;
        assert.equal(inetChecksum(f.subarray(q, q + qhl)), 0, 'quoted IP header checksum');
        return `ip ${addr} icmp11 about ${f.subarray(q + 12, q + 16).join('.')}:${(f[q + qhl] << 8) | f[q + qhl + 1]}`;
      }
      return `ip ${addr} icmp${f[l4]} id${(f[l4 + 4] << 8) | f[l4 + 5]}`;
    }
    assert.equal(l4ChecksumOk(dg), true, 'TCP/UDP checksum');
    return `ip ${addr} ${proto === 6 ? 'tcp' : 'udp'} ${(f[l4] << 8) | f[l4 + 1]}>${(f[l4 + 2] << 8) | f[l4 + 3]}`;
  };
  assert.deepEqual(out('wan').map(summary), [
    `arp op1 ${RIP}`,                                  // who has the router, tell 10.200.0.5
    `ip ${EXT}>${X} udp 40000>53`,                     // VM1's query, released
    `ip ${EXT}>${X} udp 40001>53`,                     // VM2's: the next port
    `ip ${EXT}>${X} tcp 2222>5555`,                    // VM2's SYN/ACK from the forwarded port
    `ip ${EXT}>${X} icmp8 id${0x1234}`,                // VM1's ping
  ]);
  assert.deepEqual(out('vm1').map(summary), [
    `arp op2 ${VM1}`,                                  // the gateway answers
    `arp op1 ${GW}`,                                   // VM2's request, flooded on the segment
    `ip ${X}>${VM1} udp 53>40000`,                     // the answer
    `ip ${X}>${VM1} icmp0 id${0x1234}`,                // the echo reply
  ]);
  assert.deepEqual(out('vm2').map(summary), [
    `arp op1 ${GW}`,                                   // VM1's request, flooded on the segment
    `arp op2 ${VM2}`,                                  // the gateway answers VM2
    `ip ${X}>${VM2} tcp 5555>22`,                      // the forwarded SYN
    `ip ${EXT}>${VM2} tcp 33000>22`,                   // VM1's hairpinned SYN, from the uplink address
    `ip ${RIP}>${VM2} icmp11 about ${VM2}:40000`,      // time exceeded, translated
  ]);
});
