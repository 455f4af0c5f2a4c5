// config.ts — reads, validates and normalises the configuration file (SPEC.md, "Configuration
// file"), and prints it back.
//
// Why one strict pass: the switch must refuse to start on a bad file with a message that points
// at the bad field (`networks.private.dhcp.range: ...`), never half-start. Every value is checked
// here, every default is made explicit, and the result (types.ts `Config`) is what the engine
// consumes — it never has to re-validate or guess a default.
//
//   parseConfig(raw)            unknown (parsed YAML/JSON, or a library user's object) -> Config
//   loadConfigFile(path)        read + parse (.json via JSON.parse, anything else as YAML)
//   checkInterfaces(c, exists)  afpacket interfaces must exist (TAPs may be created)
//   defaultConfig()             what `switchyard run` uses without -c
//   formatConfig(c)             normalised YAML; parseConfig(YAML.parse(formatConfig(c))) == c
//
// Conventions: a key whose value is null counts as absent (its default applies). Paths use dots
// for plain keys and ["..."] for keys that are not identifiers (IPs, MACs). Addresses are
// handled as uint32 numbers internally and printed back in canonical dotted form.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import type {
  Config, DhcpConfig, FdbConfig, NetworkConfig, NetworkMode, PortConfig, UplinkConfig,
} from './types.js';

/** A configuration problem; `path` names the offending field (`networks.lab.dhcp.range`). */
export class ConfigError extends Error {
  readonly path: string;
  /** The message without the path. */
  readonly problem: string;
  constructor(path: string, problem: string) {
    super(path ? `${path}: ${problem}` : problem);
    this.name = 'ConfigError';
    this.path = path;
    this.problem = problem;
  }
}

export const DEFAULTS = {
  name: 'default',
  runDir: '/run/switchyard',
  stateDirBase: '/var/lib/switchyard',
  poolSlots: 16384,
  fdbAgingSeconds: 300,
  fdbMaxEntries: 65536,
  routedGateway: '169.255.30.1',
  antiSpoof: true,
  leaseSeconds: 3600,
} as const;

export const LIMITS = {
  nameMaxLength: 32,
  ifnameMaxLength: 15,
  /** a unix socket path must fit sockaddr_un.sun_path (108 bytes with its NUL) */
  socketPathMaxBytes: 107,
  mtuMin: 68,
  mtuMax: 9000,
  fdbAgingMax: 1_000_000,
  fdbMaxEntriesMax: 16_777_216,
  poolSlotsMin: 1024,
  poolSlotsMax: 1_048_576,
  leaseSecondsMin: 60,
  /** DHCP lease time is a u32 and 0xffffffff means "infinite"; we do not hand out infinite leases. */
  leaseSecondsMax: 0xfffffffe,
  dnsServersMax: 8,
} as const;

export const MODES = ['bridged', 'routed', 'nat', 'isolated'] as const satisfies readonly NetworkMode[];

const TOP_KEYS = ['name', 'mac', 'runDir', 'stateDir', 'pool', 'ports', 'networks', 'routes', 'rules', 'tables'] as const;
const PORT_KEYS = ['afpacket', 'tap', 'stream', 'dgram', 'promiscuous', 'mtu', 'address', 'ring'] as const;
/** RX ring frames of an afpacket port: default, and the bounds the addon accepts */
export const RING_DEFAULT = 4096;
/** The keys that name a port's kind; exactly one per port. */
export const PORT_KINDS = ['afpacket', 'tap', 'stream', 'dgram'] as const;
const NET_KEYS_COMMON = ['mode', 'ports', 'fdb'] as const;
/** Keys that only some modes accept, and which. */
const NET_KEYS_BY_MODE: Record<string, readonly NetworkMode[]> = {
  gateway: ['routed'],
  hosts: ['routed'],
  antiSpoof: ['routed'],
  uplink: ['routed', 'nat'],
  address: ['nat', 'isolated'],
  dhcp: ['nat', 'isolated'],
  forwards: ['nat'],
};
const UPLINK_KEYS = ['port', 'address', 'gateway'] as const;
const FDB_KEYS = ['agingSeconds', 'maxEntries'] as const;
const DHCP_KEYS = ['range', 'leaseSeconds', 'dns', 'domain', 'static'] as const;
const RULE_KEYS = ['fromPort', 'table'] as const;
const POOL_KEYS = ['slots'] as const;

// ---------------------------------------------------------------------------------------------
// IPv4 / MAC text helpers (config-only; the packet path uses src/wire)

/** Parses strict dotted-quad IPv4 ("10.0.0.1"); returns uint32 or null. Leading zeros are refused (inet_aton reads them as octal). */
export function parseIPv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n >>> 0;
}

export function formatIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export interface Cidr { ip: number; len: number; net: number; mask: number }

/** "a.b.c.d/len" -> parts, or null. The address part may have host bits set. */
export function parseCidr(s: string): Cidr | null {
  const m = /^([0-9.]+)\/(0|[1-9][0-9]?)$/.exec(s);
  if (!m) return null;
  const ip = parseIPv4(m[1]);
  const len = Number(m[2]);
  if (ip === null || len > 32) return null;
  const mask = prefixMask(len);
  return { ip, len, mask, net: (ip & mask) >>> 0 };
}

export function inSubnet(ip: number, c: Cidr): boolean {
  return ((ip & c.mask) >>> 0) === c.net;
}

export function formatSubnet(c: Cidr): string {
  return `${formatIPv4(c.net)}/${c.len}`;
}

/** Parses "aa:bb:cc:dd:ee:ff" (also with '-'), returns the canonical lower-case colon form or null. */
export function parseMac(s: string): string | null {
  const m = /^([0-9a-fA-F]{2})([:-])([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})$/.exec(s);
  if (!m) return null;
  return [m[1], m[3], m[4], m[5], m[6], m[7]].join(':').toLowerCase();
}

/** The router MAC used when `mac:` is not given: 02 (locally administered, unicast) + 5 bytes of SHA-256 of the name. */
export function deriveMac(name: string): string {
  const h = createHash('sha256').update(`switchyard:${name}`).digest();
  const bytes = [0x02, h[0], h[1], h[2], h[3], h[4]];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

// ---------------------------------------------------------------------------------------------
// generic value checks

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${String(v)}`;
}

/** Path of a child: `a.b` for identifier-like keys, `a["10.0.0.1"]` otherwise. */
function sub(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

function given(o: Obj, key: string): boolean {
  return o[key] !== undefined && o[key] !== null;
}

function expectObj(v: unknown, path: string, what = 'a mapping (key: value)'): Obj {
  if (!isObj(v)) throw new ConfigError(path, `expected ${what}, got ${describe(v)}`);
  return v;
}

function expectList(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new ConfigError(path, `expected a list, got ${describe(v)}`);
  return v;
}

function expectString(v: unknown, path: string, what = 'a string'): string {
  if (typeof v !== 'string') {
    const hint = typeof v === 'number' || typeof v === 'boolean' ? ' (quote it)' : '';
    throw new ConfigError(path, `expected ${what}, got ${describe(v)}${hint}`);
  }
  return v;
}

function expectBool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(path, `expected true or false, got ${describe(v)}`);
  return v;
}

function expectInt(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ConfigError(path, `expected an integer from ${min} to ${max}, got ${describe(v)}`);
  }
  if (v < min || v > max) throw new ConfigError(path, `${v} is out of range (${min}..${max})`);
  return v;
}

function checkKeys(o: Obj, path: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (allowed.includes(k)) continue;
    // at the top level there is no parent to name, so the path is the key itself
    if (path === '') throw new ConfigError(k, `unknown key at the top level (expected one of ${allowed.join(', ')})`);
    throw new ConfigError(path, `unknown key ${JSON.stringify(k)} (expected one of ${allowed.join(', ')})`);
  }
}

const NAME_RE = /^[A-Za-z0-9_.-]+$/;

function checkName(v: unknown, path: string, what: string): string {
  const s = expectString(v, path, `${what} name`);
  if (s.length === 0 || s.length > LIMITS.nameMaxLength || !NAME_RE.test(s) || s === '.' || s === '..') {
    throw new ConfigError(path, `invalid ${what} name ${JSON.stringify(s)} (1-${LIMITS.nameMaxLength} characters of A-Z a-z 0-9 _ . -)`);
  }
  return s;
}

/** Linux interface names: 1-15 bytes, no '/', ':' or whitespace, not "." or "..". */
function checkIfname(v: unknown, path: string): string {
  const s = expectString(v, path, 'an interface name');
  if (s.length === 0 || Buffer.byteLength(s) > LIMITS.ifnameMaxLength || /[/:\s]/.test(s) || s === '.' || s === '..') {
    throw new ConfigError(path, `invalid interface name ${JSON.stringify(s)} (1-15 characters, no '/', ':' or whitespace)`);
  }
  return s;
}

/** A unicast IPv4 address usable by a host: not 0/8, not loopback, not multicast or reserved. */
function checkHostIp(v: unknown, path: string): number {
  const s = expectString(v, path, 'an IPv4 address');
  const ip = parseIPv4(s);
  if (ip === null) throw new ConfigError(path, `invalid IPv4 address ${JSON.stringify(s)}`);
  const first = ip >>> 24;
  if (first === 0 || first === 127 || first >= 224) {
    throw new ConfigError(path, `${s} is not a unicast host address`);
  }
  return ip;
}

/** "a.b.c.d/len" naming a host inside its subnet (not the network or broadcast address for len <= 30). */
function checkHostCidr(v: unknown, path: string): Cidr {
  const s = expectString(v, path, 'an address with prefix length (a.b.c.d/len)');
  const c = parseCidr(s);
  if (c === null) throw new ConfigError(path, `invalid address ${JSON.stringify(s)} (expected a.b.c.d/len)`);
  if (c.len === 0) throw new ConfigError(path, `${s}: prefix length 0 leaves no subnet`);
  checkHostIp(formatIPv4(c.ip), path);
  if (c.len <= 30) {
    if (c.ip === c.net) throw new ConfigError(path, `${s} is the network address of ${formatSubnet(c)}, not a host address`);
    if (c.ip === (c.net | ~c.mask) >>> 0) throw new ConfigError(path, `${s} is the broadcast address of ${formatSubnet(c)}, not a host address`);
  }
  return c;
}

function cidrText(c: Cidr): string {
  return `${formatIPv4(c.ip)}/${c.len}`;
}

/** A host address inside `c` that is usable for a host (not network/broadcast). */
function checkIpInSubnet(v: unknown, path: string, c: Cidr): number {
  const ip = checkHostIp(v, path);
  const s = formatIPv4(ip);
  if (!inSubnet(ip, c)) throw new ConfigError(path, `${s} is outside ${formatSubnet(c)}`);
  if (c.len <= 30 && (ip === c.net || ip === (c.net | ~c.mask) >>> 0)) {
    throw new ConfigError(path, `${s} is the ${ip === c.net ? 'network' : 'broadcast'} address of ${formatSubnet(c)}`);
  }
  return ip;
}

function checkUnicastMac(v: unknown, path: string): string {
  const s = expectString(v, path, 'a MAC address');
  const mac = parseMac(s);
  if (mac === null) throw new ConfigError(path, `invalid MAC address ${JSON.stringify(s)} (expected aa:bb:cc:dd:ee:ff)`);
  if (parseInt(mac.slice(0, 2), 16) & 1) throw new ConfigError(path, `${mac} is a multicast address; a unicast MAC is needed`);
  if (mac === '00:00:00:00:00:00') throw new ConfigError(path, `${mac} is not a usable MAC address`);
  return mac;
}

function checkAbsPath(v: unknown, path: string): string {
  const s = expectString(v, path, 'a path');
  if (!s.startsWith('/')) throw new ConfigError(path, `${JSON.stringify(s)} must be an absolute path`);
  if (s.includes('\0')) throw new ConfigError(path, 'path contains a NUL byte');
  return s.length > 1 ? s.replace(/\/+$/, '') : s;
}

/**
 * The path of a stream/dgram port's unix socket: absolute (the switch's working directory is
 * nobody's business), at most 107 bytes, no NUL, not a directory name. Throws ConfigError.
 */
export function checkSocketPath(v: unknown, path: string): string {
  const s = expectString(v, path, 'a unix socket path');
  if (!s.startsWith('/')) throw new ConfigError(path, `${JSON.stringify(s)} must be an absolute path`);
  if (s.includes('\0')) throw new ConfigError(path, 'path contains a NUL byte');
  if (s.endsWith('/')) throw new ConfigError(path, `${JSON.stringify(s)} names a directory, not a socket file`);
  const bytes = Buffer.byteLength(s);
  if (bytes > LIMITS.socketPathMaxBytes) {
    throw new ConfigError(path, `${JSON.stringify(s)} is ${bytes} bytes; a unix socket path holds at most ${LIMITS.socketPathMaxBytes}`);
  }
  return s.replace(/\/{2,}/g, '/');
}

// ---------------------------------------------------------------------------------------------
// parseConfig

/** Who holds a port: a network's `ports` list or a network's uplink. */
interface Holder { network: string; role: 'member' | 'uplink' }

/** A subnet the switch is directly attached to (for checking route next hops). */
interface Connected { c: Cidr; where: string }

export function parseConfig(raw: unknown): Config {
  const top = expectObj(raw, '', 'a mapping at the top level');
  checkKeys(top, '', TOP_KEYS);

  const name = given(top, 'name') ? checkName(top.name, 'name', 'instance') : DEFAULTS.name;
  const mac = given(top, 'mac') ? checkUnicastMac(top.mac, 'mac') : deriveMac(name);
  const runDir = given(top, 'runDir') ? checkAbsPath(top.runDir, 'runDir') : DEFAULTS.runDir;
  const stateDir = given(top, 'stateDir') ? checkAbsPath(top.stateDir, 'stateDir') : `${DEFAULTS.stateDirBase}/${name}`;

  let slots: number = DEFAULTS.poolSlots;
  if (given(top, 'pool')) {
    const p = expectObj(top.pool, 'pool');
    checkKeys(p, 'pool', POOL_KEYS);
    if (given(p, 'slots')) slots = expectInt(p.slots, 'pool.slots', LIMITS.poolSlotsMin, LIMITS.poolSlotsMax);
  }

  const ports = parsePorts(top.ports);
  const { networks, connected, hostIps } = parseNetworks(top.networks, ports);

  const routes = given(top, 'routes')
    ? parseRouteList(top.routes, 'routes', ports, connected, hostIps)
    : [];

  const tables: Record<string, string[]> = {};
  if (given(top, 'tables')) {
    const t = expectObj(top.tables, 'tables');
    for (const [tname, list] of Object.entries(t)) {
      const p = sub('tables', tname);
      checkName(tname, p, 'table');
      tables[tname] = list === null ? [] : parseRouteList(list, p, ports, connected, hostIps);
    }
  }

  const rules: { fromPort: string; table: string }[] = [];
  if (given(top, 'rules')) {
    const seen = new Map<string, number>();
    expectList(top.rules, 'rules').forEach((r, i) => {
      const p = sub('rules', i);
      const o = expectObj(r, p);
      checkKeys(o, p, RULE_KEYS);
      if (!given(o, 'fromPort')) throw new ConfigError(sub(p, 'fromPort'), 'required (the ingress port this rule matches)');
      if (!given(o, 'table')) throw new ConfigError(sub(p, 'table'), 'required (the routing table to look up)');
      const fromPort = expectString(o.fromPort, sub(p, 'fromPort'), 'a port name');
      if (!(fromPort in ports)) throw new ConfigError(sub(p, 'fromPort'), unknownPort(fromPort, ports));
      const table = expectString(o.table, sub(p, 'table'), 'a table name');
      if (!(table in tables)) {
        const known = Object.keys(tables);
        throw new ConfigError(sub(p, 'table'), `unknown table ${JSON.stringify(table)} (${known.length ? `tables: ${known.join(', ')}` : 'no tables are declared'})`);
      }
      const prev = seen.get(fromPort);
      if (prev !== undefined) throw new ConfigError(sub(p, 'fromPort'), `port "${fromPort}" already has a rule (rules[${prev}])`);
      seen.set(fromPort, i);
      rules.push({ fromPort, table });
    });
  }

  return { name, mac, runDir, stateDir, pool: { slots }, ports, networks, routes, rules, tables };
}

function unknownPort(port: string, ports: Record<string, PortConfig>): string {
  const known = Object.keys(ports);
  return `unknown port ${JSON.stringify(port)} (${known.length ? `declared ports: ${known.join(', ')}` : 'no ports are declared'})`;
}

function parsePorts(raw: unknown): Record<string, PortConfig> {
  const out: Record<string, PortConfig> = {};
  if (raw === undefined || raw === null) return out;
  const o = expectObj(raw, 'ports');
  const byIfname = new Map<string, string>();
  const byPath = new Map<string, string>();
  for (const [pname, v] of Object.entries(o)) {
    const p = sub('ports', pname);
    checkName(pname, p, 'port');
    const po = expectObj(v, p, 'a mapping such as { afpacket: eth0 }, { tap: sy-host } or { stream: /run/vm1.sock }');
    checkKeys(po, p, PORT_KEYS);
    const kinds = PORT_KINDS.filter((k) => given(po, k));
    if (kinds.length > 1) throw new ConfigError(p, `give only one of ${PORT_KINDS.join(', ')} (got ${kinds.join(' and ')})`);
    if (kinds.length === 0) throw new ConfigError(p, 'missing the port kind: give afpacket: IFNAME, tap: IFNAME, stream: PATH or dgram: PATH');
    const kind = kinds[0];
    const mtu = given(po, 'mtu') ? expectInt(po.mtu, sub(p, 'mtu'), LIMITS.mtuMin, LIMITS.mtuMax) : null;
    if (given(po, 'ring') && kind !== 'afpacket') throw new ConfigError(sub(p, 'ring'), `"ring" applies only to afpacket ports, not ${kind}`);
    const ring = given(po, 'ring') ? expectInt(po.ring, sub(p, 'ring'), 256, 65536) : RING_DEFAULT;
    if ((ring & (ring - 1)) !== 0) throw new ConfigError(sub(p, 'ring'), `${ring} is not a power of two (256, 512, ... 65536)`);
    if (kind === 'stream' || kind === 'dgram') {
      // QEMU's socket netdevs: a unix socket path, no interface behind it
      const socketPath = checkSocketPath(po[kind], sub(p, kind));
      const other = byPath.get(socketPath);
      if (other !== undefined) throw new ConfigError(sub(p, kind), `socket ${socketPath} is already used by port "${other}"`);
      byPath.set(socketPath, pname);
      for (const k of ['address', 'promiscuous'] as const) {
        if (given(po, k)) throw new ConfigError(sub(p, k), `"${k}" applies only to ${k === 'address' ? 'tap' : 'afpacket'} ports, not ${kind}`);
      }
      out[pname] = { kind, name: pname, path: socketPath, mtu };
      continue;
    }
    const ifname = checkIfname(po[kind], sub(p, kind));
    const other = byIfname.get(ifname);
    if (other !== undefined) throw new ConfigError(sub(p, kind), `interface "${ifname}" is already used by port "${other}"`);
    byIfname.set(ifname, pname);
    if (kind === 'afpacket') {
      if (given(po, 'address')) {
        throw new ConfigError(sub(p, 'address'), '"address" applies only to tap ports (an afpacket interface is configured with ip addr, outside the switch)');
      }
      const promiscuous = given(po, 'promiscuous') ? expectBool(po.promiscuous, sub(p, 'promiscuous')) : false;
      out[pname] = { kind: 'afpacket', name: pname, ifname, promiscuous, mtu, ring };
    } else {
      if (given(po, 'promiscuous')) {
        throw new ConfigError(sub(p, 'promiscuous'), '"promiscuous" applies only to afpacket ports (a TAP delivers every frame)');
      }
      const address = given(po, 'address') ? cidrText(checkHostCidr(po.address, sub(p, 'address'))) : null;
      out[pname] = { kind: 'tap', name: pname, ifname, address, mtu };
    }
  }
  return out;
}

function parseNetworks(raw: unknown, ports: Record<string, PortConfig>): {
  networks: Record<string, NetworkConfig>; connected: Connected[]; hostIps: Set<number>;
} {
  const networks: Record<string, NetworkConfig> = {};
  const connected: Connected[] = [];
  const hostIps = new Set<number>();
  if (raw === undefined || raw === null) return { networks, connected, hostIps };
  const o = expectObj(raw, 'networks');
  const holders = new Map<string, Holder>();
  /** Every address the switch itself owns, for duplicate detection. */
  const ownIps = new Map<number, string>();
  const claimOwnIp = (ip: number, path: string): void => {
    const prev = ownIps.get(ip);
    if (prev !== undefined) throw new ConfigError(path, `${formatIPv4(ip)} is already used at ${prev}`);
    ownIps.set(ip, path);
  };
  /** Subnets that go into the main routing table must not overlap. */
  const routedSubnets: Connected[] = [];
  const claimRoutedSubnet = (c: Cidr, path: string): void => {
    for (const r of routedSubnets) {
      const len = Math.min(r.c.len, c.len);
      const m = prefixMask(len);
      if (((r.c.net & m) >>> 0) === ((c.net & m) >>> 0)) {
        throw new ConfigError(path, `${formatSubnet(c)} overlaps ${formatSubnet(r.c)} (${r.where})`);
      }
    }
    routedSubnets.push({ c, where: path });
  };

  for (const [nname, v] of Object.entries(o)) {
    const p = sub('networks', nname);
    checkName(nname, p, 'network');
    const no = expectObj(v, p);

    if (!given(no, 'mode')) throw new ConfigError(sub(p, 'mode'), `required (one of ${MODES.join(', ')})`);
    const modeRaw = expectString(no.mode, sub(p, 'mode'), 'a mode');
    if (!(MODES as readonly string[]).includes(modeRaw)) {
      throw new ConfigError(sub(p, 'mode'), `unknown mode ${JSON.stringify(modeRaw)} (expected one of ${MODES.join(', ')})`);
    }
    const mode = modeRaw as NetworkMode;

    const allowed = [...NET_KEYS_COMMON, ...Object.keys(NET_KEYS_BY_MODE).filter((k) => NET_KEYS_BY_MODE[k].includes(mode))];
    for (const k of Object.keys(no)) {
      if (allowed.includes(k)) continue;
      const modes = NET_KEYS_BY_MODE[k];
      if (modes) {
        throw new ConfigError(sub(p, k), `"${k}" applies only to ${modes.join(' and ')} networks, not ${mode}`);
      }
      throw new ConfigError(p, `unknown key ${JSON.stringify(k)} (expected one of ${allowed.join(', ')})`);
    }

    // members
    const members: string[] = [];
    if (given(no, 'ports')) {
      expectList(no.ports, sub(p, 'ports')).forEach((pv, i) => {
        const pp = sub(sub(p, 'ports'), i);
        const port = expectString(pv, pp, 'a port name');
        if (!(port in ports)) throw new ConfigError(pp, unknownPort(port, ports));
        const h = holders.get(port);
        if (h) {
          throw new ConfigError(pp, h.network === nname
            ? `port "${port}" is listed twice`
            : h.role === 'member'
              ? `port "${port}" is already in network "${h.network}"`
              : `port "${port}" is already the uplink of network "${h.network}"`);
        }
        holders.set(port, { network: nname, role: 'member' });
        members.push(port);
      });
    }

    // fdb
    const fdb: FdbConfig = { agingSeconds: DEFAULTS.fdbAgingSeconds, maxEntries: DEFAULTS.fdbMaxEntries };
    if (given(no, 'fdb')) {
      const fp = sub(p, 'fdb');
      const fo = expectObj(no.fdb, fp);
      checkKeys(fo, fp, FDB_KEYS);
      if (given(fo, 'agingSeconds')) fdb.agingSeconds = expectInt(fo.agingSeconds, sub(fp, 'agingSeconds'), 1, LIMITS.fdbAgingMax);
      if (given(fo, 'maxEntries')) fdb.maxEntries = expectInt(fo.maxEntries, sub(fp, 'maxEntries'), 1, LIMITS.fdbMaxEntriesMax);
    }

    const net: NetworkConfig = {
      name: nname, mode, ports: members, fdb,
      gateway: DEFAULTS.routedGateway, hosts: {}, antiSpoof: DEFAULTS.antiSpoof,
      uplink: null, address: null, dhcp: null, forwards: [],
    };

    // uplink (routed, nat)
    let uplinkCidr: Cidr | null = null;
    if (given(no, 'uplink')) {
      const up = parseUplink(no.uplink, sub(p, 'uplink'), nname, ports, holders);
      net.uplink = up.uplink;
      uplinkCidr = up.cidr;
      claimOwnIp(up.cidr.ip, sub(sub(p, 'uplink'), 'address'));
      claimRoutedSubnet(up.cidr, sub(sub(p, 'uplink'), 'address'));
      connected.push({ c: up.cidr, where: `${nname} uplink` });
    } else if (mode === 'nat') {
      throw new ConfigError(sub(p, 'uplink'), 'required for nat networks ({ port: PORT, address: a.b.c.d/len, gateway: a.b.c.d })');
    }

    // address (nat, isolated)
    let addr: Cidr | null = null;
    if (mode === 'nat' || mode === 'isolated') {
      if (!given(no, 'address')) {
        throw new ConfigError(sub(p, 'address'), `required for ${mode} networks (the switch's own address on the segment, e.g. 192.168.122.1/24)`);
      }
      addr = checkHostCidr(no.address, sub(p, 'address'));
      if (addr.len > 30) throw new ConfigError(sub(p, 'address'), `/${addr.len} leaves no room for hosts (use /30 or shorter)`);
      net.address = cidrText(addr);
      claimOwnIp(addr.ip, sub(p, 'address'));
      if (mode === 'nat') {
        if (uplinkCidr && (inSubnet(uplinkCidr.ip, addr) || inSubnet(addr.ip, uplinkCidr))) {
          throw new ConfigError(sub(sub(p, 'uplink'), 'address'), `${cidrText(uplinkCidr)} overlaps the network's own subnet ${formatSubnet(addr)}`);
        }
        claimRoutedSubnet(addr, sub(p, 'address'));
        connected.push({ c: addr, where: nname });
      }
    }

    // routed
    if (mode === 'routed') {
      if (given(no, 'gateway')) net.gateway = formatIPv4(checkHostIp(no.gateway, sub(p, 'gateway')));
      if (given(no, 'antiSpoof')) net.antiSpoof = expectBool(no.antiSpoof, sub(p, 'antiSpoof'));
      const gw = parseIPv4(net.gateway)!;
      if (given(no, 'hosts')) {
        const hp = sub(p, 'hosts');
        const ho = expectObj(no.hosts, hp, 'a mapping of VM address to port ({ 192.168.200.201: vm3 })');
        for (const [ipText, portRaw] of Object.entries(ho)) {
          const ep = sub(hp, ipText);
          const ip = checkHostIp(ipText, ep);
          const key = formatIPv4(ip);
          if (key in net.hosts) throw new ConfigError(ep, `${key} is listed twice`);
          if (ip === gw) throw new ConfigError(ep, `${key} is the network's gateway address`);
          if (uplinkCidr && ip === uplinkCidr.ip) throw new ConfigError(ep, `${key} is the switch's uplink address`);
          if (net.uplink?.gateway === key) throw new ConfigError(ep, `${key} is the uplink's gateway`);
          const port = expectString(portRaw, ep, 'a port name');
          if (!(port in ports)) throw new ConfigError(ep, unknownPort(port, ports));
          if (!members.includes(port)) {
            throw new ConfigError(ep, `port "${port}" is not in network "${nname}" (its ports: ${members.length ? members.join(', ') : 'none'})`);
          }
          net.hosts[key] = port;
          hostIps.add(ip);
        }
      }
    }

    // dhcp (nat, isolated)
    if (given(no, 'dhcp')) net.dhcp = parseDhcp(no.dhcp, sub(p, 'dhcp'), addr!);

    // forwards (nat)
    if (given(no, 'forwards')) {
      const fp = sub(p, 'forwards');
      const seen = new Map<string, number>();
      expectList(no.forwards, fp).forEach((f, i) => {
        const ep = sub(fp, i);
        const { text, key } = parseForward(f, ep, addr!);
        const prev = seen.get(key);
        if (prev !== undefined) throw new ConfigError(ep, `${key} is already forwarded (forwards[${prev}])`);
        seen.set(key, i);
        net.forwards.push(text);
      });
    }

    // a host TAP with an address in a nat/isolated network must sit in that subnet, away from the leases
    if (addr) {
      for (const m of members) {
        const pc = ports[m];
        if (pc.kind !== 'tap' || pc.address === null) continue;
        const pa = sub(sub('ports', m), 'address');
        const c = parseCidr(pc.address)!;
        if (!inSubnet(c.ip, addr)) throw new ConfigError(pa, `${pc.address} is outside ${formatSubnet(addr)} of network "${nname}"`);
        if (c.ip === addr.ip) throw new ConfigError(pa, `${formatIPv4(c.ip)} is the switch's own address in network "${nname}"`);
        const d = net.dhcp;
        if (d && c.ip >= parseIPv4(d.range[0])! && c.ip <= parseIPv4(d.range[1])!) {
          throw new ConfigError(pa, `${formatIPv4(c.ip)} is inside the DHCP range ${d.range.join('-')} of network "${nname}"`);
        }
        if (d && Object.values(d.static).includes(formatIPv4(c.ip))) {
          throw new ConfigError(pa, `${formatIPv4(c.ip)} is a static DHCP lease of network "${nname}"`);
        }
      }
    }

    networks[nname] = net;
  }
  return { networks, connected, hostIps };
}

function parseUplink(
  raw: unknown, p: string, nname: string, ports: Record<string, PortConfig>, holders: Map<string, Holder>,
): { uplink: UplinkConfig; cidr: Cidr } {
  const o = expectObj(raw, p, 'a mapping { port: PORT, address: a.b.c.d/len, gateway: a.b.c.d }');
  checkKeys(o, p, UPLINK_KEYS);
  if (!given(o, 'port')) throw new ConfigError(sub(p, 'port'), 'required (the port facing the outside)');
  if (!given(o, 'address')) throw new ConfigError(sub(p, 'address'), "required (the switch's address on the uplink, a.b.c.d/len)");
  const port = expectString(o.port, sub(p, 'port'), 'a port name');
  if (!(port in ports)) throw new ConfigError(sub(p, 'port'), unknownPort(port, ports));
  const h = holders.get(port);
  if (h) {
    throw new ConfigError(sub(p, 'port'), h.network === nname
      ? `port "${port}" is in networks.${nname}.ports; an uplink port must not be listed there`
      : h.role === 'member'
        ? `port "${port}" is already in network "${h.network}"`
        : `port "${port}" is already the uplink of network "${h.network}"`);
  }
  holders.set(port, { network: nname, role: 'uplink' });
  const cidr = checkHostCidr(o.address, sub(p, 'address'));
  let gateway: string | null = null;
  if (given(o, 'gateway')) {
    const gw = checkIpInSubnet(o.gateway, sub(p, 'gateway'), cidr);
    if (gw === cidr.ip) throw new ConfigError(sub(p, 'gateway'), `${formatIPv4(gw)} is the uplink's own address`);
    gateway = formatIPv4(gw);
  }
  return { uplink: { port, address: cidrText(cidr), gateway }, cidr };
}

function parseDhcp(raw: unknown, p: string, addr: Cidr): DhcpConfig {
  const o = expectObj(raw, p);
  checkKeys(o, p, DHCP_KEYS);
  const rp = sub(p, 'range');
  if (!given(o, 'range')) throw new ConfigError(rp, 'required (FIRST-LAST, e.g. 192.168.122.100-192.168.122.199)');
  const rs = expectString(o.range, rp, 'a range FIRST-LAST');
  const m = /^\s*(\S+?)\s*-\s*(\S+)\s*$/.exec(rs);
  if (!m) throw new ConfigError(rp, `expected FIRST-LAST (e.g. 192.168.122.100-192.168.122.199), got ${JSON.stringify(rs)}`);
  const start = parseIPv4(m[1]);
  const end = parseIPv4(m[2]);
  if (start === null) throw new ConfigError(rp, `invalid IPv4 address ${JSON.stringify(m[1])}`);
  if (end === null) throw new ConfigError(rp, `invalid IPv4 address ${JSON.stringify(m[2])}`);
  for (const ip of [start, end]) {
    if (!inSubnet(ip, addr)) throw new ConfigError(rp, `${formatIPv4(ip)} is outside ${formatSubnet(addr)}`);
    if (ip === addr.net || ip === (addr.net | ~addr.mask) >>> 0) {
      throw new ConfigError(rp, `${formatIPv4(ip)} is the ${ip === addr.net ? 'network' : 'broadcast'} address of ${formatSubnet(addr)}`);
    }
  }
  if (start > end) throw new ConfigError(rp, `range is reversed: ${formatIPv4(start)} is after ${formatIPv4(end)}`);
  if (addr.ip >= start && addr.ip <= end) {
    throw new ConfigError(rp, `range contains the switch's own address ${formatIPv4(addr.ip)}`);
  }

  const leaseSeconds = given(o, 'leaseSeconds')
    ? expectInt(o.leaseSeconds, sub(p, 'leaseSeconds'), LIMITS.leaseSecondsMin, LIMITS.leaseSecondsMax)
    : DEFAULTS.leaseSeconds;

  let dns = [formatIPv4(addr.ip)];
  if (given(o, 'dns')) {
    const list = expectList(o.dns, sub(p, 'dns'));
    if (list.length > LIMITS.dnsServersMax) throw new ConfigError(sub(p, 'dns'), `at most ${LIMITS.dnsServersMax} servers`);
    dns = list.map((d, i) => formatIPv4(checkHostIp(d, sub(sub(p, 'dns'), i))));
  }

  let domain: string | null = null;
  if (given(o, 'domain')) {
    const d = expectString(o.domain, sub(p, 'domain'), 'a domain name').replace(/\.$/, '');
    const labels = d.split('.');
    if (d.length === 0 || d.length > 253 || labels.some((l) => !/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l))) {
      throw new ConfigError(sub(p, 'domain'), `invalid domain name ${JSON.stringify(o.domain)}`);
    }
    domain = d.toLowerCase();
  }

  const stat: Record<string, string> = {};
  if (given(o, 'static')) {
    const sp = sub(p, 'static');
    const so = expectObj(o.static, sp, 'a mapping of MAC to address ({ "52:54:00:12:34:56": 192.168.122.10 })');
    const byIp = new Map<number, string>();
    for (const [macText, ipRaw] of Object.entries(so)) {
      const ep = sub(sp, macText);
      const mac = checkUnicastMac(macText, ep);
      if (mac in stat) throw new ConfigError(ep, `${mac} is listed twice`);
      const ip = checkIpInSubnet(ipRaw, ep, addr);
      if (ip === addr.ip) throw new ConfigError(ep, `${formatIPv4(ip)} is the switch's own address`);
      const other = byIp.get(ip);
      if (other !== undefined) throw new ConfigError(ep, `${formatIPv4(ip)} is already given to ${other}`);
      byIp.set(ip, mac);
      stat[mac] = formatIPv4(ip);
    }
  }
  return { range: [formatIPv4(start), formatIPv4(end)], leaseSeconds, dns, domain, static: stat };
}

/** "tcp 2222 -> 192.168.122.10:22" -> canonical text and the (proto, outside port) key. */
function parseForward(raw: unknown, p: string, addr: Cidr): { text: string; key: string } {
  const usage = '"tcp|udp PORT -> IP:PORT"';
  const s = expectString(raw, p, `a forward ${usage}`);
  const m = /^\s*(tcp|udp)\s+([0-9]+)\s*->\s*([0-9.]+):([0-9]+)\s*$/i.exec(s);
  if (!m) throw new ConfigError(p, `expected ${usage}, got ${JSON.stringify(s)}`);
  const proto = m[1].toLowerCase();
  const ports = [m[2], m[4]].map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ConfigError(p, `port ${x} is out of range (1..65535)`);
    return n;
  });
  const ip = checkIpInSubnet(m[3], p, addr);
  if (ip === addr.ip) throw new ConfigError(p, `${formatIPv4(ip)} is the switch's own address`);
  return { text: `${proto} ${ports[0]} -> ${formatIPv4(ip)}:${ports[1]}`, key: `${proto} ${ports[0]}` };
}

/** Routes: "PREFIX via IP", "default via IP", "PREFIX dev PORT". */
function parseRouteList(
  raw: unknown, p: string, ports: Record<string, PortConfig>, connected: Connected[], hostIps: Set<number>,
): string[] {
  const out: string[] = [];
  const seen = new Map<string, number>();
  expectList(raw, p).forEach((r, i) => {
    const ep = sub(p, i);
    const usage = '"PREFIX via IP", "default via IP" or "PREFIX dev PORT"';
    const s = expectString(r, ep, `a route ${usage}`);
    const t = s.trim().split(/\s+/);
    if (t.length !== 3 || (t[1] !== 'via' && t[1] !== 'dev')) throw new ConfigError(ep, `expected ${usage}, got ${JSON.stringify(s)}`);
    let prefix: string;
    if (t[0] === 'default') {
      prefix = 'default';
    } else {
      const c = parseCidr(t[0]);
      if (c === null) throw new ConfigError(ep, `invalid prefix ${JSON.stringify(t[0])} (expected a.b.c.d/len or default)`);
      if (c.ip !== c.net) throw new ConfigError(ep, `${t[0]} has host bits set (did you mean ${formatSubnet(c)}?)`);
      prefix = c.len === 0 ? 'default' : formatSubnet(c);
    }
    let text: string;
    if (t[1] === 'via') {
      const gw = parseIPv4(t[2]);
      if (gw === null) throw new ConfigError(ep, `invalid gateway address ${JSON.stringify(t[2])}`);
      if (!hostIps.has(gw) && !connected.some((k) => inSubnet(gw, k.c))) {
        const where = connected.map((k) => `${formatSubnet(k.c)} (${k.where})`).join(', ');
        throw new ConfigError(ep, `gateway ${t[2]} is not in a directly connected subnet (${where || 'there are none'})`);
      }
      text = `${prefix} via ${formatIPv4(gw)}`;
    } else {
      if (!(t[2] in ports)) throw new ConfigError(ep, unknownPort(t[2], ports));
      text = `${prefix} dev ${t[2]}`;
    }
    const prev = seen.get(prefix);
    if (prev !== undefined) throw new ConfigError(ep, `duplicate route for ${prefix} (${sub(p, prev)})`);
    seen.set(prefix, i);
    out.push(text);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// files, interfaces, default, printing

/** Reads a config file: `.json` with JSON.parse (precise syntax errors), anything else as YAML 1.2. */
export function loadConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    throw new ConfigError(path, `cannot read config file: ${why}`);
  }
  return parseConfig(parseConfigText(text, path));
}

/** Parses YAML or JSON text (chosen by the file name) into a plain value; syntax errors become ConfigError `file:line:col`. */
export function parseConfigText(text: string, file: string): unknown {
  if (file.toLowerCase().endsWith('.json')) {
    try {
      return JSON.parse(text);
    } catch (e) {
      const msg = (e as Error).message;
      const m = /at position (\d+)/.exec(msg);
      let where = file;
      if (m) {
        const before = text.slice(0, Number(m[1]));
        const line = before.split('\n').length;
        const col = Number(m[1]) - before.lastIndexOf('\n');
        where = `${file}:${line}:${col}`;
      }
      throw new ConfigError(where, `invalid JSON: ${msg.replace(/\s*(in JSON )?at position \d+.*$/s, '')}`);
    }
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    const first = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(where, `invalid YAML: ${first}`);
  }
  const warn = doc.warnings[0];
  if (warn) {
    const pos = warn.linePos?.[0];
    throw new ConfigError(pos ? `${file}:${pos.line}:${pos.col}` : file, `invalid YAML: ${warn.message.split('\n')[0]}`);
  }
  return doc.toJS({ maxAliasCount: 100 });
}

/**
 * Throws ConfigError for the first afpacket port whose interface does not exist.
 * TAP ports are not checked: the switch creates them when missing.
 */
export function checkInterfaces(config: Config, exists: (ifname: string) => boolean): void {
  for (const port of Object.values(config.ports)) {
    if (port.kind === 'afpacket' && !exists(port.ifname)) {
      throw new ConfigError(`ports.${port.name}.afpacket`, `interface "${port.ifname}" does not exist`);
    }
  }
}

/**
 * The built-in configuration of `switchyard run` without -c: one isolated network "default"
 * (switch at 10.99.0.1/24, DHCP 10.99.0.100-10.99.0.199) with the host joined through the TAP
 * "sy-host" at 10.99.0.254/24. QEMU taps are attached at run time (`port add`).
 */
export function defaultConfig(): Config {
  return parseConfig({
    name: 'default',
    ports: { host: { tap: 'sy-host', address: '10.99.0.254/24' } },
    networks: {
      default: {
        mode: 'isolated',
        ports: ['host'],
        address: '10.99.0.1/24',
        dhcp: { range: '10.99.0.100-10.99.0.199' },
      },
    },
  });
}

/** The plain object a normalised Config is written as (only the keys that apply to each mode). */
export function configToPlain(c: Config): Record<string, unknown> {
  const ports: Record<string, unknown> = {};
  for (const [n, p] of Object.entries(c.ports)) {
    switch (p.kind) {
      case 'afpacket': ports[n] = { afpacket: p.ifname, promiscuous: p.promiscuous, mtu: p.mtu, ...(p.ring !== RING_DEFAULT ? { ring: p.ring } : {}) }; break;
      case 'tap': ports[n] = { tap: p.ifname, address: p.address, mtu: p.mtu }; break;
      case 'stream': ports[n] = { stream: p.path, mtu: p.mtu }; break;
      case 'dgram': ports[n] = { dgram: p.path, mtu: p.mtu }; break;
    }
  }
  const networks: Record<string, unknown> = {};
  for (const [n, net] of Object.entries(c.networks)) {
    const o: Record<string, unknown> = { mode: net.mode, ports: [...net.ports], fdb: { ...net.fdb } };
    if (net.mode === 'routed') {
      o.gateway = net.gateway;
      o.hosts = { ...net.hosts };
      o.antiSpoof = net.antiSpoof;
    }
    if (net.mode === 'nat' || net.mode === 'isolated') o.address = net.address;
    if ((net.mode === 'routed' || net.mode === 'nat') && net.uplink) o.uplink = { ...net.uplink };
    if ((net.mode === 'nat' || net.mode === 'isolated') && net.dhcp) {
      o.dhcp = { ...net.dhcp, range: net.dhcp.range.join('-'), dns: [...net.dhcp.dns], static: { ...net.dhcp.static } };
    }
    if (net.mode === 'nat') o.forwards = [...net.forwards];
    networks[n] = o;
  }
  const tables: Record<string, unknown> = {};
  for (const [n, t] of Object.entries(c.tables)) tables[n] = [...t];
  return {
    name: c.name, mac: c.mac, runDir: c.runDir, stateDir: c.stateDir, pool: { ...c.pool },
    ports, networks, routes: [...c.routes], rules: c.rules.map((r) => ({ ...r })), tables,
  };
}

/** Normalised YAML: every default explicit; small mappings and lists on one line. */
export function formatConfig(c: Config): string {
  const doc = new YAML.Document(configToPlain(c));
  YAML.visit(doc, {
    Map(_key, node, path) {
      // ports.X, networks.X.fdb, networks.X.uplink, rules[i], pool: one line each
      const parents = path.filter((n) => YAML.isPair(n)).map((n) => String((n as YAML.Pair<YAML.Scalar>).key?.value));
      const depth = parents.length;
      if ((depth === 2 && parents[0] === 'ports') || (depth === 3 && (parents[2] === 'fdb' || parents[2] === 'uplink'))
        || (depth === 1 && (parents[0] === 'pool' || parents[0] === 'rules'))) {
        node.flow = true;
      }
    },
    Pair(_key, node, path) {
      // MAC keys of dhcp.static read ambiguously unquoted (and are sexagesimal numbers to YAML 1.1 tools)
      const parent = path[path.length - 2];
      if (YAML.isPair(parent) && YAML.isScalar(parent.key) && parent.key.value === 'static' && YAML.isScalar(node.key)) {
        node.key.type = 'QUOTE_DOUBLE';
      }
    },
    Seq(_key, node, path) {
      const parents = path.filter((n) => YAML.isPair(n)).map((n) => String((n as YAML.Pair<YAML.Scalar>).key?.value));
      const last = parents[parents.length - 1];
      if (last === 'ports' || last === 'dns' || node.items.length === 0) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}
