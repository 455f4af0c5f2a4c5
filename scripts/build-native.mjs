#!/usr/bin/env node
// build-native.mjs — builds the addon with node-gyp against the headers of the node that
// runs this script (/usr for Debian's node, /usr/local in the official Docker images), so
// nothing is downloaded. Run by `npm install`/`npm ci` (the "install" script) and `npm run build`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const candidates = [resolve(dirname(process.execPath), '..'), '/usr', '/usr/local'];
const nodedir = candidates.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')));
if (!nodedir) {
  console.error(`build-native: no Node headers (include/node/node_api.h) under ${candidates.join(', ')}`);
  process.exit(1);
}
// npm puts its bundled node-gyp on PATH for lifecycle scripts; npm_config_node_gyp names it too
const gyp = process.env.npm_config_node_gyp;
const [cmd, pre] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
const r = spawnSync(cmd, [...pre, 'rebuild', `--nodedir=${nodedir}`, '-C', join(root, 'native')], { stdio: 'inherit' });
process.exit(r.status ?? 1);
