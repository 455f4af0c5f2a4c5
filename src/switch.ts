// switch.ts — a running switchyard instance: the library entry point (`Switch.start`) that
// the CLI uses too.
//
// It turns a configuration into a Dataplane with real ports: every configured port is
// opened (AF_PACKET rings or a TAP device through the native addon, or a QEMU stream/dgram
// unix socket, io/socket-port.ts), joined to its network, and serviced when frames arrive
// (libuv polls the fds; a stream socket's 'data' event), in bounded breaths, so the process
// sleeps when nothing does. A one-second timer ages the MAC tables.
// reload() applies a changed configuration to the ports of bridged, nat and isolated
// networks without touching the others' learned state (SIGHUP in `switchyard run`).
// Views (ports, fdb, stats) are plain objects built on request, off the packet path.
import { execFileSync } from 'node:child_process';
import { Dataplane } from './dataplane.js';
import { NativePort, processPool } from './io/native-port.js';
import { native, type NativePortStats } from './io/native.js';
import { DgramPort, StreamPort } from './io/socket-port.js';
import { ConfigError, checkInterfaces, checkSocketPath, parseConfig, RING_DEFAULT } from './config.js';
import { macToString, parseMac as parseMacNumber, parseIp4 } from './wire/addr.js';
import { DhcpServer, type DhcpLeaseView } from './dhcp/server.js';
import { LeaseStore } from './dhcp/lease-store.js';
import { Routing, type NeighborView, type RouteView, type ConntrackView } from './routing.js';
import type { CaptureFn, PortIo } from './engine/ports.js';
import type { PacketPool } from './engine/pool.js';
import type {
  Config, FdbEntryView, PortView, StatsView, NetworkConfig, PortConfig,
} from './types.js';

export interface SwitchOptions {
  /** Where log lines go (default: stderr with a timestamp). */
  log?: (msg: string) => void;
}

/** What port add accepts: exactly one of the kinds, and the network to join. */
export interface PortAddSpec {
  afpacket?: string;
  tap?: string;
  stream?: string;
  dgram?: string;
  network: string;
  promiscuous?: boolean;
}

/** What reload() did. */
export interface ReloadReport {
  /** ports opened and joined */
  added: string[];
  /** ports closed and forgotten */
  removed: string[];
  /** ports whose settings changed: closed and opened again */
  replaced: string[];
  /** ports that should have been opened but could not be (they are not open now) */
  failed: { port: string; error: string }[];
  /** changes a reload does not apply (left as they were until a restart), one line each */
  needsRestart: string[];
}

/** The device behind a port: a NativePort (afpacket, tap), a StreamPort or a DgramPort. */
interface Device extends PortIo {
  readonly mtu: number;
  readonly mac: string | null;
  readonly created: boolean;
  poll(onReadable: (() => void) | null): void;
  stats(): NativePortStats;
  close(): void;
  extraDrops?(): Record<string, number>;
  peer?(): string | null;
}

/** The interface name, or the socket path of a stream/dgram port. */
function deviceOf(cfg: PortConfig): string {
  return cfg.kind === 'stream' || cfg.kind === 'dgram' ? cfg.path : cfg.ifname;
}

interface OpenPort {
  name: string;
  id: number;
  /** null while the interface is gone (the port waits, counters kept, for it to come back) */
  io: Device | null;
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

/** Does the interface exist in this network namespace? Only "No such device" says no: any other failure (the addon missing or broken) is thrown as it is, not reported as a missing interface. */
function interfaceExists(ifname: string): boolean {
  try {
    native().linkInfo(ifname);
    return true;
  } catch (e) {
    if (/No such device/.test((e as Error).message)) return false;
    throw e;
  }
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
  /** the configuration in effect: the one started with, plus what reloads applied */
  private cfg: Config;
  /** names of ports being opened (an await away from being in `open`) */
  private readonly opening = new Set<string>();
  private reloads: Promise<unknown> = Promise.resolve();

  private constructor(config: Config, log: (msg: string) => void) {
    this.cfg = config;
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
      await sw.build();
    } catch (err) {
      await sw.stop();
      throw err;
    }
    return sw;
  }

  /** The configuration in effect (what reloads applied included). */
  get config(): Config { return this.cfg; }

  private async build(): Promise<void> {
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
      await this.attach(port, net, false);
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

  /** Open the device of a port. Throws Error naming the interface or path and the errno text. */
  private async openDevice(port: PortConfig): Promise<Device> {
    switch (port.kind) {
      case 'afpacket': case 'tap': return new NativePort(port);
      case 'stream': return StreamPort.open({ name: port.name, path: port.path, mtu: port.mtu ?? 1500, pool: this.pool, log: this.log });
      case 'dgram': return new DgramPort({ path: port.path, mtu: port.mtu ?? 1500 });
    }
  }

  /** Open a port's device and join it to its network. */
  private async attach(port: PortConfig, net: NetworkConfig | null, dynamic: boolean): Promise<OpenPort> {
    const dp = this.dataplane;
    if (this.opening.has(port.name)) throw new Error(`port "${port.name}" is being added already`);
    this.opening.add(port.name);
    let io: Device;
    try {
      io = await this.openDevice(port);
    } finally {
      this.opening.delete(port.name);
    }
    if (this.stopped) { io.close(); throw new Error('the switch is stopped'); }
    if (this.open.has(port.name)) { io.close(); throw new Error(`port "${port.name}" exists already`); }
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
    if (io instanceof StreamPort) {
      // down until a QEMU connects; what was learned behind it is forgotten when it goes
      const stream = io;
      dp.ports.setUp(id, stream.connected);
      stream.onLinkChange((up) => {
        if (this.stopped || open.io !== stream) return;
        if (!up) dp.forgetPort(id);
        dp.ports.setUp(id, up);
      });
    }
    io.poll(() => { if (!this.stopped) dp.service(id); });
    const how = port.kind === 'stream' ? ' (listening)' : port.kind === 'dgram' ? ' (bound)' : io.created ? ' (created)' : '';
    this.log(`port ${port.name}: ${port.kind} ${deviceOf(port)}${how}, mtu ${io.mtu}${net ? `, network ${net.name}` : ', in no network'}`);
    return open;
  }

  /**
   * Add a port at run time (`switchyard port add`, QEMU's script= hook): an afpacket port on
   * an existing interface, or a TAP, joined to a bridged, nat or isolated network. The other
   * ports and every learned table are untouched. Throws an Error that says what is wrong.
   */
  async addPort(name: string, spec: PortAddSpec): Promise<PortView> {
    if (this.stopped) throw new Error('the switch is stopped');
    if (!/^[A-Za-z0-9_.:-]{1,32}$/.test(name)) throw new Error(`port name ${JSON.stringify(name)}: use 1-32 of A-Z a-z 0-9 _ . : -`);
    if (this.open.has(name) || this.opening.has(name) || this.dataplane.ports.id(name) >= 0) throw new Error(`port "${name}" exists already`);
    const net = this.config.networks[spec.network];
    if (!net) throw new Error(`no network "${spec.network}" (networks: ${Object.keys(this.config.networks).join(', ') || 'none'})`);
    if (!LIVE_MODES.has(net.mode)) throw new Error(`network "${spec.network}" is ${net.mode}: its ports come from the config (hosts, uplink); edit it and send SIGHUP`);
    const kinds = (['afpacket', 'tap', 'stream', 'dgram'] as const).filter((k) => spec[k] !== undefined);
    if (kinds.length !== 1) throw new Error('give exactly one of --afpacket IF, --tap IF, --stream PATH or --dgram PATH');
    const kind = kinds[0];
    let cfg: PortConfig;
    if (kind === 'stream' || kind === 'dgram') {
      let path: string;
      try {
        path = checkSocketPath(spec[kind], kind);
      } catch (e) {
        throw new Error((e as Error).message);
      }
      for (const p of this.open.values()) if (deviceOf(p.cfg) === path) throw new Error(`socket ${path} is port "${p.name}" already`);
      cfg = { kind, name, path, mtu: null };
    } else {
      const ifname = spec[kind]!;
      if (!/^[^/:\s]{1,15}$/.test(ifname)) throw new Error(`interface name ${JSON.stringify(ifname)} is not a Linux interface name`);
      for (const p of this.open.values()) if (deviceOf(p.cfg) === ifname) throw new Error(`interface ${ifname} is port "${p.name}" already`);
      cfg = kind === 'afpacket'
        ? { kind: 'afpacket', name, ifname, promiscuous: spec.promiscuous ?? false, mtu: null, ring: RING_DEFAULT }
        : { kind: 'tap', name, ifname, address: null, mtu: null };
    }
    await this.attach(cfg, net, true);
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

  /**
   * Apply a changed configuration (SIGHUP): the ports of bridged, nat and isolated networks
   * (and ports in no network) that were removed are closed, new ones opened and joined, and
   * changed ones closed and opened again; every other port keeps its device, counters and
   * learned MACs and neighbours. What a reload cannot apply is left exactly as it was and
   * reported in `needsRestart`: new, removed or re-moded networks, changed network settings
   * (address, dhcp, fdb, uplink, ...), routes, rules and tables, instance settings (name,
   * mac, runDir, stateDir, pool), and ports a routed network, an uplink, a rule or a
   * `dev PORT` route refers to. Ports added at run time (`port add`) are kept unless the new
   * file declares a port of the same name.
   * Throws ConfigError, before changing anything, for a bad configuration or an afpacket
   * interface to attach that does not exist. A port that cannot be opened is reported in
   * `failed` (and logged); the rest of the reload still happens. Reloads run one at a time.
   */
  reload(config: unknown): Promise<ReloadReport> {
    const run = this.reloads.then(() => this.reloadNow(config));
    this.reloads = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(config: unknown): Promise<ReloadReport> {
    if (this.stopped) throw new Error('the switch is stopped');
    const next = isNormalised(config) ? config : parseConfig(config);
    const cur = this.cfg;
    const report: ReloadReport = { added: [], removed: [], replaced: [], failed: [], needsRestart: [] };
    const restart = (what: string): void => { report.needsRestart.push(what); };
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

    for (const k of ['name', 'mac', 'runDir', 'stateDir'] as const) {
      if (cur[k] !== next[k]) restart(`${k} changed (${cur[k]} -> ${next[k]})`);
    }
    if (cur.pool.slots !== next.pool.slots) restart(`pool.slots changed (${cur.pool.slots} -> ${next.pool.slots})`);
    for (const k of ['routes', 'rules', 'tables'] as const) if (!same(cur[k], next[k])) restart(`${k} changed`);

    // networks whose membership a reload may change: live modes, present and otherwise unchanged
    const live = new Set<string>();
    for (const name of new Set([...Object.keys(cur.networks), ...Object.keys(next.networks)])) {
      const a = cur.networks[name], b = next.networks[name];
      if (!a) { restart(`network ${name} is new`); continue; }
      if (!b) { restart(`network ${name} was removed from the file`); continue; }
      if (a.mode !== b.mode) { restart(`network ${name}: mode changed (${a.mode} -> ${b.mode})`); continue; }
      const keys = (Object.keys(a) as (keyof NetworkConfig)[]).filter((k) => k !== 'ports' && !same(a[k], b[k]));
      if (!LIVE_MODES.has(a.mode)) {
        if (keys.length || !same(a.ports, b.ports)) restart(`network ${name} (${a.mode}): ${[...keys, ...(same(a.ports, b.ports) ? [] : ['ports'])].join(', ')} changed`);
        continue;
      }
      if (keys.length) { restart(`network ${name}: ${keys.join(', ')} changed`); continue; }
      live.add(name);
    }

    // where each port sits, and which ports the routing configuration refers to
    const memberOf = (c: Config, port: string): string | null => {
      for (const n of Object.values(c.networks)) if (n.ports.includes(port)) return n.name;
      return null;
    };
    const pinned = (c: Config): Set<string> => {
      const out = new Set<string>();
      for (const n of Object.values(c.networks)) {
        if (n.uplink) out.add(n.uplink.port);
        if (!LIVE_MODES.has(n.mode)) for (const p of n.ports) out.add(p);
      }
      for (const r of c.rules) out.add(r.fromPort);
      for (const r of [...c.routes, ...Object.values(c.tables).flat()]) {
        const m = /\bdev\s+(\S+)/.exec(r);
        if (m) out.add(m[1]);
      }
      return out;
    };
    const pinCur = pinned(cur), pinNext = pinned(next);
    const movable = (pins: Set<string>, port: string, net: string | null): boolean => !pins.has(port) && (net === null || live.has(net));

    const removes: string[] = [];
    const adds: { cfg: PortConfig; net: string | null }[] = [];
    for (const name of new Set([...Object.keys(cur.ports), ...Object.keys(next.ports)])) {
      const a = cur.ports[name], b = next.ports[name];
      const na = a ? memberOf(cur, name) : null, nb = b ? memberOf(next, name) : null;
      const dyn = this.open.get(name)?.dynamic === true;
      if (a && b && same(a, b) && na === nb && this.open.has(name)) continue;
      if ((a && !movable(pinCur, name, na)) || (b && !movable(pinNext, name, nb))) {
        if (a && b && same(a, b) && na === nb) continue; // unchanged, just not open (its interface is gone)
        const what = !a ? 'is new' : !b ? 'was removed' : 'changed';
        const why = pinCur.has(name) || pinNext.has(name)
          ? 'the routing configuration refers to it (a routed network, an uplink, a rule or a dev route)'
          : `network ${a && na !== null && !live.has(na) ? na : nb} is not reloaded`;
        restart(`port ${name}: ${what}, but ${why}`);
        continue;
      }
      if (a && this.open.has(name)) removes.push(name);
      else if (!a && b && dyn) removes.push(name); // a run-time port of the same name gives way to the file
      if (b) adds.push({ cfg: b, net: nb });
    }

    // refuse the whole reload, before touching anything, for interfaces that are not there
    for (const { cfg } of adds) {
      if (cfg.kind === 'afpacket' && !interfaceExists(cfg.ifname)) {
        throw new ConfigError(`ports.${cfg.name}.afpacket`, `interface "${cfg.ifname}" does not exist`);
      }
    }

    const eff: Config = structuredClone(cur);
    const leave = (name: string): void => {
      delete eff.ports[name];
      for (const n of Object.values(eff.networks)) n.ports = n.ports.filter((p) => p !== name);
    };
    for (const name of removes) {
      this.removePort(name);
      leave(name);
    }
    for (const { cfg, net } of adds) {
      const wasOpen = removes.includes(cfg.name) && !!cur.ports[cfg.name];
      try {
        const holder = [...this.open.values()].find((p) => deviceOf(p.cfg) === deviceOf(cfg));
        if (holder) throw new Error(`${cfg.kind === 'stream' || cfg.kind === 'dgram' ? 'socket' : 'interface'} ${deviceOf(cfg)} is port "${holder.name}" already`);
        await this.attach(cfg, net === null ? null : next.networks[net], false);
        eff.ports[cfg.name] = cfg;
        if (net !== null) eff.networks[net].ports.push(cfg.name);
        (wasOpen ? report.replaced : report.added).push(cfg.name);
      } catch (err) {
        const error = (err as Error).message;
        report.failed.push({ port: cfg.name, error });
        this.log(`reload: port ${cfg.name}: cannot be opened: ${error}`);
      }
    }
    for (const name of removes) if (!adds.some((x) => x.cfg.name === name)) report.removed.push(name);
    // keep the file's order of members where it can
    for (const name of live) {
      const order = next.networks[name].ports;
      eff.networks[name].ports.sort((x, y) => (order.indexOf(x) + 1 || Infinity) - (order.indexOf(y) + 1 || Infinity));
    }
    this.cfg = eff;

    for (const r of report.needsRestart) this.log(`reload: ${r}: needs a restart (left as it was)`);
    const n = (l: unknown[], what: string): string => `${l.length} ${what}`;
    this.log(`reload: ${n(report.added, 'added')}, ${n(report.removed, 'removed')}, ${n(report.replaced, 'replaced')}, ${n(report.failed, 'failed')}, ${n(report.needsRestart, 'left for a restart')}`);
    return report;
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
      if (p.io?.extraDrops) for (const [k, v] of Object.entries(p.io.extraDrops())) add(k, v);
      let rxDrops = 0;
      for (const v of Object.values(drops)) rxDrops += v;
      const socket = p.cfg.kind === 'stream' || p.cfg.kind === 'dgram';
      return {
        name: p.name,
        kind: p.cfg.kind,
        ifname: deviceOf(p.cfg),
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
        ...(socket ? { peer: p.io?.peer?.() ?? null } : {}),
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
