// types.ts — the contracts between the parts of `switchyard bench`: the topology it builds,
// the devices under test, the traffic it offers and what one trial measured. Kept apart so
// the pure parts (frames, search, results, chart) and the parts that touch the kernel
// (topology, devices, agents) can be written and tested on their own.
//
//   gen ns                    dut ns                               sink ns
//   eth0 10.99.0.1/24 ==veth== pgen  [device under test]  psink ==veth== eth0 10.99.1.2/24
//                                         pmon
//                                          ||veth
//                                   mon ns eth0 (no address: sees only what is flooded)
import type { ChildProcess } from 'node:child_process';

/** One end of the topology: a namespace with its veth end `eth0`. */
export interface Endpoint {
  ns: string;
  ifname: string;
  mac: string;
  /** IPv4 address without prefix length ('' for mon) */
  ip: string;
}

/** Addresses every device uses (routers: the DUT owns .254 on the gen side and .1 on the sink side). */
export const PLAN = {
  genIp: '10.99.0.1',
  genCidr: '10.99.0.1/24',
  /** the generator's gateway: a router DUT's address on the gen side */
  dutGenIp: '10.99.0.254',
  dutGenCidr: '10.99.0.254/24',
  sinkIp: '10.99.1.2',
  sinkCidr: '10.99.1.2/24',
  /** a router DUT's address on the sink side; the sink's gateway for the reverse direction */
  dutSinkIp: '10.99.1.1',
  dutSinkCidr: '10.99.1.1/24',
  /** UDP destination port of the generated traffic; the sink namespaces drop it at ingress */
  dport: 9000,
  /** first UDP source port; flows count up from here */
  sport: 10000,
  /** the router MAC the switchyard devices use */
  routerMac: '02:00:5e:99:00:01',
  /** source addresses flows spread over (10.99.0.1 ... 10.99.0.200) */
  maxSourceAddresses: 200,
} as const;

export interface BenchTopology {
  /** unique to the run; every namespace and interface name starts with it */
  prefix: string;
  dutNs: string;
  /** DUT-side veth ends, inside dutNs */
  ports: { gen: string; sink: string; mon: string };
  gen: Endpoint;
  sink: Endpoint;
  mon: Endpoint;
}

export interface ExecResult { status: number; out: string; err: string }

/** What a device gets from the harness. */
export interface DeviceEnv {
  topo: BenchTopology;
  /** run a command (never blocks the event loop, never throws) */
  exec(cmd: string, args: string[], timeoutMs?: number): Promise<ExecResult>;
  /** run a command; throws Error(`<cmd> ...: <stderr>`) if it fails */
  execOk(cmd: string, args: string[], timeoutMs?: number): Promise<string>;
  /** start a long-running process (killed by the harness at the end if still alive) */
  spawn(cmd: string, args: string[]): ChildProcess;
  /** have the harness kill this child at the end if it is still alive */
  track(child: ChildProcess): void;
  /** a directory of the run's own for sockets, databases, logs (removed at the end) */
  workDir: string;
  log(line: string): void;
}

/**
 * bridge: forwards by MAC (RFC 2889 tests apply); router / nat: forwards by IPv4 address;
 * wire: whatever enters one port leaves the other (the minimal forwarder, a reference).
 */
export type DeviceKind = 'bridge' | 'router' | 'nat' | 'wire';

export interface NodeTime { name: string; packets: number; vectorSize: number; nsPerPacket: number }

export interface Device {
  /** short name used on the command line: kernel-bridge, bridged, routed, nat, ovs, vde ... */
  readonly key: string;
  /** for tables and charts: "Linux bridge", "switchyard bridged" ... */
  readonly label: string;
  readonly kind: DeviceKind;
  /** null if it can run on this machine, else why not ("ovs-vswitchd is not installed") */
  available(): Promise<string | null>;
  /** configure the DUT namespace (its three ports are up, without addresses) and start */
  up(env: DeviceEnv): Promise<void>;
  /** where the generator addresses frames (bridges: the sink's MAC; routers: the DUT's gen-side MAC) */
  nextHopMac(dir: 'forward' | 'reverse'): string;
  /**
   * Make it ready to forward at full rate: routers resolve the sink (the harness has the sink
   * arping dutSinkIp first, if that helps). Bridges get learning frames from the harness
   * and need nothing here.
   */
  prepare(env: DeviceEnv): Promise<void>;
  /** processes whose CPU time is the device's (empty: the kernel, in softirq and the senders) */
  pids(): number[];
  /** monotonic counters (drops by reason...), read before and after each trial */
  counters?(): Promise<Record<string, number>>;
  /**
   * switchyard: wall time per packet in each graph node since the last call (reset: true starts
   * afresh without reading), so the flat-out trial can say where the time went
   */
  nodeTimes?(reset: boolean): Promise<NodeTime[]>;
  /** free-form facts for the JSON (versions, configuration) */
  details?(): Promise<unknown>;
  /** stop and undo everything up() did in dutNs (the ports stay) */
  down(env: DeviceEnv): Promise<void>;
}
