// run.ts — `npm run bench`: the in-process micro-benchmarks (bench/inprocess.ts): full-graph
// Mpps, ns per packet per node on a warm vector, heap growth per million packets. Prints a
// table and writes it to bench/results/<timestamp>.json. Packet rates through the kernel,
// against the Linux bridge, router and nftables, are `switchyard bench` (src/bench/).
//
//   npm run bench -- [--quick]
//
// Heap growth is measured between two full GCs, so the in-process part needs --expose-gc:
// without it this script runs itself again with the flag.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bridged, routed, nat, type InProcessResult, type NatResult } from './inprocess.ts';
import { mkdirSync, writeFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
for (const a of argv) {
  if (a !== '--quick') {
    console.error(`bench: unknown option ${a} (packet rates through the kernel: switchyard bench --help)`);
    process.exit(2);
  }
}

if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
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

function writeResults(o: unknown): string {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${new Date().toISOString().replace(/[:.]/g, '-')}-inprocess.json`;
  writeFileSync(file, JSON.stringify(o, null, 1) + '\n');
  return file;
}

async function main(): Promise<void> {
  const secs = quick ? 1 : 3;
  console.log(`in-process (${secs} s each)...`);
  const inprocess: InProcessResult[] = [
    bridged(2, secs), bridged(10000, secs),
    bridged(2, secs, { copy: false }), bridged(10000, secs, { copy: false }),
    routed(1, secs), ...(quick ? [] : [routed(1_000_000, secs)]),
    nat(1, secs), nat(10_000, secs), ...(quick ? [] : [nat(1_000_000, secs)]),
  ];
  console.log('\n' + inprocessTable(inprocess) + '\n');
  console.log(`JSON: ${writeResults({ inprocess })}`);
}
