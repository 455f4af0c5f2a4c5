// run.ts — `npm run bench`: the in-process figures (bench/inprocess.ts), then forwarding
// through the kernel (bench/kernel.ts). Prints both as tables and writes everything to
// bench/results/<timestamp>.json.
//
//   npm run bench -- [--inprocess-only | --kernel-only] [--quick] [any bench/kernel.ts flag,
//                    e.g. --sink poll, --devices switchyard,forwarder, --cpus 0/0/1, -v]
//
// Heap growth is measured between two full GCs, so the in-process part needs --expose-gc:
// without it this script runs itself again with the flag.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bridged, routed, nat, type InProcessResult, type NatResult } from './inprocess.ts';
import { kernelBench, kernelTable, parseKernelFlags, writeResults, type KernelReport } from './kernel.ts';

const argv = process.argv.slice(2);
const inprocessOnly = argv.includes('--inprocess-only');
const kernelOnly = argv.includes('--kernel-only');
const quick = argv.includes('--quick');
if (inprocessOnly && kernelOnly) {
  console.error('bench: --inprocess-only and --kernel-only exclude each other');
  process.exit(2);
}

if (!kernelOnly && typeof (globalThis as { gc?: unknown }).gc !== 'function') {
  // again, with --expose-gc; the child handles SIGINT itself (it removes its namespaces)
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), ...argv], { stdio: 'inherit' });
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, sig) => process.exit(code ?? (sig ? 128 + 1 : 1)));
} else {
  await main();
}

function inprocessTable(rs: InProcessResult[]): string {
  const nodes = [...new Set(rs.flatMap((r) => Object.keys(r.nsPerPacket)))];
  const lines = [
    'in-process: memory ports -> the whole graph -> memory ports, one core, 64-byte frames',
    `${'run'.padEnd(40)}${'Mpps'.padStart(7)}${'heap B/Mpkt'.padStart(13)}   ns/packet per node`,
  ];
  for (const r of rs) {
    const ns = nodes.filter((n) => r.nsPerPacket[n]).map((n) => `${n} ${r.nsPerPacket[n]}`).join(', ');
    lines.push(`${r.name.padEnd(40)}${r.mpps.toFixed(2).padStart(7)}${Math.round(r.heapBytesPerMpkt).toString().padStart(13)}   ${ns}`);
    const n = r as Partial<NatResult>;
    if (n.newFlowsPerSec !== undefined) lines.push(`${''.padEnd(40)}new flows: ${(n.newFlowsPerSec / 1e6).toFixed(2)} M/s, ${Math.round(n.bytesPerFlow ?? 0)} B/flow`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const out: { inprocess?: InProcessResult[]; kernel?: KernelReport } = {};
  if (!kernelOnly) {
    const secs = quick ? 1 : 3;
    console.log(`in-process (${secs} s each)...`);
    out.inprocess = [
      bridged(2, secs), bridged(10000, secs),
      bridged(2, secs, { copy: false }), bridged(10000, secs, { copy: false }),
      routed(1, secs), ...(quick ? [] : [routed(1_000_000, secs)]),
      nat(1, secs), nat(10_000, secs), ...(quick ? [] : [nat(1_000_000, secs)]),
    ];
    console.log('\n' + inprocessTable(out.inprocess) + '\n');
  }
  if (!inprocessOnly) {
    const opts = parseKernelFlags(argv);
    console.log('through the kernel...');
    out.kernel = await kernelBench(opts);
    console.log('\n' + kernelTable(out.kernel) + '\n');
  }
  console.log(`JSON: ${writeResults(out)}`);
}
