// format.ts — text output of `switchyard show ...` for people: aligned columns (like
// `bridge fdb`, `ip -s link`) and compact human numbers. `--json` bypasses all of this and
// prints the *View data exactly, so nothing here is a stable interface.
import type { FdbEntryView, PortView, StatsView } from './types.js';

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
