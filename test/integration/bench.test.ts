// bench.test.ts — one short real run of `switchyard bench` (the installed command, compiled):
// the Linux bridge against switchyard bridged, 64-byte frames, trials of a few tenths of a
// second. It checks that numbers come out — rates, NDR/PDR, latency percentiles, RFC 2889
// capacity — that the JSON validates and the chart is written, and that the run leaves no
// namespace behind. Never a speed: the machine's cores are shared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateBench, type BenchJson } from '../../src/bench/results.ts';
import { run } from '../helpers/netns.ts';

const bin = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));

async function benchNamespaces(): Promise<string[]> {
  return (await run('ip', ['netns', 'list'])).out.split('\n').map((l) => l.split(' ')[0]).filter((n) => /^syb[0-9a-z]{4}-/.test(n));
}

test('switchyard bench: kernel bridge against switchyard bridged, numbers only', { timeout: 240000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'sy-bench-test-'));
  const before = await benchNamespaces();
  try {
    const args = ['bench', '--devices', 'kernel-bridge,bridged', '--sizes', '64', '--trial', '0.3', '--trials', '3',
      '--latency-loads', '50', '--latency-trial', '0.3', '--mac-max', '2048', '--mac-trials', '3', '--flows', '64', '--out', out];
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 0, `exit ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`);

    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('.json')), svg = files.find((f) => f.endsWith('.svg'));
    assert.ok(json && svg, `wrote ${files.join(', ')}`);
    const b = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchJson;
    assert.deepEqual(validateBench(b), []);
    assert.deepEqual(b.devices.map((d) => d.key), ['kernel-bridge', 'bridged']);
    for (const d of b.devices) {
      assert.equal(d.error, undefined, `${d.key}: ${d.error}`);
      const r = d.results[0];
      assert.equal(r.frame_size, 64);
      assert.equal(r.error, undefined, `${d.key}: ${r.error}`);
      assert.ok(r.mrr && r.mrr.rx_packets > 0 && r.mrr.rx_pps > 0, `${d.key}: MRR received something`);
      assert.ok(r.mrr.tx_bps_l1 > r.mrr.tx_bps, `${d.key}: L1 rate counts preamble and gap`);
      assert.ok(r.pdr && r.pdr.pps > 0, `${d.key}: a PDR was found`);
      if (r.ndr) assert.ok(r.ndr.pps <= r.pdr.pps * (1 + 1e-9), `${d.key}: NDR <= PDR`);
      const l = r.latency[0];
      assert.ok(l && l.samples > 0 && l.p50_ns > 0 && l.p50_ns <= l.p99_ns && l.p99_ns <= l.max_ns, `${d.key}: latency percentiles`);
      assert.ok((d.rfc2889?.address_capacity?.addresses ?? 0) >= 1024, `${d.key}: learned at least 1024 addresses`);
      assert.ok((d.rfc2889?.learning_rate?.fps ?? 0) > 0, `${d.key}: a learning rate`);
    }
    assert.ok(b.ratios.some((r) => r.reference === 'kernel-bridge' && r.rows.some((x) => x.device === 'bridged' && (x.pdr_ratio ?? 0) > 0)));
    assert.match(stdout, /switchyard bridged/);
    assert.match(readFileSync(join(out, svg), 'utf8'), /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  } finally {
    rmSync(out, { recursive: true, force: true });
    assert.deepEqual(await benchNamespaces(), before, 'the run removed its namespaces');
  }
});
