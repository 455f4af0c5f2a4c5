// bench-results.test.ts — the bench JSON: a sample document validates, each kind of broken
// field is reported with its path, ratios against a reference device, the end-of-run table
// shows the figures and the skipped devices; the SVG chart is well-formed, draws one line
// per device with results and escapes labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeRatios, formatTable, validateBench } from '../../src/bench/results.ts';
import type { BenchJson, DeviceJson, LatencyJson, SizeResultJson, TrialJson } from '../../src/bench/results.ts';
import { niceTicks, rateChart } from '../../src/bench/chart.ts';
import { l1Bits, wireBits } from '../../src/bench/frames.ts';

function trial(targetPps: number | null, rxPps: number, bytes: number): TrialJson {
  const txPps = targetPps ?? rxPps * 1.25;
  return {
    target_pps: targetPps, tx_packets: txPps * 10, rx_packets: rxPps * 10, tx_pps: txPps, rx_pps: rxPps,
    tx_bps: wireBits(txPps, bytes), rx_bps: wireBits(rxPps, bytes), tx_bps_l1: l1Bits(txPps, bytes), rx_bps_l1: l1Bits(rxPps, bytes),
    loss_ratio: 1 - rxPps / txPps, duration_s: 10, cpu: { dut: 99.5, gen: 100, sink: 60, softirq: 45.2, others: 1 },
  };
}

function latency(loadPct: number, pps: number): LatencyJson {
  return {
    load_pct: loadPct, target_pps: pps, samples: 1000, min_ns: 8000, mean_ns: 15000, p50_ns: 12500, p90_ns: 20000,
    p99_ns: 41000, max_ns: 90000, reordered: 0, rx_pps: pps, loss_ratio: 0,
  };
}

function size(frame: number | 'imix', mpps: number): SizeResultJson {
  const bytes = frame === 'imix' ? 353.8333 : frame;
  const rate = (pps: number) => ({ pps, bps: wireBits(pps, bytes), bps_l1: l1Bits(pps, bytes), trial: trial(pps, pps, bytes) });
  return {
    frame_size: frame, avg_frame_bytes: bytes, mrr: trial(null, mpps * 1.1e6, bytes), ndr: rate(mpps * 0.9e6), pdr: rate(mpps * 1e6),
    ndr_upper_pps: mpps * 0.91e6, pdr_upper_pps: null, latency: [latency(10, mpps * 1e5), latency(50, mpps * 5e5), latency(90, mpps * 9e5)], trials: [],
  };
}

function device(key: string, label: string, mpps: number, kind: DeviceJson['kind'] = 'bridge'): DeviceJson {
  return { key, label, kind, results: [size(64, mpps), size(1518, mpps * 0.5), size('imix', mpps * 0.8)] };
}

function sample(): BenchJson {
  const devices = [
    device('kernel-bridge', 'Linux bridge', 1.0),
    device('forwarder', 'minimal forwarder', 2.0),
    { ...device('bridged', 'switchyard <bridged> & "co"', 0.5), rfc2889: { address_capacity: { addresses: 8192, tested_max: 16384, trials: 6 } } },
    { key: 'ovs', label: 'Open vSwitch', kind: 'bridge', skipped: 'ovs-vswitchd is not installed', results: [] },
  ];
  return {
    schema: 'switchyard-bench/1', started_at: '2025-01-02T03:04:05.678Z', duration_s: 612.5,
    host: { kernel: '6.8.0', cpus: 8, cpu_model: 'Test CPU', node: 'v20.17.0' }, options: { sizes: [64, 1518, 'imix'] },
    devices, ratios: [computeRatios(devices, 'kernel-bridge'), computeRatios(devices, 'forwarder')],
  };
}

test('a sample document is valid', () => {
  assert.deepEqual(validateBench(sample()), []);
  assert.deepEqual(validateBench(JSON.parse(JSON.stringify(sample()))), [], 'after a JSON round trip');
});

test('each broken field is reported with its path', () => {
  const cases: [string, (b: BenchJson & Record<string, any>) => void, RegExp][] = [
    ['schema', (b) => { b.schema = 'other/2' as never; }, /^\$\.schema: /],
    ['started_at', (b) => { b.started_at = 'yesterday'; }, /^\$\.started_at: /],
    ['duration', (b) => { b.duration_s = -1; }, /^\$\.duration_s: /],
    ['host.cpus', (b) => { b.host.cpus = 0; }, /^\$\.host\.cpus: /],
    ['host.kernel', (b) => { delete (b.host as Record<string, unknown>).kernel; }, /^\$\.host\.kernel: /],
    ['options', (b) => { b.options = null as never; }, /^\$\.options: /],
    ['devices', (b) => { b.devices = {} as never; }, /^\$\.devices: must be an array/],
    ['kind', (b) => { b.devices[0].kind = 'hub' as never; }, /^\$\.devices\[0\]\.kind: /],
    ['key', (b) => { b.devices[1].key = 7 as never; }, /^\$\.devices\[1\]\.key: /],
    ['frame_size', (b) => { b.devices[0].results[0].frame_size = 'jumbo' as never; }, /results\[0\]\.frame_size: /],
    ['avg bytes', (b) => { b.devices[0].results[0].avg_frame_bytes = 0; }, /results\[0\]\.avg_frame_bytes: /],
    ['loss > 1', (b) => { b.devices[0].results[1].mrr!.loss_ratio = 1.5; }, /results\[1\]\.mrr\.loss_ratio: must be in \[0, 1\]/],
    ['loss < 0', (b) => { b.devices[0].results[1].trials.push({ ...b.devices[0].results[1].mrr!, loss_ratio: -0.1 }); }, /trials\[0\]\.loss_ratio: /],
    ['NaN rate', (b) => { b.devices[2].results[0].pdr!.trial.rx_pps = NaN; }, /devices\[2\]\.results\[0\]\.pdr\.trial\.rx_pps: /],
    ['cpu', (b) => { b.devices[0].results[0].ndr!.trial.cpu = { dut: 'lots' } as never; }, /ndr\.trial\.cpu: /],
    ['disturbed', (b) => { b.devices[0].results[0].mrr!.disturbed = 'yes' as never; }, /mrr\.disturbed: /],
    ['ndr > pdr', (b) => { b.devices[0].results[0].ndr!.pps = b.devices[0].results[0].pdr!.pps * 1.01; }, /results\[0\]\.ndr\.pps: NDR .* above PDR/],
    ['ndr shape', (b) => { b.devices[0].results[0].ndr = 5 as never; }, /results\[0\]\.ndr: must be an object/],
    ['p50 < min', (b) => { b.devices[0].results[0].latency[1].p50_ns = 10; }, /latency\[1\]\.p50_ns: below min_ns/],
    ['p99 > max', (b) => { b.devices[0].results[0].latency[2].p99_ns = 1e9; }, /latency\[2\]\.max_ns: below p99_ns/],
    ['latency loss', (b) => { b.devices[0].results[0].latency[0].loss_ratio = 2; }, /latency\[0\]\.loss_ratio: /],
    ['rfc2889', (b) => { b.devices[2].rfc2889!.address_capacity!.addresses = -3; }, /rfc2889\.address_capacity\.addresses: /],
    ['upper', (b) => { b.devices[0].results[0].ndr_upper_pps = 'x' as never; }, /ndr_upper_pps: /],
    ['ratios', (b) => { b.ratios[0].rows[0].ndr_ratio = 'x' as never; }, /^\$\.ratios\[0\]\.rows\[0\]\.ndr_ratio: /],
    ['skipped', (b) => { b.devices[3].skipped = true as never; }, /devices\[3\]\.skipped: /],
  ];
  for (const [what, breakIt, want] of cases) {
    const b = sample() as BenchJson & Record<string, any>;
    breakIt(b);
    const problems = validateBench(b);
    assert.ok(problems.some((p) => want.test(p)), `${what}: ${JSON.stringify(problems)}`);
  }
  assert.deepEqual(validateBench(null), ['$: must be an object']);
  assert.ok(validateBench({}).length >= 6);
});

test('NDR equal to PDR (or above it by rounding) is fine', () => {
  const b = sample();
  const r = b.devices[0].results[0];
  r.ndr!.pps = r.pdr!.pps * (1 + 1e-12);
  assert.deepEqual(validateBench(b), []);
});

test('computeRatios against a reference, size by size', () => {
  const b = sample();
  const k = b.ratios[0];
  assert.equal(k.reference, 'kernel-bridge');
  assert.deepEqual(k.rows.map((r) => r.device), ['forwarder', 'forwarder', 'forwarder', 'bridged', 'bridged', 'bridged']);
  const row = k.rows.find((r) => r.device === 'bridged' && r.frame_size === 'imix')!;
  assert.ok(Math.abs(row.ndr_ratio! - 0.5) < 1e-12 && Math.abs(row.pdr_ratio! - 0.5) < 1e-12 && Math.abs(row.mrr_ratio! - 0.5) < 1e-12);
  assert.ok(Math.abs(b.ratios[1].rows.find((r) => r.device === 'kernel-bridge' && r.frame_size === 64)!.pdr_ratio! - 0.5) < 1e-12);
  // a missing NDR on either side gives null; a size the reference lacks gives no row
  const devs = sample().devices;
  devs[2].results[0].ndr = null;
  devs[2].results.push(size(256, 1));
  const r2 = computeRatios(devs, 'kernel-bridge');
  assert.equal(r2.rows.find((r) => r.device === 'bridged' && r.frame_size === 64)!.ndr_ratio, null);
  assert.equal(r2.rows.find((r) => r.frame_size === 256), undefined);
  assert.deepEqual(computeRatios(devs, 'ovs'), { reference: 'ovs', rows: [] }, 'a skipped reference');
  assert.deepEqual(computeRatios(devs, 'nope').rows, []);
});

test('formatTable: the figures, the ratios, the skipped devices', () => {
  const text = formatTable(sample());
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0], /^Device\s+Size\s+NDR Mpps\s+PDR Mpps\s+MRR Mpps\s+NDR Gb\/s L1\s+Lat p50\/p99 µs\s+CPU %\s+PDR\/kernel-bridge\s+PDR\/forwarder$/);
  const bridge64 = lines.find((l) => l.startsWith('Linux bridge') && /\s64\s/.test(l))!;
  for (const cell of ['0.900', '1.000', '1.100', '0.60', '12.5/41.0 @50%', 'dut 100 gen ' , ' si 45']) assert.ok(bridge64.includes(cell), `${cell} in ${bridge64}`);
  const bridged = lines.find((l) => l.startsWith('switchyard') && l.includes('imix'))!;
  assert.match(bridged, /0\.50x\s+0\.25x$/);
  assert.match(text, /Open vSwitch \(ovs\): skipped: ovs-vswitchd is not installed/);
  assert.equal(lines.filter((l) => l.startsWith('Open vSwitch')).length, 1, 'a skipped device has no row');
  const b = sample();
  b.devices[0].results[0].error = 'sink died';
  b.devices[0].results[0].ndr = null;
  b.devices[0].results[0].latency = [];
  const t2 = formatTable(b);
  assert.match(t2, /Linux bridge \(kernel-bridge\) 64: error: sink died/);
  assert.match(t2.split('\n').find((l) => l.startsWith('Linux bridge'))!, /^Linux bridge\s+64\s+-\s+1\.000/);
  const b3 = sample();
  b3.devices[0].results[0].generator_limited = true;
  b3.devices[0].rfc2889 = { address_capacity: { addresses: 8192, tested_max: 8192, trials: 4 }, learning_rate: { fps: 250000, addresses: 8192, trials: 3, at_generator_limit: true } };
  const t3 = formatTable(b3);
  assert.match(t3.split('\n').find((l) => l.startsWith('Linux bridge') && /\s64\s/.test(l))!, /≥0\.900\s+≥1\.000\s+≥1\.100/);
  assert.match(t3, /≥: nothing was lost flat out/);
  assert.match(t3, /Linux bridge: RFC 2889 address caching capacity 8192 \(all tried\), learning rate ≥ 250,000 addresses\/s \(8192 addresses\)/);
});

test('niceTicks: 1-2-5 steps covering the maximum', () => {
  assert.deepEqual(niceTicks(1.83), [0, 0.5, 1, 1.5, 2]);
  assert.deepEqual(niceTicks(10), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0), [0, 1]);
  assert.deepEqual(niceTicks(0.07), [0, 0.02, 0.04, 0.06, 0.08]);
});

/** Tags balance: a tiny walker over <name ...>, </name> and <name .../>. */
function wellFormed(xml: string): boolean {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^<>]*?(\/?)>/g)) {
    if (m[3]) continue;
    if (!m[1]) stack.push(m[2]);
    else if (stack.pop() !== m[2]) return false;
  }
  return stack.length === 0 && !/&(?!#\d+;|amp;|lt;|gt;|quot;|apos;)/.test(xml) && !/<[^a-zA-Z/!?]/.test(xml);
}

test('rateChart: well-formed SVG, one line per device with results, labels escaped', () => {
  const b = sample();
  const svg = rateChart(b);
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(wellFormed(svg));
  assert.equal(svg.match(/<polyline /g)?.length, 3, 'skipped device drawn no line');
  assert.ok(svg.includes('switchyard &#60;bridged&#62; &#38; &#34;co&#34;'));
  assert.ok(!svg.includes('<bridged>'));
  assert.ok(svg.includes('>PDR by frame size (Mpps)</text>'));
  const xLabels = [...svg.matchAll(/text-anchor="middle">(64|1518|imix)</g)].map((m) => m[1]);
  assert.deepEqual(xLabels, ['64', '1518', 'imix'], 'sizes in order, imix last');
  const line = svg.match(/points="([^"]+)"/)![1].split(' ');
  assert.equal(line.length, 3);
  // a device without NDR anywhere draws nothing in the NDR chart
  for (const r of b.devices[2].results) r.ndr = null;
  const ndr = rateChart(b, 'ndr', 'Gbit/s');
  assert.equal(ndr.match(/<polyline /g)?.length, 2);
  assert.ok(ndr.includes('NDR by frame size (Gbit/s)'));
  assert.ok(wellFormed(ndr));
  assert.ok(wellFormed(rateChart({ ...b, devices: [] }, 'mrr')));
});

test('a fixed-rate result (--rate): validated, and shown below the table', () => {
  const b = sample();
  const r = b.devices[0].results[0];
  r.fixed = { target_pps: 100000, trial: trial(100000, 99000, 64), latency: latency(100, 100000) };
  assert.deepEqual(validateBench(b), []);
  assert.match(formatTable(b), /Linux bridge 64: at a fixed 0\.100 Mpps: offered \S+, received 0\.099 Mpps, loss/);
  r.fixed.target_pps = 0;
  r.fixed.trial.loss_ratio = 2;
  const problems = validateBench(b);
  assert.ok(problems.some((p) => p.startsWith('$.devices[0].results[0].fixed.target_pps')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('$.devices[0].results[0].fixed.trial.loss_ratio')), problems.join('\n'));
});
