#!/usr/bin/env node
// switchyard.js — the installed command; everything lives in src/cli.ts (built to dist/cli.js).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
