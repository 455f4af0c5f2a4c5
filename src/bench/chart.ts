// chart.ts — one SVG line chart of a bench run, written by hand so the harness needs no
// plotting package: frame size across (categorical, 64 ... 1518 then imix), the rate up
// (Mpps, or Gbit/s with preamble and gap), one line with markers per device, a legend.
import type { BenchJson, SizeResultJson } from './results.js';

export type ChartMetric = 'ndr' | 'pdr' | 'mrr';
export type ChartUnit = 'Mpps' | 'Gbit/s';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const W = 760;
const H = 420;
const PLOT = { left: 64, right: 560, top: 44, bottom: 360 };

/** Text for XML character data and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The value a result puts on the chart, or null where the run has none. */
function valueOf(r: SizeResultJson, metric: ChartMetric, unit: ChartUnit): number | null {
  if (metric === 'mrr') {
    if (!r.mrr) return null;
    return unit === 'Mpps' ? r.mrr.rx_pps / 1e6 : r.mrr.rx_bps_l1 / 1e9;
  }
  const rate = r[metric];
  if (!rate) return null;
  return unit === 'Mpps' ? rate.pps / 1e6 : rate.bps_l1 / 1e9;
}

/** Ticks 0, step, 2 step ... with step 1, 2 or 5 x 10^k, about five of them, the last >= max. */
export function niceTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * p).find((s) => s >= raw) ?? 10 * p;
  const ticks: number[] = [];
  for (let i = 0; ticks.length === 0 || ticks[ticks.length - 1] < max - 1e-12; i++) ticks.push(+(i * step).toPrecision(12));
  return ticks;
}

const fmt = (v: number): string => String(+v.toFixed(1));

/** The chart as a standalone SVG document. */
export function rateChart(b: BenchJson, metric: ChartMetric = 'pdr', unit: ChartUnit = 'Mpps'): string {
  const devices = b.devices.filter((d) => !d.skipped && d.results.some((r) => valueOf(r, metric, unit) !== null));
  const sizes = [...new Set(devices.flatMap((d) => d.results.map((r) => r.frame_size)))]
    .sort((x, y) => (x === 'imix' ? 1 : y === 'imix' ? -1 : x - y));
  const values = devices.flatMap((d) => d.results.map((r) => valueOf(r, metric, unit) ?? 0));
  const ticks = niceTicks(Math.max(0, ...values));
  const top = ticks[ticks.length - 1];
  const xOf = (i: number): number => PLOT.left + ((i + 0.5) * (PLOT.right - PLOT.left)) / Math.max(1, sizes.length);
  const yOf = (v: number): number => PLOT.bottom - (v / top) * (PLOT.bottom - PLOT.top);
  // wide enough for the longest legend label (~7 px per character at 12 px sans-serif)
  const w = Math.max(W, Math.ceil(PLOT.right + 48 + 7 * Math.max(0, ...devices.map((d) => d.label.length)) + 16));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${H}" viewBox="0 0 ${w} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${H}" fill="#ffffff"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="24" text-anchor="middle" font-size="16">${xmlEscape(`${metric.toUpperCase()} by frame size (${unit})`)}</text>`,
  ];
  for (const t of ticks) {
    const y = fmt(yOf(t));
    out.push(`<line x1="${PLOT.left}" y1="${y}" x2="${PLOT.right}" y2="${y}" stroke="#dddddd"/>`);
    out.push(`<text x="${PLOT.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${t}</text>`);
  }
  sizes.forEach((s, i) => {
    out.push(`<text x="${fmt(xOf(i))}" y="${PLOT.bottom + 18}" text-anchor="middle">${s}</text>`);
  });
  out.push(`<line x1="${PLOT.left}" y1="${PLOT.bottom}" x2="${PLOT.right}" y2="${PLOT.bottom}" stroke="#000000"/>`);
  out.push(`<line x1="${PLOT.left}" y1="${PLOT.top}" x2="${PLOT.left}" y2="${PLOT.bottom}" stroke="#000000"/>`);
  out.push(`<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 44}" text-anchor="middle">frame size (bytes on the wire)</text>`);
  out.push(`<text x="18" y="${(PLOT.top + PLOT.bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(PLOT.top + PLOT.bottom) / 2})">${xmlEscape(unit)}</text>`);
  devices.forEach((d, k) => {
    const color = COLORS[k % COLORS.length];
    const pts: string[] = [];
    sizes.forEach((s, i) => {
      const r = d.results.find((x) => x.frame_size === s);
      const v = r ? valueOf(r, metric, unit) : null;
      if (v !== null) pts.push(`${fmt(xOf(i))},${fmt(yOf(v))}`);
    });
    out.push(`<g><title>${xmlEscape(d.label)}</title>`);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) {
      const [x, y] = p.split(',');
      out.push(`<circle cx="${x}" cy="${y}" r="3.5" fill="${color}"/>`);
    }
    out.push('</g>');
    const ly = PLOT.top + 8 + k * 20;
    out.push(`<line x1="${PLOT.right + 16}" y1="${ly}" x2="${PLOT.right + 40}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${PLOT.right + 46}" y="${ly}" dominant-baseline="middle">${xmlEscape(d.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
