// bench-cli.test.ts — `switchyard bench` flags: defaults, --quick, and a clear error for
// every bad value (no device is started: parseBenchArgs only builds the plan).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBenchArgs, BenchUsageError } from '../../src/bench/cli.ts';

test('defaults: every device, every RFC 2544 size and IMIX, latency at 10/50/90 % of PDR', () => {
  const p = parseBenchArgs([]);
  assert.deepEqual(p.opts.sizes, [64, 128, 256, 512, 1024, 1280, 1518, 'imix']);
  assert.deepEqual(p.opts.devices.map((d) => d.key), ['kernel-bridge', 'kernel-bridge-napi', 'bridged', 'forwarder', 'kernel-router', 'kernel-router-napi', 'routed', 'nft-masq', 'nft-masq-napi', 'nat', 'ovs', 'ovs-afxdp', 'vde']);
  assert.deepEqual(p.opts.latencyLoads, [10, 50, 90]);
  assert.equal(p.opts.pdrLoss, 0.005);
  assert.equal(p.opts.rfc2889, true);
  assert.equal(p.out, '.');
});

test('--quick: 64-byte frames, short trials, latency at 50 % only', () => {
  const p = parseBenchArgs(['--quick']);
  assert.deepEqual(p.opts.sizes, [64]);
  assert.ok(p.opts.trialSeconds <= 0.5 && p.opts.maxTrials <= 4);
  assert.deepEqual(p.opts.latencyLoads, [50]);
});

test('flags override, in any order', () => {
  const p = parseBenchArgs(['--devices', 'kernel-bridge,nat', '--sizes', '64,imix', '--flows', '1000000', '--pdr-loss', '0.1',
    '--latency-loads', 'none', '--bidirectional', '--no-rfc2889', '--trial', '1.5', '--out', '/tmp/x', '-v']);
  assert.deepEqual(p.opts.devices.map((d) => [d.key, d.kind]), [['kernel-bridge', 'bridge'], ['nat', 'nat']]);
  assert.deepEqual(p.opts.sizes, [64, 'imix']);
  assert.equal(p.opts.flows, 1_000_000);
  assert.equal(p.opts.pdrLoss, 0.001);
  assert.deepEqual(p.opts.latencyLoads, []);
  assert.equal(p.opts.bidirectional, true);
  assert.equal(p.opts.rfc2889, false);
  assert.equal(p.opts.trialSeconds, 1.5);
  assert.equal(p.out, '/tmp/x');
  assert.equal(p.verbose, true);
});

test('bad input is a usage error that names the flag', () => {
  const cases: [string[], RegExp][] = [
    [['--devices', 'cisco'], /unknown device "cisco"/],
    [['--sizes', '63'], /--sizes/],
    [['--flows', '0'], /--flows wants an integer 1\.\.1000000/],
    [['--flows', '2000000'], /--flows/],
    [['--trial'], /--trial needs a value/],
    [['--trial', 'abc'], /--trial wants a number/],
    [['--latency-loads', '50,120'], /--latency-loads/],
    [['--bogus'], /unknown option "--bogus"/],
  ];
  for (const [args, re] of cases) {
    assert.throws(() => parseBenchArgs(args), (e: Error) => e instanceof BenchUsageError && re.test(e.message), args.join(' '));
  }
});

test('--rate: a fixed-rate run instead of MRR and the search', () => {
  assert.equal(parseBenchArgs(['--rate', '250000']).opts.fixedPps, 250000);
  assert.equal(parseBenchArgs([]).opts.fixedPps, undefined);
  assert.throws(() => parseBenchArgs(['--rate', '0']), /--rate wants a number/);
});
