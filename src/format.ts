// format.ts — text output of `switchyard show ...` for people: aligned columns (like
// `bridge fdb`, `ip -s link`) and compact human numbers. `--json` bypasses all of this and
// prints the *View data exactly, so nothing here is a stable interface.
import type { FdbEntryView, PortView, StatsView } from './types.js';
import type { ConntrackView, NeighborView, RouteView } from './routing.js';
import type { DhcpLeaseView } from './dhcp/server.js';

export type Align = 'left' | 'right';

/**
 * Aligned columns: a header row, then one row per entry; columns separated by two spaces,
 * numbers right-aligned (`align`), no trailing spaces. Returns lines joined with '\n' plus a final '\n'.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const lines = all.map((r) => header.map((_, i) => {
    const cell = r[i] ?? '';
    return align[i] === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i]);
  }).join('  ').trimEnd());
  return lines.join('\n') + '\n';
}

/** 1536 -> "1.5 KiB"; 0 -> "0 B". Binary units as `ip -h -s link` uses for bytes. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  if (u === 0) return `${v} B`;
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
}

/** 1234567 -> "1.23M"; below 10000 the exact number. Decimal units for packet counts. */
export function humanCount(n: number): string {
  if (Math.abs(n) < 10_000) return String(n);
  const units = ['', 'k', 'M', 'G', 'T', 'P'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)}${units[u]}`;
}

/** Seconds -> "45s", "12m03s", "3h07m", "2d04h". */
export function humanDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (x: number): string => String(x).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor(s / 3600) % 24)}h`;
}

/** Fixed-point with a limited number of decimals, without trailing zeros. */
function num(n: number, decimals = 1): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(decimals);
}

const dropsText = (d: Record<string, number>): string =>
  Object.entries(d).filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ');

export function formatPorts(ports: readonly PortView[]): string {
  if (ports.length === 0) return 'no ports\n';
  const R: Align = 'right';
  return table(
    ['PORT', 'KIND', 'IFNAME', 'NETWORK', 'STATE', 'MAC', 'MTU', 'RX-PKTS', 'RX-BYTES', 'RX-DROP', 'TX-PKTS', 'TX-BYTES', 'TX-DROP'],
    ports.map((p) => [
      p.name, p.kind, p.ifname, p.network ?? '-', p.state, p.mac ?? '-', String(p.mtu),
      String(p.counters.rxPackets), humanBytes(p.counters.rxBytes), String(p.counters.rxDrops),
      String(p.counters.txPackets), humanBytes(p.counters.txBytes), String(p.counters.txDrops),
    ]),
    ['left', 'left', 'left', 'left', 'left', 'left', R, R, R, R, R, R, R],
  ) + portDropLines(ports);
}

function portDropLines(ports: readonly PortView[]): string {
  const lines = ports.map((p) => [p.name, dropsText(p.drops)]).filter(([, t]) => t !== '');
  if (lines.length === 0) return '';
  return '\n' + table(['PORT', 'DROPS BY REASON'], lines);
}

export function formatFdb(entries: readonly FdbEntryView[]): string {
  if (entries.length === 0) return 'no entries\n';
  const sorted = [...entries].sort((a, b) =>
    a.network.localeCompare(b.network) || a.port.localeCompare(b.port) || a.mac.localeCompare(b.mac));
  return table(
    ['NETWORK', 'MAC', 'PORT', 'AGE'],
    sorted.map((e) => [e.network, e.mac, e.port, humanDuration(e.ageSeconds)]),
    ['left', 'left', 'left', 'right'],
  );
}

export function formatStats(s: StatsView): string {
  const R: Align = 'right';
  const out: string[] = [];
  out.push(`instance ${s.name}, up ${humanDuration(s.uptimeSeconds)}\n`);
  out.push(`pool: ${s.pool.inUse} of ${s.pool.slots} slots in use, ${s.pool.free} free, ${s.pool.allocFailures} allocation failures\n`);
  if (s.ports.length) {
    out.push('\n' + table(
      ['PORT', 'RX-PKTS', 'RX-BYTES', 'RX-DROP', 'TX-PKTS', 'TX-BYTES', 'TX-DROP'],
      s.ports.map((p) => [
        p.name, humanCount(p.counters.rxPackets), humanBytes(p.counters.rxBytes), humanCount(p.counters.rxDrops),
        humanCount(p.counters.txPackets), humanBytes(p.counters.txBytes), humanCount(p.counters.txDrops),
      ]),
      ['left', R, R, R, R, R, R],
    ));
  }
  if (s.nodes.length) {
    out.push('\n' + table(
      ['NODE', 'CALLS', 'VECTORS', 'PACKETS', 'PKTS/CALL', 'NS/PKT', 'COUNTERS'],
      s.nodes.map((n) => [
        n.name, humanCount(n.calls), humanCount(n.vectors), humanCount(n.packets),
        num(n.vectorSize), num(n.nsPerPacket), dropsText(n.counters),
      ]),
      ['left', R, R, R, R, R, 'left'],
    ));
  }
  const drops = Object.entries(s.drops).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
  out.push('\n' + (drops.length
    ? table(['DROP REASON', 'COUNT'], drops.map(([k, v]) => [k, String(v)]), ['left', R])
    : 'no drops\n'));
  if (s.fdb.length) {
    out.push('\n' + table(
      ['NETWORK', 'FDB-ENTRIES', 'LEARNED', 'MOVES', 'EVICTIONS', 'AGED'],
      s.fdb.map((f) => [f.network, String(f.entries), String(f.learned), String(f.moves), String(f.evictions), String(f.aged)]),
      ['left', R, R, R, R, R],
    ));
  }
  return out.join('');
}

/** "a.b.c.d" -> its 32-bit value, for sorting; anything else sorts last. */
function ip4Key(text: string): number {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  return m ? ((+m[1] << 24) | (+m[2] << 16) | (+m[3] << 8) | +m[4]) >>> 0 : 2 ** 32;
}

/** printf("%-W.Ws"): pad to exactly w characters, truncating longer text like net-tools does. */
const fixed = (text: string, w: number): string => text.slice(0, w).padEnd(w);

/** The header line net-tools `arp -n` prints (arp.c, arp_disp: "%-23.23s  %-8.8s%-20.20s%-6.6s%-15.15s %s"). */
export const NEIGH_HEADER = 'Address                  HWtype  HWaddress           Flags Mask            Iface';

/**
 * `show neigh`: byte for byte the layout of net-tools `arp -n` — fixed columns Address 25,
 * HWtype 8, HWaddress 20, Flags 6, Mask 16, then Iface; over-long cells are cut as printf's
 * %-N.Ns cuts them. Like arp.c the HW columns follow the flags, not the view's strings:
 * without C an entry prints `* *` when published (P) and `(incomplete)` otherwise. The Mask
 * column is blank unless the entry carries a real netmask ("*" and "" mean none, as
 * /proc/net/arp's "*"). Order: by address, then interface (arp -n prints hash order).
 * With no entries the header alone is printed (real arp -n prints nothing at all).
 */
export function formatNeigh(entries: readonly NeighborView[]): string {
  const sorted = [...entries].sort((a, b) => ip4Key(a.address) - ip4Key(b.address)
    || a.address.localeCompare(b.address) || a.iface.localeCompare(b.iface));
  const lines = [NEIGH_HEADER];
  for (const e of sorted) {
    const flags = e.flags ?? '';
    let hw: [string, string];
    if (flags.includes('C')) hw = [e.hwtype || 'ether', e.hwaddress];
    else if (flags.includes('P')) hw = ['*', '*'];
    else hw = ['', '(incomplete)'];
    const mask = e.mask === '*' ? '' : (e.mask ?? '');
    lines.push(`${fixed(e.address, 23)}  ${fixed(hw[0], 8)}${fixed(hw[1], 20)}${fixed(flags, 6)}${fixed(mask, 15)} ${e.iface}`);
  }
  return lines.join('\n') + '\n';
}

/** What each RouteView proto prints (see formatRoutes); an unknown value prints as ` proto X`. */
const PROTO_TEXT: Record<string, string> = {
  kernel: ' proto kernel', // the uplink's connected subnet, as the kernel adds it for an address
  static: ' proto static', // configured `routes`/`tables`, and the uplink's default gateway
  host: '', // per-VM /32: what `ip route add IP dev vmeX` (proto boot) shows, as in seeds 001/003
  boot: '',
};

/** "default" -> [0, 0]; "a.b.c.d/len" -> [a.b.c.d, len]; "a.b.c.d" -> [a.b.c.d, 32]. */
function dstKey(dst: string): [number, number] {
  if (dst === 'default') return [0, 0];
  const [a, l] = dst.split('/');
  return [ip4Key(a), l === undefined ? 32 : Number(l)];
}

/**
 * `show routes`: the lines of `ip route show table all`, main table first (no suffix), then
 * each other table in the order the instance lists them, with ` table NAME` after `dev` where
 * iproute2 puts it. Within a table routes come in FIB-trie order as the kernel dumps them:
 * by address, then longer prefixes first. RouteView -> iproute2 words:
 *   dst        "default" | "a.b.c.d/len" | "a.b.c.d" (a /32 prints bare, like iproute2)
 *   via        " via GW" when set; without a gateway the route is on-link: " scope link"
 *   proto      kernel -> " proto kernel", static -> " proto static", host -> nothing (proto boot)
 *   src        " src ADDR" when set (the uplink address on its connected route)
 * e.g.  default via 192.168.0.1 dev uplink proto static
 *       192.168.0.0/24 dev uplink proto kernel scope link src 192.168.0.64
 *       192.168.200.201 dev vm1 scope link
 *       default via 192.168.0.254 dev uplink table tenant proto static
 * No routes (no routed network): nothing, like `ip route` on an empty table.
 */
export function formatRoutes(routes: readonly RouteView[]): string {
  const tables: string[] = ['main'];
  for (const r of routes) if (!tables.includes(r.table)) tables.push(r.table);
  const lines: string[] = [];
  for (const t of tables) {
    const rs = routes.filter((r) => r.table === t).map((r) => ({ r, k: dstKey(r.dst) }));
    rs.sort((a, b) => a.k[0] - b.k[0] || b.k[1] - a.k[1]);
    for (const { r, k } of rs) {
      const dst = k[1] === 32 ? r.dst.replace(/\/32$/, '') : r.dst;
      const proto = Object.hasOwn(PROTO_TEXT, r.proto) ? PROTO_TEXT[r.proto] : ` proto ${r.proto}`;
      lines.push(dst
        + (r.via ? ` via ${r.via}` : '')
        + ` dev ${r.dev}`
        + (t === 'main' ? '' : ` table ${t}`)
        + proto
        + (r.via ? '' : ' scope link')
        + (r.src ? ` src ${r.src}` : ''));
    }
  }
  return lines.map((l) => l + '\n').join('');
}

/** IP protocol numbers of the names a ConntrackView carries (conntrack -L prints both). */
const PROTO_NUMBERS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17 };

/** A TCP state that follows a completed handshake: the kernel has set ASSURED by then. */
const TCP_ASSURED = new Set(['ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT']);

interface Tuple { src: string; dst: string; sport: number; dport: number }

/**
 * `show conntrack`: one line per flow in the layout of conntrack-tools' `conntrack -L`
 * (libnetfilter_conntrack's default output), fields separated by single spaces:
 *
 *   PROTO(%-8s) NUM TIMEOUT [TCP-STATE] ORIGINAL packets=N [UNREPLIED] REPLY [ASSURED] network=NET
 *
 * e.g. tcp      6 7439 ESTABLISHED src=192.168.122.100 dst=10.0.0.9 sport=40112 dport=8000
 *      packets=12 src=10.0.0.9 dst=10.0.0.5 sport=8000 dport=40112 [ASSURED] network=private
 * - a tuple is `src=A dst=B sport=P dport=Q`; ICMP echo prints `type=8 code=0 id=ID` in the
 *   original tuple and `type=0 code=0 id=ID` in the reply (the translated identifier), as the
 *   kernel's ICMP tuples; another protocol prints addresses only, and "unknown NUM".
 * - ORIGINAL is the direction of the packet that created the flow: for a flow a VM opened, VM ->
 *   remote, and REPLY remote -> the masquerade address; for one that came in through a forward
 *   (origin "outside"), remote -> masquerade address:forwarded port, and REPLY the VM -> remote
 *   (the view lists inside first either way; the text swaps, as conntrack shows DNAT flows).
 * - the state word is printed for TCP only (conntrack prints none for UDP/ICMP).
 * - [UNREPLIED] / [ASSURED] are derived from the state (the view carries no status bits):
 *   UNREPLIED for TCP SYN_SENT and UDP/ICMP UNREPLIED; ASSURED for TCP from ESTABLISHED through
 *   TIME_WAIT and for UDP that has seen a reply (an ICMP flow is never assured).
 * - packets= counts both directions together (switchyard keeps one counter per flow and no
 *   bytes); it stands where conntrack prints the original direction's `packets= bytes=`.
 * - network= is the NAT network whose table holds the flow (each has its own, like a
 *   conntrack zone); it comes last, where conntrack prints `zone=`.
 * Order: by network, protocol number, then the original tuple (source, destination, ports;
 * addresses as numbers), so the output is stable (conntrack -L prints hash order). No flows: nothing. The summary line
 * conntrack prints on stderr is conntrackSummary().
 */
export function formatConntrack(flows: readonly ConntrackView[]): string {
  const rows = flows.map((f) => {
    const inside: Tuple = { src: f.src, dst: f.dst, sport: f.sport, dport: f.dport };
    const outside: Tuple = { src: f.replySrc, dst: f.replyDst, sport: f.replySport, dport: f.replyDport };
    const [orig, reply] = f.origin === 'outside' ? [outside, inside] : [inside, outside];
    const num = Object.hasOwn(PROTO_NUMBERS, f.proto) ? PROTO_NUMBERS[f.proto] : /^\d+$/.test(f.proto) ? Number(f.proto) : NaN;
    return { f, orig, reply, num };
  });
  rows.sort((a, b) => (a.f.network < b.f.network ? -1 : a.f.network > b.f.network ? 1 : 0)
    || (a.num || 0) - (b.num || 0)
    || ip4Key(a.orig.src) - ip4Key(b.orig.src) || ip4Key(a.orig.dst) - ip4Key(b.orig.dst)
    || a.orig.sport - b.orig.sport || a.orig.dport - b.orig.dport);
  return rows.map(({ f, orig, reply, num }) => {
    // conntrack's "%-8s %u": an unknown number prints as "unknown"; a name we have no number for keeps its name
    const name = Object.hasOwn(PROTO_NUMBERS, f.proto) || Number.isNaN(num) ? f.proto : 'unknown';
    const w: string[] = [`${name.padEnd(8)} ${Number.isNaN(num) ? '?' : num}`, String(f.timeout)];
    if (f.proto === 'tcp') w.push(f.state);
    w.push(conntrackTuple(f.proto, orig, 'orig'), `packets=${f.packets}`);
    if (f.state === 'UNREPLIED' || (f.proto === 'tcp' && f.state === 'SYN_SENT')) w.push('[UNREPLIED]');
    w.push(conntrackTuple(f.proto, reply, 'reply'));
    if ((f.proto === 'tcp' && TCP_ASSURED.has(f.state)) || (f.proto === 'udp' && f.state === 'REPLIED')) w.push('[ASSURED]');
    w.push(`network=${f.network}`);
    return w.join(' ') + '\n';
  }).join('');
}

function conntrackTuple(proto: string, t: Tuple, dir: 'orig' | 'reply'): string {
  const addr = `src=${t.src} dst=${t.dst}`;
  if (proto === 'tcp' || proto === 'udp') return `${addr} sport=${t.sport} dport=${t.dport}`;
  // an echo flow: the identifier is the "port" on both sides (the inside one, the translated one)
  if (proto === 'icmp') return `${addr} type=${dir === 'orig' ? 8 : 0} code=0 id=${dir === 'orig' ? t.sport : t.dport}`;
  return addr;
}

/** The line `conntrack -L` ends with on stderr ("flow entries" even for one, as conntrack says). */
export function conntrackSummary(count: number): string {
  return `switchyard: ${count} flow entries have been shown.\n`;
}

/** A `show leases` entry: a network's DhcpLeaseView; `prefix` (the network's prefix length) when the instance sends it. */
export type LeaseEntry = DhcpLeaseView & { network: string; prefix?: number };

/** epoch ms -> "YYYY-MM-DD HH:MM:SS" in the local time zone (virsh: strftime %Y-%m-%d %H:%M:%S of localtime). */
export function localTimestamp(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '-';
  const two = (x: number): string => String(x).padStart(2, '0');
  return `${String(d.getFullYear()).padStart(4, '0')}-${two(d.getMonth() + 1)}-${two(d.getDate())} `
    + `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** virsh's cell encoding (vsh-table.c): control characters and a backslash before "x" become \xNN. */
const safeCell = (s: string): string =>
  s.replace(/[\x00-\x1f\x7f]|\\(?=x)/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/**
 * The table virsh prints (libvirt's vsh-table.c): every cell is " " + text, cells padded to
 * their column's width plus two spaces (so columns are three spaces apart), the last cell
 * unpadded; under the header a rule of (width + 3) dashes per column.
 */
export function vshTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows].map((r) => header.map((_, i) => safeCell(r[i] ?? '')));
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: readonly string[]): string =>
    r.map((c, i) => ' ' + (i < r.length - 1 ? c.padEnd(widths[i] + 2) : c)).join('') + '\n';
  return line(all[0]) + widths.map((w) => '-'.repeat(w + 3)).join('') + '\n' + all.slice(1).map(line).join('');
}

export const LEASES_HEADER = ['Network', 'Expiry Time', 'MAC address', 'Protocol', 'IP address', 'Hostname', 'Client ID or DUID'] as const;

/**
 * `show leases`: the table of `virsh net-dhcp-leases NETWORK` (vshTable), for every network
 * at once, so a first column names the network; then virsh's columns: expiry in local time
 * (`localTime`, replaceable for tests), MAC, "ipv4", address as IP/prefix (the address alone
 * while the instance does not send `prefix`), hostname and client identifier ("-" when the
 * client sent none). Listed: the leases clients hold, bound and static (a reservation shows
 * once its client has taken it) — what dnsmasq's lease file, and so virsh, lists; offers in
 * flight and declined (quarantined) addresses are in --json only. Order: network, address.
 * No leases: the header and its rule, as virsh prints them (virsh's blank line after a
 * command is not reproduced).
 */
export function formatLeases(leases: readonly LeaseEntry[], localTime: (ms: number) => string = localTimestamp): string {
  const held = leases.filter((l) => l.state === 'bound' || l.state === 'static');
  held.sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : 0) || ip4Key(a.ip) - ip4Key(b.ip));
  return vshTable(LEASES_HEADER, held.map((l) => [
    l.network, localTime(l.expiresAt), l.mac || '-', 'ipv4',
    typeof l.prefix === 'number' ? `${l.ip}/${l.prefix}` : l.ip,
    l.hostname || '-', l.clientId || '-',
  ]));
}

/**
 * Fallback for data without a dedicated layout (new `show` kinds): a list of flat objects
 * becomes a table with one column per key (in first-seen order); anything else is printed as
 * indented JSON.
 */
export function formatGeneric(data: unknown): string {
  if (Array.isArray(data)) {
    if (data.length === 0) return 'no entries\n';
    if (data.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))) {
      const keys: string[] = [];
      for (const r of data as Record<string, unknown>[]) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
      const cell = (v: unknown): string =>
        v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
      const align = keys.map((k) => (data as Record<string, unknown>[]).every((r) => typeof r[k] === 'number') ? 'right' : 'left') as Align[];
      return table(keys.map((k) => k.toUpperCase()), (data as Record<string, unknown>[]).map((r) => keys.map((k) => cell(r[k]))), align);
    }
  }
  return JSON.stringify(data, null, 2) + '\n';
}
