// cli.ts — the `switchyard` command (SPEC.md, "Command line"): run, check, show, capture.
//
// main(argv, io) returns the exit status instead of exiting, so tests call it directly with
// their own stdout/stderr; only `run` ends the process itself (a clean stop may still leave
// native handles behind). Exit status: 0 success, 1 runtime failure (no instance running,
// the instance refused a request, I/O errors), 2 usage or configuration errors.
// `run` loads the switch lazily, so check/show/capture work without the native addon.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ConfigError, checkInterfaces, defaultConfig, formatConfig, loadConfigFile, DEFAULTS,
} from './config.js';
import {
  ControlReplyError, SHOW_KINDS, claimSocketPath, request, socketPath, startCapture, startControlServer,
  type CaptureDir, type ShowKind,
} from './control.js';
import {
  conntrackSummary, formatConntrack, formatFdb, formatGeneric, formatLeases, formatNeigh, formatPorts, formatRoutes, formatStats,
  type LeaseEntry,
} from './format.js';
import { PcapStreamSplitter, globalHeader } from './io/pcap.js';
import type { Config, FdbEntryView, PortView, StatsView } from './types.js';
import type { ConntrackView, NeighborView, RouteView } from './routing.js';

export interface CliIO {
  stdout: { write(chunk: string | Uint8Array): unknown; isTTY?: boolean };
  stderr: { write(chunk: string): unknown };
  /** Does a network interface exist? Default: /sys/class/net/IFNAME exists. */
  interfaceExists: (ifname: string) => boolean;
  /** Aborted when a long-running command (capture) should stop; SIGINT/SIGTERM also stop it. */
  signal?: AbortSignal;
}

export const USAGE = `usage: switchyard <command> [options]

commands:
  run [-c FILE]                        run the switch in the foreground until SIGINT/SIGTERM;
                                       SIGHUP re-reads FILE and adds, removes or replaces ports
                                       (without -c: the built-in default, examples/default.yaml:
                                       isolated network 10.99.0.0/24, DHCP, host on TAP sy-host)
  check -c FILE [--skip-interfaces]    validate a config file and print it normalised
  show WHAT [--json]                   read a running instance; WHAT is one of
                                       ${Object.keys(SHOW_KINDS).join(', ')}
  port add NAME --afpacket IF|--tap IF|--stream PATH|--dgram PATH --network NET [--promiscuous]
                                       attach a port to a running instance (QEMU's script= hook;
                                       --stream/--dgram: a unix socket for QEMU's -netdev stream/dgram)
  port del NAME                        detach and forget a port
  capture PORT [-w FILE] [-c N] [-Q in|out|inout]
                                       pcap of the frames a port receives and sends
                                       (to stdout without -w; stops after N frames or on Ctrl-C)
  bench [--quick] [--devices LIST] [--sizes LIST] ...
                                       packet rates (MRR, NDR, PDR, latency, RFC 2889)
                                       of switchyard and the kernel's bridge, router and
                                       NAT side by side (switchyard bench --help)
  help                                 this text
  --version                            print the version

options of show, port and capture:
  --name NAME        instance to talk to (default: ${DEFAULTS.name})
  --run-dir DIR      directory of control sockets (default: ${DEFAULTS.runDir})
  --config FILE      take the instance name and run directory from a config file
`;

class UsageError extends Error {}

/** A command ended with this status after printing its message. */
class Exit extends Error {
  readonly code: number;
  constructor(code: number, message = '') {
    super(message);
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------------
// argument parsing

interface FlagSpec { [flag: string]: { key: string; takesValue: boolean } }

function parseArgs(args: string[], spec: FlagSpec, command: string): { flags: Record<string, string | true>; positional: string[] } {
  const flags: Record<string, string | true> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') { positional.push(...args.slice(i + 1)); break; }
    if (a.startsWith('-') && a !== '-') {
      const eq = a.startsWith('--') ? a.indexOf('=') : -1;
      const name = eq > 0 ? a.slice(0, eq) : a;
      const f = spec[name];
      if (!f) throw new UsageError(`${command}: unknown option ${name}`);
      if (f.takesValue) {
        const v = eq > 0 ? a.slice(eq + 1) : args[++i];
        if (v === undefined) throw new UsageError(`${command}: ${name} needs a value`);
        flags[f.key] = v;
      } else {
        if (eq > 0) throw new UsageError(`${command}: ${name} takes no value`);
        flags[f.key] = true;
      }
    } else {
      positional.push(a);
    }
  }
  return { flags, positional };
}

const str = (v: string | true | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

const INSTANCE_FLAGS: FlagSpec = {
  '--name': { key: 'name', takesValue: true },
  '--run-dir': { key: 'runDir', takesValue: true },
  '--config': { key: 'config', takesValue: true },
};

// ---------------------------------------------------------------------------------------------

function version(): string {
  try {
    // ../package.json from both src/ (tsx) and dist/ (built)
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function sysfsInterfaceExists(ifname: string): boolean {
  return existsSync(`/sys/class/net/${ifname}`);
}

export async function main(argv: string[], ioIn: Partial<CliIO> = {}): Promise<number> {
  const io: CliIO = {
    stdout: ioIn.stdout ?? process.stdout,
    stderr: ioIn.stderr ?? process.stderr,
    interfaceExists: ioIn.interfaceExists ?? sysfsInterfaceExists,
    signal: ioIn.signal,
  };
  const [cmd, ...rest] = argv;
  try {
    if (rest.includes('--help') || rest.includes('-h')) {
      if (cmd !== undefined && !Object.hasOwn(COMMANDS, cmd)) throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
      io.stdout.write(USAGE);
      return 0;
    }
    switch (cmd) {
      case undefined:
        throw new UsageError('no command given');
      case 'help': case '--help': case '-h':
        io.stdout.write(USAGE);
        return 0;
      case '--version': case '-V': case 'version':
        io.stdout.write(`switchyard ${version()}\n`);
        return 0;
      case 'bench': {
        // loaded on demand: the benchmark's modules are not needed to run a switch
        const { cmdBench } = await import('./bench/cli.js');
        return await cmdBench(rest, io);
      }
      default: {
        if (!Object.hasOwn(COMMANDS, cmd)) throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
        return await COMMANDS[cmd](rest, io);
      }
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`switchyard: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof ConfigError) {
      io.stderr.write(`switchyard: ${e.message}\n`);
      return 2;
    }
    if (e instanceof Exit) {
      if (e.message) io.stderr.write(`switchyard: ${e.message}\n`);
      return e.code;
    }
    io.stderr.write(`switchyard: ${(e as Error)?.message ?? String(e)}\n`);
    return 1;
  }
}

type Command = (args: string[], io: CliIO) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  check: cmdCheck,
  show: cmdShow,
  capture: cmdCapture,
  run: cmdRun,
  port: cmdPort,
};

// ---------------------------------------------------------------------------------------------
// check

async function cmdCheck(args: string[], io: CliIO): Promise<number> {
  const { flags, positional } = parseArgs(args, {
    '-c': { key: 'config', takesValue: true },
    '--config': { key: 'config', takesValue: true },
    '--skip-interfaces': { key: 'skipIf', takesValue: false },
  }, 'check');
  let file = str(flags.config);
  if (file === undefined && positional.length === 1) file = positional.shift();
  if (positional.length) throw new UsageError(`check: unexpected argument ${JSON.stringify(positional[0])}`);
  if (file === undefined) throw new UsageError('check: -c FILE is required');
  const config = loadConfigFile(file);
  if (!flags.skipIf) checkInterfaces(config, io.interfaceExists);
  io.stdout.write(formatConfig(config));
  return 0;
}

// ---------------------------------------------------------------------------------------------
// finding a running instance

interface Instance { name: string; path: string; runDir: string }

function instanceOf(flags: Record<string, string | true>): Instance {
  let name = str(flags.name);
  let runDir = str(flags.runDir);
  const file = str(flags.config);
  if (file !== undefined) {
    const c = loadConfigFile(file);
    name ??= c.name;
    runDir ??= c.runDir;
  }
  name ??= DEFAULTS.name;
  runDir = resolve(runDir ?? DEFAULTS.runDir);
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(name) || name === '.' || name === '..') throw new UsageError(`invalid instance name ${JSON.stringify(name)}`);
  return { name, runDir, path: socketPath(runDir, name) };
}

/** Turns a connection failure into the message people need, as an Exit(1). */
function unreachable(inst: Instance, e: NodeJS.ErrnoException): Exit {
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
    let others: string[] = [];
    try {
      others = readdirSync(inst.runDir).filter((f) => f.endsWith('.sock')).map((f) => f.slice(0, -5)).filter((n) => n !== inst.name);
    } catch { /* no run dir */ }
    const hint = others.length ? `; running: ${others.join(', ')} (use --name)` : '';
    return new Exit(1, `no instance "${inst.name}" running (${inst.path})${hint}`);
  }
  if (e.code === 'EACCES' || e.code === 'EPERM') return new Exit(1, `permission denied on ${inst.path} (the control socket is root's; try sudo)`);
  if (e.code === 'ETIMEDOUT') return new Exit(1, `instance "${inst.name}" does not answer (${inst.path})`);
  return new Exit(1, `${inst.path}: ${e.message}`);
}

// ---------------------------------------------------------------------------------------------
// port add / del

async function cmdPort(args: string[], io: CliIO): Promise<number> {
  const { flags, positional } = parseArgs(args, {
    ...INSTANCE_FLAGS,
    '--afpacket': { key: 'afpacket', takesValue: true },
    '--tap': { key: 'tap', takesValue: true },
    '--stream': { key: 'stream', takesValue: true },
    '--dgram': { key: 'dgram', takesValue: true },
    '--network': { key: 'network', takesValue: true },
    '--promiscuous': { key: 'promiscuous', takesValue: false },
  }, 'port');
  const kinds = (['afpacket', 'tap', 'stream', 'dgram'] as const).filter((k) => flags[k] !== undefined);
  const [op, name, ...extra] = positional;
  if (op !== 'add' && op !== 'del') throw new UsageError('port: add or del?');
  if (!name) throw new UsageError(`port ${op}: NAME is required`);
  if (extra.length) throw new UsageError(`port ${op}: unexpected argument ${JSON.stringify(extra[0])}`);
  let req: Record<string, unknown>;
  if (op === 'add') {
    if (kinds.length !== 1) throw new UsageError('port add: give exactly one of --afpacket IF, --tap IF, --stream PATH or --dgram PATH');
    if (typeof flags.network !== 'string') throw new UsageError('port add: --network NET is required');
    const kind = kinds[0];
    // a socket path is the switch's to open, from its own working directory: make it absolute here
    const dev = kind === 'stream' || kind === 'dgram' ? resolve(str(flags[kind])!) : str(flags[kind])!;
    req = { cmd: 'port', op, name, network: flags.network, [kind]: dev, ...(flags.promiscuous ? { promiscuous: true } : {}) };
  } else {
    if (kinds.length || flags.network !== undefined) throw new UsageError('port del: takes only NAME');
    req = { cmd: 'port', op, name };
  }
  const inst = instanceOf(flags);
  let reply;
  try {
    reply = await request(inst.path, req, 5000);
  } catch (e) {
    throw unreachable(inst, e as NodeJS.ErrnoException);
  }
  if (!reply.ok) throw new Exit(1, reply.error);
  io.stdout.write(op === 'add' ? `port ${name} added\n` : `port ${name} removed\n`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// show

async function cmdShow(args: string[], io: CliIO): Promise<number> {
  const { flags, positional } = parseArgs(args, { ...INSTANCE_FLAGS, '--json': { key: 'json', takesValue: false } }, 'show');
  const kinds = Object.keys(SHOW_KINDS);
  if (positional.length === 0) throw new UsageError(`show: what? (one of ${kinds.join(', ')})`);
  if (positional.length > 1) throw new UsageError(`show: unexpected argument ${JSON.stringify(positional[1])}`);
  const what = positional[0];
  if (!Object.hasOwn(SHOW_KINDS, what)) throw new UsageError(`show: unknown ${JSON.stringify(what)} (one of ${kinds.join(', ')})`);
  const inst = instanceOf(flags);
  let reply;
  try {
    reply = await request(inst.path, { cmd: 'show', what }, 5000);
  } catch (e) {
    throw unreachable(inst, e as NodeJS.ErrnoException);
  }
  if (!reply.ok) throw new Exit(1, reply.error);
  if (flags.json) {
    io.stdout.write(JSON.stringify(reply.data, null, 2) + '\n');
    return 0;
  }
  io.stdout.write(formatShow(what as ShowKind, reply.data));
  // conntrack -L's closing line, on stderr as conntrack prints it: stdout stays one flow per line
  if (what === 'conntrack' && Array.isArray(reply.data)) io.stderr.write(conntrackSummary(reply.data.length));
  return 0;
}

export function formatShow(what: ShowKind, data: unknown): string {
  switch (what) {
    case 'ports': return formatPorts(data as PortView[]);
    case 'fdb': return formatFdb(data as FdbEntryView[]);
    case 'stats': return formatStats(data as StatsView);
    // arrays only: an instance answering something else still gets printed, generically
    case 'neigh': return Array.isArray(data) ? formatNeigh(data as NeighborView[]) : formatGeneric(data);
    case 'routes': return Array.isArray(data) ? formatRoutes(data as RouteView[]) : formatGeneric(data);
    case 'conntrack': return Array.isArray(data) ? formatConntrack(data as ConntrackView[]) : formatGeneric(data);
    case 'leases': return Array.isArray(data) ? formatLeases(data as LeaseEntry[]) : formatGeneric(data);
    default: return formatGeneric(data);
  }
}

// ---------------------------------------------------------------------------------------------
// capture

const DIRS: Record<string, CaptureDir> = { in: 'rx', out: 'tx', inout: 'both', rx: 'rx', tx: 'tx', both: 'both' };

async function cmdCapture(args: string[], io: CliIO): Promise<number> {
  const { flags, positional } = parseArgs(args, {
    ...INSTANCE_FLAGS,
    '-w': { key: 'file', takesValue: true },
    '-c': { key: 'count', takesValue: true },
    '-Q': { key: 'dir', takesValue: true },
  }, 'capture');
  if (positional.length !== 1) throw new UsageError(positional.length ? `capture: unexpected argument ${JSON.stringify(positional[1])}` : 'capture: which PORT?');
  const port = positional[0];
  let count = 0;
  if (flags.count !== undefined) {
    const c = str(flags.count) ?? '';
    if (!/^[1-9][0-9]*$/.test(c)) throw new UsageError(`capture: -c needs a positive count, got ${JSON.stringify(c)}`);
    count = Number(c);
  }
  const dirFlag = str(flags.dir) ?? 'inout';
  const dir = Object.hasOwn(DIRS, dirFlag) ? DIRS[dirFlag] : undefined;
  if (!dir) throw new UsageError(`capture: -Q takes in, out or inout, got ${JSON.stringify(dirFlag)}`);
  const file = str(flags.file);
  const toStdout = file === undefined || file === '-';
  if (toStdout && io.stdout.isTTY) {
    throw new Exit(2, 'capture: refusing to write pcap to a terminal; use -w FILE or pipe into tcpdump -r -');
  }
  const inst = instanceOf(flags);

  // the file is opened when the first bytes arrive: a refused capture leaves an existing file alone
  let fd = -1;
  const splitter = new PcapStreamSplitter();
  let session: Awaited<ReturnType<typeof startCapture>> | null = null;
  let writeError: Error | null = null;
  const write = (chunk: Uint8Array): void => {
    if (chunk.length === 0 || writeError) return;
    try {
      if (!toStdout) {
        if (fd < 0) fd = openSync(file!, 'w', 0o644);
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
      } else {
        io.stdout.write(chunk);
      }
    } catch (e) {
      writeError = e as Error;
      session?.stop();
    }
  };

  let stopRequested = false;
  const stop = (): void => { stopRequested = true; session?.stop(); };
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const s of signals) process.on(s, stop);
  io.signal?.addEventListener('abort', stop);
  const stdoutErr = (e: Error): void => { writeError = e; stop(); };
  const stdoutEmitter = toStdout && io.stdout === process.stdout ? process.stdout : null;
  stdoutEmitter?.on('error', stdoutErr);
  try {
    try {
      session = await startCapture(inst.path, { port, count, dir }, (chunk) => write(splitter.push(chunk)), 5000);
    } catch (e) {
      if (e instanceof ControlReplyError) throw new Exit(1, e.message);
      throw unreachable(inst, e as NodeJS.ErrnoException);
    }
    if (stopRequested || io.signal?.aborted) session.stop();
    const limit = count ? `, ${count} frame${count === 1 ? '' : 's'}` : '';
    io.stderr.write(`switchyard: capturing on port ${port} of instance "${inst.name}"${limit}${toStdout ? '' : ` to ${file}`}\n`);
    await session.done;
    // a stream that ended before its global header (instance stopped at once) still makes a valid file
    if (splitter.header === null) write(globalHeader());
  } finally {
    for (const s of signals) process.off(s, stop);
    io.signal?.removeEventListener('abort', stop);
    stdoutEmitter?.off('error', stdoutErr);
    if (fd >= 0) closeSync(fd);
  }
  if (writeError && (writeError as NodeJS.ErrnoException).code !== 'EPIPE') {
    throw new Exit(1, `capture: ${toStdout ? 'stdout' : file}: ${(writeError as Error).message}`);
  }
  io.stderr.write(`switchyard: ${splitter.records} frame${splitter.records === 1 ? '' : 's'} captured\n`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// run

async function cmdRun(args: string[], io: CliIO): Promise<number> {
  const { flags, positional } = parseArgs(args, {
    '-c': { key: 'config', takesValue: true },
    '--config': { key: 'config', takesValue: true },
  }, 'run');
  if (positional.length) throw new UsageError(`run: unexpected argument ${JSON.stringify(positional[0])}`);
  const file = str(flags.config);
  const config: Config = file !== undefined ? loadConfigFile(file) : defaultConfig();
  checkInterfaces(config, io.interfaceExists);
  const log = (msg: string): void => { io.stderr.write(`${new Date().toISOString()} switchyard[${config.name}]: ${msg}\n`); };

  const path = socketPath(config.runDir, config.name);
  await claimSocketPath(path); // a second instance must fail before it opens any port
  const { Switch } = await import('./switch.js');
  const sw = await Switch.start(config, { log });
  let server;
  try {
    server = await startControlServer(sw, path);
  } catch (e) {
    await sw.stop();
    throw e;
  }
  log(`control socket ${path}${file === undefined ? ' (built-in default configuration)' : ''}`);

  await new Promise<void>((done) => {
    let stopping = false;
    const onStop = (sig: NodeJS.Signals): void => {
      if (stopping) {
        log(`${sig} again: exiting without cleanup`);
        process.exit(1);
      }
      stopping = true;
      log(`${sig}: stopping`);
      done();
    };
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
    process.on('SIGHUP', () => {
      if (stopping) return;
      if (file === undefined) {
        log('SIGHUP: running the built-in default configuration; there is no file to re-read');
        return;
      }
      log(`SIGHUP: re-reading ${file}`);
      let next: Config;
      try {
        next = loadConfigFile(file);
      } catch (e) {
        log(`SIGHUP: ${(e as Error).message}; keeping the running configuration`);
        return;
      }
      sw.reload(next).catch((e: Error) => log(`SIGHUP: ${e.message}; keeping the running configuration`));
    });
  });
  try {
    await server.close();
  } catch (e) {
    log(`closing the control socket: ${(e as Error).message}`);
  }
  await sw.stop();
  // native poll handles may keep the loop alive after stop; a stopped switch has nothing left to do
  process.exit(0);
}
