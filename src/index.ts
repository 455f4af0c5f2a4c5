// index.ts — the library: `import { Switch } from 'switchyard'`.
//
// Switch.start(config) runs the same switch the CLI runs, from a config object in the file
// schema (SPEC.md); the engine pieces are exported for embedders that drive a Dataplane
// with their own ports (in-memory ports in tests, for instance).
export { Switch, type SwitchOptions, type ReloadReport, type PortAddSpec } from './switch.js';
export { parseConfig, loadConfigFile, defaultConfig, ConfigError } from './config.js';
export { Dataplane } from './dataplane.js';
export { PacketPool } from './engine/pool.js';
export { MemoryPort } from './io/memory-port.js';
export type { PortIo } from './engine/ports.js';
export type * from './types.js';
