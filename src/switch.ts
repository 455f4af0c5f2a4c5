// switch.ts — a running switchyard instance: the library entry point (`Switch.start`) that
// the CLI uses too.
//
// It turns a configuration into a Dataplane with real ports: every configured port is
// opened through the native addon (AF_PACKET rings or a TAP device), joined to its network,
// and polled through libuv, so frames are serviced in bounded breaths when they arrive and
// the process sleeps when nothing does. A one-second timer ages the MAC tables.
// Views (ports, fdb, stats) are plain objects built on request, off the packet path.
import { execFileSync } from 'node:child_process';
import { Dataplane } from './dataplane.js';
import { NativePort, processPool } from './io/native-port.js';
import { native, type NativePortStats } from './io/native.js';
import { ConfigError, checkInterfaces, parseConfig } from './config.js';
import { macToString, parseMac as parseMacNumber, parseIp4 } from './wire/addr.js';
import { DhcpServer, type DhcpLeaseView } from './dhcp/server.js';
import { LeaseStore } from './dhcp/lease-store.js';
import { Routing, type NeighborView, type RouteView, type ConntrackView } from './routing.js';
import type { CaptureFn } from './engine/ports.js';
import type { PacketPool } from './engine/pool.js';
import type {
  Config, FdbEntryView, PortView, StatsView, NetworkConfig, PortConfig,
} from './types.js';

export interface SwitchOptions {
  /** Where log lines go (default: stderr with a timestamp). */
  log?: (msg: string) => void;
}

interface OpenPort {
  name: string;
  id: number;
  /** null while the interface is gone (the port waits, counters kept, for it to come back) */
  io: NativePort | null;
  network: string | null;
  cfg: PortConfig;
  /** added at run time (port add, QEMU's hook): removed, not kept, when its interface goes */
  dynamic: boolean;
  /** what `show ports` reports while detached */
  mac: string | null;
  mtu: number;
}

/** Modes whose networks take ports at run time: their ports are plain segment members. */
const LIVE_MODES = new Set(['bridged', 'nat', 'isolated']);

/** Modes this build forwards; the others are accepted by the config parser but refused here. */
const SUPPORTED_MODES = new Set(['bridged', 'routed', 'nat', 'isolated']);

const NO_STATS: NativePortStats = {
  rxFrames: 0, rxBytes: 0, rxKernelDrops: 0, rxOversize: 0, rxGsoFrames: 0, rxGsoSegments: 0, rxGsoErrors: 0,
  rxCsumCompleted: 0, rxErrors: 0, txFrames: 0, txBytes: 0, txRingFull: 0, txErrors: 0,
};

function isNormalised(c: unknown): c is Config {
  if (!c || typeof c !== 'object') return false;
  const o = c as Record<string, unknown>;
  return typeof o.runDir === 'string' && typeof o.stateDir === 'string' && typeof o.pool === 'object' &&
    Object.values((o.ports ?? {}) as Record<string, unknown>).every((p) => !!p && typeof p === 'object' && 'kind' in p);
}

function interfaceExists(ifname: string): boolean {
  try { native().linkInfo(ifname); return true; } catch { return false; }
}

/** Give the kernel side of a TAP its address (the host joins the network through it). */
function configureHostAddress(ifname: string, cidr: string): void {
  try {
    execFileSync('ip', ['addr', 'replace', cidr, 'dev', ifname], { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('ip', ['link', 'set', ifname, 'up'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`tap ${ifname}: cannot set address ${cidr}: ${e.stderr?.toString().trim() || e.message}`);
  }
}

export class Switch {
  readonly name: string;
  readonly config: Config;
  readonly dataplane: Dataplane;
  readonly pool: PacketPool;
  private readonly open = new Map<string, OpenPort>();
  private readonly log: (msg: string) => void;
  private timer: NodeJS.Timeout | null = null;
  private routing: Routing | null = null;
  private nets = new Map<string, ReturnType<Dataplane['addNetwork']>>();
  private readonly dhcp = new Map<string, DhcpServer>();
  private readonly started = Date.now();
  private stopped = false;

  private constructor(config: Config, log: (msg: string) => void) {
    this.config = config;
    this.name = config.name;
    this.log = log;
    this.pool = processPool(config.pool.slots);
    this.dataplane = new Dataplane(this.pool);
  }

  /**
   * Start a switch from a configuration: the file schema as an object (SPEC.md), or an
   * already normalised Config. Throws ConfigError for a bad configuration and Error for a
   * port that cannot be opened; nothing stays open after a failed start.
   */
  static async start(config: unknown, opts: SwitchOptions = {}): Promise<Switch> {
    const cfg = isNormalised(config) ? config : parseConfig(config);
    checkInterfaces(cfg, interfaceExists);
    for (const net of Object.values(cfg.networks)) {
      if (!SUPPORTED_MODES.has(net.mode)) {
        throw new ConfigError(`networks.${net.name}.mode`, `mode "${net.mode}" is not implemented in this version (supported: ${[...SUPPORTED_MODES].join(', ')})`);
      }
    }
    const log = opts.log ?? ((m: string) => process.stderr.write(`${new Date().toISOString()} switchyard[${cfg.name}]: ${m}\n`));
    const sw = new Switch(cfg, log);
    try {
      sw.build();
    } catch (err) {
      await sw.stop();
      throw err;
    }
    return sw;
  }

  private build(): void {
    const dp = this.dataplane;
    const networkOf = new Map<string, NetworkConfig>();
    for (const net of Object.values(this.config.networks)) {
      for (const p of net.ports) networkOf.set(p, net);
      if (net.uplink) networkOf.set(net.uplink.port, net);
    }
    const nets = new Map<string, ReturnType<Dataplane['addNetwork']>>();
    const switchMac = parseMacNumber(this.config.mac);
    for (const net of Object.values(this.config.networks)) {
      if (net.mode === 'bridged' || net.mode === 'routed') nets.set(net.name, dp.addNetwork(net.name, net.mode, net.fdb));
      else nets.set(net.name, dp.addSegment(net.name, net.fdb, switchMac).net);
    }
    this.nets = nets;
    for (const port of Object.values(this.config.ports)) {
      const net = networkOf.get(port.name) ?? null;
      this.attach(port, net, false);
    }
    if (Object.values(this.config.networks).some((n) => n.mode !== 'bridged')) {
      this.routing = new Routing(dp.ip4, {
        id: (name) => this.open.get(name)?.id ?? dp.ports.id(name),
        name: (id) => dp.ports.names[id] || `#${id}`,
        mac: (name) => this.open.get(name)?.mac ?? null,
        mtu: (name) => this.open.get(name)?.mtu ?? 1500,
      });
      this.routing.configure(this.config);
    }
    for (const net of Object.values(this.config.networks)) {
      if (!net.dhcp || !net.address) continue;
      const [ip, len] = net.address.split('/');
      const serverIp = parseIp4(ip);
      const plen = Number(len);
      const mask = plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
      const store = new LeaseStore({ dir: this.config.stateDir, network: net.name, log: this.log });
      const server = new DhcpServer({
        network: net.name, serverMac: switchMac, serverIp,
        subnet: { net: (serverIp & mask) >>> 0, len: plen },
        range: [parseIp4(net.dhcp.range[0]), parseIp4(net.dhcp.range[1])],
        leaseSeconds: net.dhcp.leaseSeconds, dns: net.dhcp.dns.map(parseIp4), domain: net.dhcp.domain,
        static: Object.entries(net.dhcp.static).map(([mac, a]) => ({ mac: parseMacNumber(mac), ip: parseIp4(a) })),
        // an isolated network has no way out: no default route for its VMs
        router: net.mode === 'isolated' ? null : serverIp,
        store, log: this.log,
      });
      const router = dp.ports.id(`router:${net.name}`);
      dp.ip4.dhcpOfPort[router] = dp.ip4.dhcp.length;
      dp.ip4.dhcp.push(server);
      this.dhcp.set(net.name, server);
    }
    let ticks = 0;
    this.timer = setInterval(() => {
      if (this.stopped) return;
      dp.neighborTick();
      for (const d of this.dhcp.values()) d.tick(dp.graph.nowMs);
      if (++ticks % 5 === 0) { dp.age(); this.watchInterfaces(); }
    }, 200);
    this.timer.unref();
    this.log(`started: ${this.open.size} ports, ${nets.size} networks, pool ${this.pool.slots} slots`);
  }

  /** Open a port's device and join it to its network. */
  private attach(port: PortConfig, net: NetworkConfig | null, dynamic: boolean): OpenPort {
    const dp = this.dataplane;
    const io = new NativePort(port);
    if (port.kind === 'tap' && port.address) {
      try {
        configureHostAddress(port.ifname, port.address);
      } catch (err) {
        io.close();
        throw err;
      }
    }
    const id = dp.addPort(port.name, io, io.mtu);
    const open: OpenPort = { name: port.name, id, io, network: net ? net.name : null, cfg: port, dynamic, mac: io.mac, mtu: io.mtu };
    this.open.set(port.name, open);
    if (net && net.mode === 'nat' && net.uplink?.port === port.name) dp.joinRouter(id, this.nets.get(net.name)!);
    else if (net) dp.joinNetwork(id, this.nets.get(net.name)!);
    io.poll(() => { if (!this.stopped) dp.service(id); });
    this.log(`port ${port.name}: ${port.kind} ${port.ifname}${io.created ? ' (created)' : ''}, mtu ${io.mtu}${net ? `, network ${net.name}` : ', in no network'}`);
    return open;
  }

  /**
   * Add a port at run time (`switchyard port add`, QEMU's script= hook): an afpacket port on
   * an existing interface, or a TAP, joined to a bridged, nat or isolated network. The other
   * ports and every learned table are untouched. Throws an Error that says what is wrong.
   */
  addPort(name: string, spec: { afpacket?: string; tap?: string; network: string; promiscuous?: boolean }): PortView {
    if (this.stopped) throw new Error('the switch is stopped');
    if (!/^[A-Za-z0-9_.:-]{1,32}$/.test(name)) throw new Error(`port name ${JSON.stringify(name)}: use 1-32 of A-Z a-z 0-9 _ . : -`);
    if (this.open.has(name) || this.dataplane.ports.id(name) >= 0) throw new Error(`port "${name}" exists already`);
    const net = this.config.networks[spec.network];
    if (!net) throw new Error(`no network "${spec.network}" (networks: ${Object.keys(this.config.networks).join(', ') || 'none'})`);
    if (!LIVE_MODES.has(net.mode)) throw new Error(`network "${spec.network}" is ${net.mode}: its ports come from the config (hosts, uplink); edit it and send SIGHUP`);
    if ((spec.afpacket === undefined) === (spec.tap === undefined)) throw new Error('give exactly one of --afpacket IF or --tap IF');
    const ifname = (spec.afpacket ?? spec.tap)!;
    if (!/^[^/:\s]{1,15}$/.test(ifname)) throw new Error(`interface name ${JSON.stringify(ifname)} is not a Linux interface name`);
    for (const p of this.open.values()) if (p.cfg.ifname === ifname) throw new Error(`interface ${ifname} is port "${p.name}" already`);
    const cfg: PortConfig = spec.afpacket !== undefined
      ? { kind: 'afpacket', name, ifname, promiscuous: spec.promiscuous ?? false, mtu: null }
      : { kind: 'tap', name, ifname, address: null, mtu: null };
    this.attach(cfg, net, true);
    return this.ports().find((p) => p.name === name)!;
  }

  /** Remove a port (`switchyard port del`): closed, forgotten, its MACs and neighbours flushed. */
  removePort(name: string): boolean {
    const p = this.open.get(name);
    if (!p) return false;
    this.detach(p);
    this.dataplane.removePort(p.id);
    this.open.delete(name);
    this.log(`port ${name}: removed`);
    return true;
  }

  private detach(p: OpenPort): void {
    if (!p.io) return;
    try { p.io.poll(null); } catch { /* closing anyway */ }
    try { p.io.close(); } catch (err) { this.log(`port ${p.name}: close failed: ${(err as Error).message}`); }
    p.io = null;
    this.dataplane.ports.io[p.id] = null;
    this.dataplane.ports.setUp(p.id, false);
  }

  /**
   * Interfaces that vanished (a VM powered off, a veth deleted) detach their port: counters
   * kept, an event logged, forwarding elsewhere untouched. A configured port whose interface
   * comes back is attached again; a port added at run time is removed instead.
   */
  private watchInterfaces(): void {
    for (const p of [...this.open.values()]) {
      if (p.cfg.kind !== 'afpacket') continue;
      const present = interfaceExists(p.cfg.ifname);
      if (p.io && !present) {
        this.detach(p);
        this.dataplane.forgetPort(p.id);
        if (p.dynamic) { this.dataplane.removePort(p.id); this.open.delete(p.name); }
        this.log(`port ${p.name}: interface ${p.cfg.ifname} is gone: ${p.dynamic ? 'removed' : 'detached, waiting for it to come back'}`);
      } else if (!p.io && present) {
        try {
          const io = new NativePort(p.cfg);
          p.io = io; p.mac = io.mac; p.mtu = io.mtu;
          this.dataplane.ports.io[p.id] = io;
          this.dataplane.ports.maxFrame[p.id] = io.mtu + 14;
          this.dataplane.ports.setUp(p.id, true);
          io.poll(() => { if (!this.stopped) this.dataplane.service(p.id); });
          this.log(`port ${p.name}: interface ${p.cfg.ifname} is back: attached`);
        } catch (err) {
          this.log(`port ${p.name}: interface ${p.cfg.ifname} is back but cannot be opened: ${(err as Error).message}`);
        }
      }
    }
  }

  /** Stop forwarding, close every port (TAP devices the switch created disappear). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const p of this.open.values()) {
      this.detach(p);
      this.dataplane.removePort(p.id);
    }
    this.open.clear();
    for (const d of this.dhcp.values()) {
      try { await d.close(); } catch (err) { this.log(`dhcp: ${(err as Error).message}`); }
    }
    this.log('stopped');
  }

  // ---- views ----

  ports(): PortView[] {
    const pt = this.dataplane.ports;
    return [...this.open.values()].map((p) => {
      const ns = p.io ? p.io.stats() : NO_STATS;
      const drops = this.dataplane.graph.portDropsOf(p.id);
      const add = (k: string, v: number): void => { if (v) drops[k] = (drops[k] ?? 0) + v; };
      add('oversize', ns.rxOversize);
      add('gso-error', ns.rxGsoErrors);
      add('kernel-ring-full', ns.rxKernelDrops);
      add('rx-error', ns.rxErrors);
      let rxDrops = 0;
      for (const v of Object.values(drops)) rxDrops += v;
      return {
        name: p.name,
        kind: p.cfg.kind,
        ifname: p.cfg.ifname,
        network: p.network,
        state: pt.up[p.id] === 1 ? 'up' as const : 'down' as const,
        mac: p.mac,
        mtu: p.mtu,
        counters: {
          rxPackets: pt.rxPackets[p.id], rxBytes: pt.rxBytes[p.id],
          txPackets: pt.txPackets[p.id], txBytes: pt.txBytes[p.id],
          rxDrops, txDrops: pt.txDrops[p.id] + ns.txErrors,
        },
        drops,
      };
    });
  }

  fdb(): FdbEntryView[] {
    this.dataplane.tick();
    const out: FdbEntryView[] = [];
    for (const net of this.dataplane.networks) {
      if (!net) continue;
      for (const e of net.table.entries()) {
        out.push({
          network: net.name,
          mac: macToString(e.hi * 4294967296 + e.lo),
          port: this.dataplane.ports.names[e.port] || `#${e.port}`,
          ageSeconds: Math.max(0, this.dataplane.graph.nowSec - e.seen),
        });
      }
    }
    return out.sort((a, b) => a.network.localeCompare(b.network) || a.port.localeCompare(b.port) || a.mac.localeCompare(b.mac));
  }

  stats(): StatsView {
    const ports = this.ports();
    const nodes = this.dataplane.graph.stats();
    const drops: Record<string, number> = {};
    for (const p of ports) for (const [k, v] of Object.entries(p.drops)) drops[k] = (drops[k] ?? 0) + v;
    const txFull = nodes.find((n) => n.name === 'port-output')?.counters['tx-full'] ?? 0;
    if (txFull) drops['tx-full'] = txFull;
    if (this.dataplane.unresolved) drops['arp-unresolved'] = this.dataplane.unresolved;
    const rewrite = nodes.find((n) => n.name === 'ip4-rewrite');
    if (rewrite && this.dataplane.arpRetries) rewrite.counters['arp-retries'] = this.dataplane.arpRetries;
    const pool = this.pool;
    return {
      name: this.name,
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
      pool: { slots: pool.slots, free: pool.freeCount, inUse: pool.inFlight, allocFailures: pool.allocFailures },
      ports,
      nodes,
      drops,
      fdb: this.dataplane.networks.filter((n) => n !== null).map((n) => ({
        network: n!.name, entries: n!.table.size, learned: n!.table.learned, moves: n!.table.moves, evictions: n!.table.evictions, aged: n!.table.aged,
      })),
    };
  }

  /** The neighbour (ARP) table and published entries, like `arp -n`. */
  neighbors(): NeighborView[] {
    return this.routing ? this.routing.neighbors() : [];
  }

  /** The routes of every table, like `ip route show table all`. */
  routes(): RouteView[] {
    return this.routing ? this.routing.routes() : [];
  }

  /** Tracked NAT flows, like `conntrack -L`. */
  conntrack(): ConntrackView[] {
    this.dataplane.tick();
    return this.routing ? this.routing.conntrack(this.dataplane.graph.nowSec) : [];
  }

  /** DHCP leases of every network, like `virsh net-dhcp-leases`. */
  leases(): (DhcpLeaseView & { network: string; prefix: number })[] {
    this.dataplane.tick();
    const now = this.dataplane.graph.nowMs;
    return [...this.dhcp.entries()].flatMap(([network, d]) => {
      const prefix = Number(this.config.networks[network].address!.split('/')[1]);
      return d.leases(now).map((l) => ({ network, ...l, prefix, expiresAt: Math.round(l.expiresAt) }));
    });
  }

  /** Add or replace a route at run time ("10.50.0.0/16 via 192.168.0.254", in `table`, default main). */
  addRoute(route: string, table = 'main'): void {
    if (!this.routing) throw new Error('no routed network in this switch');
    this.routing.addRoute(route, table);
  }

  /** Remove a static route by its destination ("10.50.0.0/16" or "default"). */
  removeRoute(dst: string, table = 'main'): boolean {
    return this.routing ? this.routing.removeRoute(dst, table) : false;
  }

  /** Subscribe to the frames a port receives and sends (pcap capture). */
  capture(port: string, onFrame: CaptureFn): () => void {
    const p = this.open.get(port);
    if (!p) throw new Error(`no port "${port}" (ports: ${[...this.open.keys()].join(', ') || 'none'})`);
    return this.dataplane.ports.subscribe(p.id, onFrame);
  }
}
