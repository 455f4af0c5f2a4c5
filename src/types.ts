// types.ts — the shapes shared by config, the switch, the control socket and the CLI.
//
// `Config` is the *normalised* configuration (every default filled in) that parseConfig()
// returns and Switch.start() consumes. The file format is documented in ../shared/SPEC.md
// and README.md; JSON output of `show ... --json` uses the *View types below and is stable.

export type NetworkMode = 'bridged' | 'routed' | 'nat' | 'isolated';

export interface AfPacketPortConfig {
  kind: 'afpacket';
  name: string;
  ifname: string;
  promiscuous: boolean;
  /** Largest L3 payload accepted (frame = mtu + 14, + 4 when 802.1Q-tagged). null: the interface's MTU. */
  mtu: number | null;
  /** Frames in the RX ring (2 KiB each; a power of two). More rides out longer stalls of the
   *  event loop at high rates: 4096 (8 MiB) by default, 32768 (64 MiB) for a busy uplink. */
  ring: number;
}

export interface TapPortConfig {
  kind: 'tap';
  name: string;
  ifname: string;
  /** "a.b.c.d/len" given to the kernel side of the TAP, or null. */
  address: string | null;
  mtu: number | null;
}

/**
 * QEMU's `-netdev stream` (QEMU 7.2+): the switch listens on a unix socket at `path` and one
 * QEMU connects; each frame is a 4-byte big-endian length followed by the frame.
 */
export interface StreamPortConfig {
  kind: 'stream';
  name: string;
  /** absolute path of the unix socket the switch listens on */
  path: string;
  /** null: 1500 */
  mtu: number | null;
}

/**
 * QEMU's `-netdev dgram` (QEMU 7.2+): the switch binds a unix datagram socket at `path`; one
 * frame per datagram; replies go to the address the last datagram came from.
 */
export interface DgramPortConfig {
  kind: 'dgram';
  name: string;
  /** absolute path of the unix datagram socket the switch binds */
  path: string;
  /** null: 1500 */
  mtu: number | null;
}

export type PortConfig = AfPacketPortConfig | TapPortConfig | StreamPortConfig | DgramPortConfig;
export type PortKind = PortConfig['kind'];

export interface FdbConfig { agingSeconds: number; maxEntries: number }

export interface UplinkConfig { port: string; address: string; gateway: string | null }

export interface DhcpConfig {
  range: [string, string];
  leaseSeconds: number;
  dns: string[];
  domain: string | null;
  static: Record<string, string>;
}

export interface NetworkConfig {
  name: string;
  mode: NetworkMode;
  ports: string[];
  fdb: FdbConfig;
  /** routed */
  gateway: string;
  hosts: Record<string, string>;
  antiSpoof: boolean;
  /** routed, nat */
  uplink: UplinkConfig | null;
  /** nat, isolated: the switch's own address on the segment, "a.b.c.d/len" */
  address: string | null;
  dhcp: DhcpConfig | null;
  forwards: string[];
}

export interface PoolConfig { slots: number }

export interface Config {
  name: string;
  /** "aa:bb:cc:dd:ee:ff" — router MAC, derived from name when not given. */
  mac: string;
  /** Directory of the control socket (default /run/switchyard). */
  runDir: string;
  /** Directory for state files such as DHCP leases (default /var/lib/switchyard/<name>). */
  stateDir: string;
  pool: PoolConfig;
  ports: Record<string, PortConfig>;
  networks: Record<string, NetworkConfig>;
  routes: string[];
  rules: { fromPort: string; table: string }[];
  tables: Record<string, string[]>;
}

// ---- views returned by the library and the control socket (`--json`) ----

export interface PortCounters {
  rxPackets: number; rxBytes: number;
  txPackets: number; txBytes: number;
  /** frames dropped that arrived on this port, by reason */
  rxDrops: number;
  /** frames for this port that could not be sent */
  txDrops: number;
}

export interface PortView {
  name: string;
  kind: PortKind;
  /** the interface; for stream and dgram ports the socket path */
  ifname: string;
  network: string | null;
  state: 'up' | 'down';
  mac: string | null;
  mtu: number;
  counters: PortCounters;
  /** drop counters of this port by reason ("oversize": 3, ...) */
  drops: Record<string, number>;
  /**
   * stream and dgram ports only: who is on the other end. stream: "connected" or null (no QEMU
   * connected; the port is down); dgram: the socket address frames are sent to (the last
   * sender's path), null until a datagram arrived.
   */
  peer?: string | null;
}

export interface FdbEntryView {
  network: string;
  mac: string;
  port: string;
  /** seconds since the entry was last refreshed */
  ageSeconds: number;
}

export interface NodeStatsView {
  name: string;
  calls: number;
  /** packets handled (VPP's "vectors" column); equal to packets */
  vectors: number;
  packets: number;
  /** average packets per call */
  vectorSize: number;
  /** nanoseconds per packet, measured per vector */
  nsPerPacket: number;
  counters: Record<string, number>;
}

export interface PoolStatsView { slots: number; free: number; inUse: number; allocFailures: number }

export interface StatsView {
  name: string;
  uptimeSeconds: number;
  pool: PoolStatsView;
  ports: PortView[];
  nodes: NodeStatsView[];
  /** every drop counter of every node and port, summed by reason */
  drops: Record<string, number>;
  fdb: { network: string; entries: number; learned: number; moves: number; evictions: number; aged: number }[];
}
