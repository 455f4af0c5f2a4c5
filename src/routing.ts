// routing.ts — the control plane of routed networks: turns the configuration into the
// Ip4Context the routed nodes read (addresses, MACs, tables, next hops, published ARP
// entries, policy rules), and builds the `show routes` / `show neigh` views.
//
// Routes installed, per routed network (seeds 000/001/003/004, libvirt routed):
//   - a /32 host route per VM in `hosts`, to its port, in EVERY table: a network's own VMs
//     are reached directly whatever rule picked the table (seed 004's bridge did that at L2);
//   - the uplink's connected subnet (proto kernel, src = the uplink address), main table;
//   - a default route via the uplink gateway when one is given, main table;
//   - static `routes` (main) and `tables` (named), "PREFIX via IP" or "PREFIX dev PORT".
// A rule `{ fromPort, table }` makes packets arriving on that port look in that table
// first; when it has no route, main decides (like Linux falling through to the next rule).
import type { Config } from './types.js';
import { Ip4Context, Role } from './nodes/ip4-context.js';
import { Conntrack } from './tables/conntrack.js';

/** Flows a nat network's connection table holds at most (oldest closed/embryonic evicted first). */
export const CONNTRACK_MAX = 262144;
import { parseIp4, ip4ToString, parseMac, macToString } from './wire/addr.js';

export interface RouteView {
  table: string;
  /** "default" or "a.b.c.d/len" ("a.b.c.d" for a /32, as ip route prints it) */
  dst: string;
  via: string | null;
  dev: string;
  /** kernel: connected subnet; boot: the uplink's gateway; static: routes/tables; host: a VM's /32 */
  proto: 'kernel' | 'boot' | 'static' | 'host';
  src: string | null;
}

export interface NeighborView {
  address: string;
  /** "ether", or "*" for a published-only entry */
  hwtype: string;
  /** "aa:bb:…", "(incomplete)" or "*" */
  hwaddress: string;
  /** C complete, M permanent, P published (arp -n) */
  flags: string;
  mask: string;
  iface: string;
  state: string;
}

/** One flow (conntrack -L): the original direction as the VM sent it, the reply as it comes back. */
export interface ConntrackView {
  network: string;
  proto: 'tcp' | 'udp' | 'icmp' | string;
  state: string;
  /** seconds left */
  timeout: number;
  src: string; dst: string; sport: number; dport: number;
  replySrc: string; replyDst: string; replySport: number; replyDport: number;
  packets: number;
  /** inside: a VM opened it; outside: it came in through a forward */
  origin: 'inside' | 'outside';
}

interface RouteRecord { table: number; prefix: number; len: number; nh: number; proto: RouteView['proto']; src: number }

export interface RoutingPorts {
  id(name: string): number;
  name(id: number): string;
  /** the interface MAC of a port ("aa:bb:…"), or null when it has none */
  mac(name: string): string | null;
  mtu(name: string): number;
}

function cidr(text: string): { ip: number; len: number; net: number } {
  const [a, l] = text.split('/');
  const ip = parseIp4(a);
  const len = l === undefined ? 32 : /^\d{1,2}$/.test(l) ? Number(l) : NaN;
  if (!(len >= 0 && len <= 32)) throw new Error(`"${text}" is not a.b.c.d/len`);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { ip, len, net: (ip & mask) >>> 0 };
}

export class Routing {
  readonly ctx: Ip4Context;
  private readonly records: RouteRecord[] = [];
  /** network name of each nat (index as in ctx.nats) */
  readonly natNames: string[] = [];
  private readonly ports: RoutingPorts;

  constructor(ctx: Ip4Context, ports: RoutingPorts) {
    this.ctx = ctx;
    this.ports = ports;
  }

  /** Install everything the routed networks of cfg need. Ports must already exist. */
  configure(cfg: Config): void {
    const ctx = this.ctx;
    const switchMac = parseMac(cfg.mac);
    const local: number[] = [];
    const published: [number, number][] = [];
    const routed = Object.values(cfg.networks).filter((n) => n.mode === 'routed');
    ctx.table('main');
    for (const name of Object.keys(cfg.tables)) ctx.table(name);
    routed.forEach((net, index) => {
      const gw = parseIp4(net.gateway);
      local.push(gw);
      for (const p of net.ports) {
        const id = this.ports.id(p);
        this.setPort(id, Role.vm, switchMac, gw, this.ports.mtu(p));
        ctx.gateway[id] = gw;
        ctx.antiSpoof[id] = net.antiSpoof ? 1 : 0;
        ctx.network[id] = index;
      }
      let uplink = -1;
      if (net.uplink) {
        uplink = this.ports.id(net.uplink.port);
        const a = cidr(net.uplink.address);
        const mac = this.ports.mac(net.uplink.port);
        this.setPort(uplink, Role.uplink, mac ? parseMac(mac) : switchMac, a.ip, this.ports.mtu(net.uplink.port));
        ctx.network[uplink] = index;
        local.push(a.ip);
        if (a.len < 32) this.add(0, a.net, a.len, ctx.nextHop(uplink, 0), 'kernel', a.ip);
        if (net.uplink.gateway) this.add(0, 0, 0, ctx.nextHop(uplink, parseIp4(net.uplink.gateway)), 'boot', 0);
      }
      for (const [ipText, port] of Object.entries(net.hosts)) {
        const ip = parseIp4(ipText);
        const nh = ctx.nextHop(this.ports.id(port), 0);
        for (let t = 0; t < ctx.tables.length; t++) this.add(t, ip, 32, nh, 'host', 0);
        if (uplink >= 0) published.push([ip, uplink]);
      }
    });
    // nat and isolated segments: the switch's router interface, its address the VMs' gateway
    for (const net of Object.values(cfg.networks)) {
      if ((net.mode !== 'nat' && net.mode !== 'isolated') || !net.address) continue;
      const r = this.ports.id(`router:${net.name}`);
      const a = cidr(net.address);
      this.setPort(r, Role.inside, switchMac, a.ip, 1500);
      local.push(a.ip);
      this.add(0, a.net, a.len, ctx.nextHop(r, 0), 'kernel', a.ip);
      if (net.mode === 'nat' && net.uplink) {
        const u = this.ports.id(net.uplink.port);
        const ua = cidr(net.uplink.address);
        const mac = this.ports.mac(net.uplink.port);
        this.setPort(u, Role.uplink, mac ? parseMac(mac) : switchMac, ua.ip, this.ports.mtu(net.uplink.port));
        local.push(ua.ip);
        if (ua.len < 32) this.add(0, ua.net, ua.len, ctx.nextHop(u, 0), 'kernel', ua.ip);
        // the segment's own table: out through its own uplink, whatever other networks do
        const t = ctx.table(`nat:${net.name}`);
        ctx.tableOfPort[r] = t;
        ctx.tableOfPort[u] = t; // the switch's own answers out of the uplink (echo replies, ICMP errors)
        this.add(t, a.net, a.len, ctx.nextHop(r, 0), 'kernel', a.ip);
        if (ua.len < 32) this.add(t, ua.net, ua.len, ctx.nextHop(u, 0), 'kernel', ua.ip);
        if (net.uplink.gateway) this.add(t, 0, 0, ctx.nextHop(u, parseIp4(net.uplink.gateway)), 'boot', 0);
        // masquerade out of the uplink address, forwards in
        const nat = ctx.nats.length;
        const ct = new Conntrack({ maxEntries: CONNTRACK_MAX, externalIp: ua.ip });
        for (const f of net.forwards) {
          const m = /^(tcp|udp) (\d+) -> ([\d.]+):(\d+)$/.exec(f);
          if (!m) throw new Error(`networks.${net.name}.forwards: cannot read "${f}"`);
          ct.addForward(m[1] === 'tcp' ? 6 : 17, Number(m[2]), parseIp4(m[3]), Number(m[4]));
        }
        ctx.nats.push(ct);
        ctx.natAddr = Uint32Array.from([...ctx.natAddr, ua.ip]);
        ctx.natOfPort[r] = nat;
        ctx.natOfPort[u] = nat;
        this.natNames.push(net.name);
      }
    }
    for (const r of cfg.routes) this.addStatic(0, r);
    for (const [name, list] of Object.entries(cfg.tables)) for (const r of list) this.addStatic(ctx.table(name), r);
    for (const rule of cfg.rules) ctx.tableOfPort[this.ports.id(rule.fromPort)] = ctx.table(rule.table);
    ctx.local = Uint32Array.from(new Set(local));
    ctx.published = Uint32Array.from(published, (x) => x[0]);
    ctx.publishedPort = Uint16Array.from(published, (x) => x[1]);
  }

  private setPort(id: number, role: number, mac: number, addr: number, mtu: number): void {
    const ctx = this.ctx;
    ctx.role[id] = role;
    ctx.macHi[id] = Math.floor(mac / 4294967296);
    ctx.macLo[id] = mac % 4294967296;
    ctx.addr[id] = addr;
    ctx.mtu[id] = mtu;
  }

  private add(table: number, prefix: number, len: number, nh: number, proto: RouteRecord['proto'], src: number): void {
    this.ctx.tables[table].add(prefix, len, nh);
    const i = this.records.findIndex((r) => r.table === table && r.prefix === prefix && r.len === len);
    const rec = { table, prefix, len, nh, proto, src };
    if (i >= 0) this.records[i] = rec; else this.records.push(rec);
  }

  /**
   * Add (or replace) a static route at run time: "PREFIX via IP", "default via IP" or
   * "PREFIX dev PORT", in `table` (default main; a new name makes a new table). Throws an
   * Error that says what is wrong; nothing changes then.
   */
  addRoute(text: string, table = 'main'): void {
    const t = text.trim().split(/\s+/);
    if (t.length !== 3 || (t[1] !== 'via' && t[1] !== 'dev')) throw new Error(`route "${text}": expected "PREFIX via IP", "default via IP" or "PREFIX dev PORT"`);
    if (t[0] !== 'default') {
      const c = cidr(t[0]);
      if (!(c.len >= 0 && c.len <= 32) || c.ip !== c.net) throw new Error(`route "${text}": ${t[0]} is not a prefix without host bits`);
    }
    if (t[1] === 'dev' && this.ports.id(t[2]) < 0) throw new Error(`route "${text}": no port "${t[2]}"`);
    const id = this.ctx.table(table);
    // a new table must also reach the networks' own VMs
    if (id !== 0 && this.ctx.tables[id].size === 0) {
      for (const r of this.records) if (r.table === 0 && r.proto === 'host') this.add(id, r.prefix, r.len, r.nh, 'host', 0);
    }
    this.addStatic(id, t.join(' '));
  }

  /** Remove a static route ("PREFIX" or "default") from a table; false when there was none. */
  removeRoute(dst: string, table = 'main'): boolean {
    const id = this.ctx.tableNames.indexOf(table);
    if (id < 0) return false;
    const { net, len } = dst === 'default' ? { net: 0, len: 0 } : cidr(dst);
    const i = this.records.findIndex((r) => r.table === id && r.prefix === net && r.len === len && r.proto === 'static');
    if (i < 0) return false;
    this.ctx.tables[id].remove(net, len);
    this.records.splice(i, 1);
    return true;
  }

  /** "PREFIX via IP" | "default via IP" | "PREFIX dev PORT" (normalised by the config parser). */
  private addStatic(table: number, text: string): void {
    const [dst, kind, arg] = text.split(/\s+/);
    const { net, len } = dst === 'default' ? { net: 0, len: 0 } : cidr(dst);
    let nh: number;
    if (kind === 'dev') {
      nh = this.ctx.nextHop(this.ports.id(arg), 0);
    } else {
      const gw = parseIp4(arg);
      // the gateway's own next hop says which port it is behind (connected or host route)
      const via = this.ctx.tables[0].lookup(gw);
      if (via === 0) throw new Error(`route "${text}": gateway ${arg} is not reachable through a connected route`);
      nh = this.ctx.nextHop(this.ctx.nhPort[via], gw);
    }
    this.add(table, net, len, nh, 'static', 0);
  }

  routes(): RouteView[] {
    const ctx = this.ctx;
    return this.records
      .slice()
      .sort((a, b) => a.table - b.table || b.len - a.len || a.prefix - b.prefix)
      .map((r) => ({
        table: ctx.tableNames[r.table],
        dst: r.len === 0 ? 'default' : r.len === 32 ? ip4ToString(r.prefix) : `${ip4ToString(r.prefix)}/${r.len}`,
        via: ctx.nhGateway[r.nh] ? ip4ToString(ctx.nhGateway[r.nh]) : null,
        dev: this.ports.name(ctx.nhPort[r.nh]),
        proto: r.proto,
        src: r.src ? ip4ToString(r.src) : null,
      }));
  }

  /** Every tracked flow of every nat network, like `conntrack -L`. */
  conntrack(nowSec: number): ConntrackView[] {
    const out: ConntrackView[] = [];
    const names: Record<number, ConntrackView['proto']> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };
    this.ctx.nats.forEach((ct, i) => {
      for (const e of ct.entries(nowSec)) {
        const ext = ip4ToString(e.extIp);
        out.push({
          network: this.natNames[i], proto: names[e.proto] ?? String(e.proto), state: e.state, timeout: e.expiresIn,
          src: ip4ToString(e.insideIp), dst: ip4ToString(e.remoteIp), sport: e.insidePort, dport: e.remotePort,
          replySrc: ip4ToString(e.remoteIp), replyDst: ext, replySport: e.remotePort, replyDport: e.extPort,
          packets: e.packets, origin: e.origin,
        });
      }
    });
    return out;
  }

  neighbors(): NeighborView[] {
    const ctx = this.ctx;
    const out: NeighborView[] = [];
    for (const e of ctx.neighbors.entries()) {
      const complete = e.flags.includes('C');
      out.push({
        address: ip4ToString(e.ip),
        hwtype: 'ether',
        hwaddress: complete ? macToString(e.mac) : '(incomplete)',
        flags: e.flags,
        mask: '',
        iface: this.ports.name(e.port),
        state: e.state,
      });
    }
    for (let i = 0; i < ctx.published.length; i++) {
      out.push({ address: ip4ToString(ctx.published[i]), hwtype: '*', hwaddress: '*', flags: 'MP', mask: '*', iface: this.ports.name(ctx.publishedPort[i]), state: 'published' });
    }
    return out;
  }
}
