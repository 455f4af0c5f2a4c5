#!/usr/bin/env node
// switchyard.js — the installed command; everything lives in src/cli.ts (built to dist/cli.js).
import { main } from '../dist/cli.js';

// `switchyard show fdb | head`: when the reader goes away, what is left to print is dropped and
// the command carries on to its normal end (a running switch keeps running and still cleans up
// on SIGINT/SIGTERM), instead of dying on an unhandled EPIPE
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => { if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e; });
}

process.exitCode = await main(process.argv.slice(2));
