// cli-bin.test.ts — the installed command (bin/switchyard.js, compiled dist) as a shell sees
// it: a reader that goes away early (`switchyard … | head -1`) must not make it die with an
// unhandled EPIPE; it finishes normally with its own exit status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));

test('output into a closed pipe: no EPIPE crash, normal exit status', async () => {
  // bench --list writes a line per device, each after an availability check; the reader
  // closes after the first, so the later writes meet a closed pipe
  const child = spawn(process.execPath, [bin, 'bench', '--list'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d; });
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
});
