// control.ts — the control socket of a running switch, and its client.
//
// Why a socket: `switchyard show ...`, `capture` and (later) `port add/del` talk to the running
// process without restarting it. Protocol: newline-delimited JSON over a unix stream socket at
// `${runDir}/${name}.sock` (mode 0600: capture exposes traffic, so it is root's by default).
// One request per line, one reply line per request, in order:
//
//   -> {"cmd":"show","what":"ports"}            <- {"ok":true,"data":[...PortView]}
//   -> {"cmd":"ping"}                           <- {"ok":true,"data":{"name":"lab","pid":123,"commands":[...],"show":[...]}}
//   -> {"cmd":"capture","port":"vm1","count":10,"dir":"both"}
//                                               <- {"ok":true}  then raw pcap bytes until count or close
//   -> anything malformed                       <- {"ok":false,"error":"..."}   (connection stays usable)
//
// A request may carry "id" (string or number); its reply echoes it. `show` kinds are data-driven
// (SHOW_KINDS): each maps to a method of the target; a target without that (optional) method
// answers "not available in this instance". A new command is one entry in COMMANDS.
// After a capture reply the connection carries only pcap bytes (nanosecond magic, linktype 1);
// input from the client is then ignored, and closing (or half-closing) the connection
// unsubscribes. When the
// client reads too slowly (more than 4 MiB queued) frames are skipped rather than buffered.
import net from 'node:net';
import { lstatSync, mkdirSync, chmodSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FdbEntryView, PortView, StatsView } from './types.js';
import { globalHeader, record } from './io/pcap.js';

export interface ControlTarget {
  readonly name: string;
  ports(): PortView[];
  fdb(): FdbEntryView[];
  stats(): StatsView;
  /** subscribe to frames a port receives ('rx') and sends ('tx'); returns unsubscribe; throws Error on unknown port */
  capture(port: string, onFrame: (dir: 'rx' | 'tx', frame: Uint8Array, timeNs: bigint) => void): () => void;
  // optional: answered with "not available in this instance" when absent
  neighbors?(): unknown;
  routes?(): unknown;
  conntrack?(): unknown;
  leases?(): unknown;
  addPort?(name: string, spec: { afpacket?: string; tap?: string; stream?: string; dgram?: string; network: string; promiscuous?: boolean }): unknown;
  removePort?(name: string): boolean;
}

/** `show WHAT` -> the target method that answers it. */
export const SHOW_KINDS = {
  ports: 'ports',
  fdb: 'fdb',
  stats: 'stats',
  neigh: 'neighbors',
  routes: 'routes',
  conntrack: 'conntrack',
  leases: 'leases',
} as const satisfies Record<string, keyof ControlTarget>;

export type ShowKind = keyof typeof SHOW_KINDS;

export type ControlRequest =
  | { cmd: 'show'; what: string; id?: string | number }
  | { cmd: 'ping'; id?: string | number }
  | { cmd: 'capture'; port: string; count?: number; dir?: CaptureDir; id?: string | number };

export type ControlReply =
  | { ok: true; data?: unknown; id?: string | number }
  | { ok: false; error: string; id?: string | number };

export type CaptureDir = 'rx' | 'tx' | 'both';

/** Longest request line accepted, in bytes (without the newline). */
export const MAX_REQUEST_LINE = 64 * 1024;
/** A capture skips frames while this many bytes wait to be read by its client. */
export const MAX_CAPTURE_BACKLOG = 4 * 1024 * 1024;

export function socketPath(runDir: string, name: string): string {
  return join(runDir, `${name}.sock`);
}

// ---------------------------------------------------------------------------------------------
// server

type Json = Record<string, unknown>;

interface Conn {
  socket: net.Socket;
  target: ControlTarget;
  /** set once the connection carries a capture stream */
  streaming: boolean;
  /** cleanup to run when the connection goes away */
  cleanup: (() => void)[];
}

/** What a command handler returns: a reply, or 'stream' when it took over the connection. */
type Handled = ControlReply | 'stream';
type Handler = (req: Json, conn: Conn) => Handled | Promise<Handled>;

class RequestError extends Error {}

const COMMANDS: Record<string, Handler> = {
  ping: (_req, conn) => ({
    ok: true,
    data: {
      name: conn.target.name,
      pid: process.pid,
      commands: Object.keys(COMMANDS),
      show: (Object.keys(SHOW_KINDS) as ShowKind[]).filter((k) => typeof conn.target[SHOW_KINDS[k]] === 'function'),
    },
  }),

  show: async (req, conn) => {
    const what = req.what;
    if (typeof what !== 'string') throw new RequestError('show: "what" must be a string (one of ' + Object.keys(SHOW_KINDS).join(', ') + ')');
    if (!Object.hasOwn(SHOW_KINDS, what)) {
      throw new RequestError(`show: unknown "what" ${JSON.stringify(what)} (expected one of ${Object.keys(SHOW_KINDS).join(', ')})`);
    }
    const method = SHOW_KINDS[what as ShowKind];
    const fn = conn.target[method] as (() => unknown) | undefined;
    if (typeof fn !== 'function') throw new RequestError(`show ${what}: not available in this instance`);
    return { ok: true, data: await fn.call(conn.target) };
  },

  // {"cmd":"port","op":"add","name":"vm9","afpacket":"tap9","network":"lan"} | {"cmd":"port","op":"del","name":"vm9"}
  // (or "tap": IF, "stream": PATH, "dgram": PATH instead of "afpacket")
  port: async (req, conn) => {
    const t = conn.target;
    const name = req.name;
    if (typeof name !== 'string' || name === '') throw new RequestError('port: "name" must be a port name');
    if (req.op === 'add') {
      if (typeof t.addPort !== 'function') throw new RequestError('port add: not available in this instance');
      const str = (k: string): string | undefined => {
        const v = req[k];
        if (v === undefined) return undefined;
        if (typeof v !== 'string' || v === '') throw new RequestError(`port add: "${k}" must be a string`);
        return v;
      };
      const network = str('network');
      if (network === undefined) throw new RequestError('port add: "network" is required');
      if (req.promiscuous !== undefined && typeof req.promiscuous !== 'boolean') throw new RequestError('port add: "promiscuous" must be true or false');
      try {
        const spec = { afpacket: str('afpacket'), tap: str('tap'), stream: str('stream'), dgram: str('dgram'), network, promiscuous: req.promiscuous as boolean | undefined };
        return { ok: true, data: await t.addPort(name, spec) };
      } catch (e) {
        throw new RequestError(`port add ${name}: ${(e as Error).message}`);
      }
    }
    if (req.op === 'del') {
      if (typeof t.removePort !== 'function') throw new RequestError('port del: not available in this instance');
      if (!t.removePort(name)) throw new RequestError(`port del: no port "${name}"`);
      return { ok: true };
    }
    throw new RequestError('port: "op" must be "add" or "del"');
  },

  capture: (req, conn) => {
    const port = req.port;
    if (typeof port !== 'string' || port === '') throw new RequestError('capture: "port" must be a port name');
    let count = 0;
    if (req.count !== undefined && req.count !== null) {
      if (typeof req.count !== 'number' || !Number.isInteger(req.count) || req.count < 0) {
        throw new RequestError('capture: "count" must be a non-negative integer (0: until the client closes)');
      }
      count = req.count;
    }
    const dir = req.dir ?? 'both';
    if (dir !== 'rx' && dir !== 'tx' && dir !== 'both') throw new RequestError('capture: "dir" must be "rx", "tx" or "both"');

    const socket = conn.socket;
    let started = false;
    let done = false;
    let sent = 0;
    let unsubscribe: (() => void) | null = null;
    const stop = (): void => {
      if (!done) done = true;
      if (unsubscribe) { const u = unsubscribe; unsubscribe = null; u(); }
    };
    const onFrame = (d: 'rx' | 'tx', frame: Uint8Array, timeNs: bigint): void => {
      if (!started || done || (dir !== 'both' && d !== dir)) return;
      if (socket.destroyed || socket.writableEnded) { stop(); return; }
      if (socket.writableLength > MAX_CAPTURE_BACKLOG) return;
      socket.write(record(frame, timeNs)); // copies the frame: the view is only valid now
      if (count > 0 && ++sent >= count) {
        stop();
        socket.end();
      }
    };
    try {
      unsubscribe = conn.target.capture(port, onFrame);
    } catch (e) {
      throw new RequestError(`capture: ${(e as Error).message}`);
    }
    conn.streaming = true;
    conn.cleanup.push(stop);
    socket.write(JSON.stringify({ ok: true, ...(req.id !== undefined ? { id: req.id } : {}) }) + '\n');
    socket.write(globalHeader());
    started = true;
    if (done) stop();
    return 'stream';
  },
};

function validId(id: unknown): id is string | number {
  return typeof id === 'string' || typeof id === 'number';
}

async function handleLine(line: string, conn: Conn): Promise<void> {
  let reply: Handled;
  let id: string | number | undefined;
  try {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch {
      throw new RequestError('request is not valid JSON');
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new RequestError('request must be a JSON object');
    const r = req as Json;
    if (validId(r.id)) id = r.id;
    if (typeof r.cmd !== 'string') throw new RequestError(`request needs "cmd" (one of ${Object.keys(COMMANDS).join(', ')})`);
    const handler = Object.hasOwn(COMMANDS, r.cmd) ? COMMANDS[r.cmd] : undefined;
    if (!handler) throw new RequestError(`unknown cmd ${JSON.stringify(r.cmd)} (expected one of ${Object.keys(COMMANDS).join(', ')})`);
    reply = await handler(r, conn);
  } catch (e) {
    // RequestError: the client's fault; anything else: the target failed, still just this request
    const msg = e instanceof RequestError ? e.message : `internal error: ${(e as Error)?.message ?? String(e)}`;
    reply = { ok: false, error: msg };
  }
  if (reply === 'stream') return;
  if (id !== undefined) reply = { ...reply, id };
  if (!conn.socket.destroyed && !conn.socket.writableEnded) conn.socket.write(JSON.stringify(reply) + '\n');
}

function serve(socket: net.Socket, target: ControlTarget, conns: Set<Conn>): void {
  const conn: Conn = { socket, target, streaming: false, cleanup: [] };
  conns.add(conn);
  let buf = '';
  let discarding = false;
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (line: string): void => { queue = queue.then(() => handleLine(line, conn)); };
  const tooLong = (): void => {
    queue = queue.then(() => {
      if (!socket.destroyed) socket.write(JSON.stringify({ ok: false, error: `request line longer than ${MAX_REQUEST_LINE} bytes` }) + '\n');
    });
  };

  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    if (conn.streaming) return;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl < 0) break;
      const part = chunk.slice(start, nl);
      start = nl + 1;
      if (discarding) { discarding = false; buf = ''; continue; }
      const line = buf + part;
      buf = '';
      if (Buffer.byteLength(line) > MAX_REQUEST_LINE) { tooLong(); continue; }
      if (line.trim() === '') continue;
      enqueue(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    if (discarding) return;
    buf += chunk.slice(start);
    if (Buffer.byteLength(buf) > MAX_REQUEST_LINE) {
      // skip the rest of this line, answer once, resume at the next newline
      buf = '';
      discarding = true;
      tooLong();
    }
  });
  const gone = (): void => {
    if (!conns.delete(conn)) return;
    for (const c of conn.cleanup) c();
  };
  socket.on('error', () => { /* peer reset: 'close' follows */ });
  socket.on('close', gone);
  // A client that half-closes after its requests still gets its replies. A capture client that
  // closes its side is gone: without this, an idle port would keep the subscription forever.
  socket.on('end', () => { void queue.then(() => { if (conn.streaming) socket.destroy(); else socket.end(); }); });
}

/** Is anyone answering on `path`? 'alive' | 'stale' (file, no listener) | 'absent'. */
async function probe(path: string): Promise<'alive' | 'stale' | 'absent'> {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw e;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    const timer = setTimeout(() => { s.destroy(); resolve('alive'); }, 1000); // accepted but slow: someone is there
    s.once('connect', () => { clearTimeout(timer); s.destroy(); resolve('alive'); });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ECONNREFUSED') resolve('stale');
      else if (e.code === 'ENOENT') resolve('absent');
      else reject(new Error(`cannot probe control socket ${path}: ${e.message}`));
    });
  });
}

/**
 * Makes `path` ready to listen on: creates its directory (0755), removes a stale socket file,
 * throws an Error naming the path when another instance answers there (or it is not a socket).
 * `run` calls it before opening any port, so a second instance fails before touching interfaces.
 */
export async function claimSocketPath(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const state = await probe(path);
  if (state === 'alive') throw new Error(`another switchyard instance is running on ${path}`);
  if (state === 'stale') {
    try { unlinkSync(path); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
  }
}

export interface ControlServer {
  readonly path: string;
  /** stops listening, ends every connection (and its captures), removes the socket file */
  close(): Promise<void>;
}

/**
 * Listens on `path` (creating its directory, mode 0755). A stale socket file (nobody answers)
 * is replaced; a live one makes this throw an Error naming the path.
 */
export async function startControlServer(target: ControlTarget, path: string): Promise<ControlServer> {
  await claimSocketPath(path);

  const conns = new Set<Conn>();
  // allowHalfOpen: a client may send its requests and shut down its side; it still gets the replies
  const server = net.createServer({ allowHalfOpen: true }, (s) => serve(s, target, conns));
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'EADDRINUSE'
        ? new Error(`another switchyard instance is running on ${path}`)
        : new Error(`cannot listen on ${path}: ${e.message}`));
    });
    server.listen(path, () => resolve());
  });
  server.on('error', () => { /* after listen: per-connection errors are handled on sockets */ });
  chmodSync(path, 0o600);
  const ino = lstatSync(path).ino;

  let closing: Promise<void> | null = null;
  return {
    path,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of [...conns]) c.socket.destroy();
        // net.Server removes its socket file on close; make sure, but never remove a successor's
        try {
          if (lstatSync(path).ino === ino) unlinkSync(path);
        } catch { /* already gone */ }
      });
      return closing;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// client

/** The instance answered with {"ok":false}. */
export class ControlReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlReplyError';
  }
}

function connect(path: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    const timer = setTimeout(() => {
      s.destroy();
      reject(Object.assign(new Error(`no answer from ${path} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    s.once('connect', () => { clearTimeout(timer); s.removeAllListeners('error'); resolve(s); });
    s.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/**
 * Sends one request and resolves with its reply (ok or not). Connection errors reject with the
 * errno error (code ENOENT / ECONNREFUSED when no instance runs); no reply in time rejects
 * with code ETIMEDOUT.
 */
export async function request(path: string, req: ControlRequest | Json, timeoutMs = 5000): Promise<ControlReply> {
  const deadline = Date.now() + timeoutMs;
  const s = await connect(path, timeoutMs);
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(Object.assign(new Error(`no reply from ${path} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, Math.max(1, deadline - Date.now()));
    const fail = (e: Error): void => { clearTimeout(timer); s.destroy(); reject(e); };
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      s.destroy();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as ControlReply);
      } catch {
        reject(new Error(`malformed reply from ${path}`));
      }
    });
    s.on('error', fail);
    s.on('end', () => fail(new Error(`${path} closed the connection without a reply`)));
    s.write(JSON.stringify(req) + '\n');
  });
}

export interface CaptureSession {
  /** resolves when the stream ends (count reached, instance stopped, or stop() called) */
  readonly done: Promise<void>;
  /** closes the connection (the instance unsubscribes) */
  stop(): void;
}

/**
 * Starts a capture and feeds every pcap byte after the reply line to onData (global header
 * first). Rejects with ControlReplyError if the instance refuses (unknown port, ...).
 */
export async function startCapture(
  path: string,
  req: { port: string; count?: number; dir?: CaptureDir },
  onData: (chunk: Buffer) => void,
  timeoutMs = 5000,
): Promise<CaptureSession> {
  const s = await connect(path, timeoutMs);
  return new Promise((resolve, reject) => {
    let head: Buffer | null = Buffer.alloc(0);
    let settled = false;
    let finish!: () => void;
    const done = new Promise<void>((r) => { finish = r; });
    const timer = setTimeout(() => {
      s.destroy();
      if (!settled) { settled = true; reject(Object.assign(new Error(`no reply from ${path} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })); }
    }, timeoutMs);
    s.on('data', (chunk: Buffer) => {
      if (head === null) { onData(chunk); return; }
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(0x0a);
      if (nl < 0) {
        if (head.length > MAX_REQUEST_LINE) { s.destroy(); settled = true; clearTimeout(timer); reject(new Error(`malformed reply from ${path}`)); }
        return;
      }
      clearTimeout(timer);
      let reply: ControlReply;
      try {
        reply = JSON.parse(head.subarray(0, nl).toString('utf8')) as ControlReply;
      } catch {
        s.destroy(); settled = true; reject(new Error(`malformed reply from ${path}`));
        return;
      }
      if (!reply.ok) {
        s.destroy(); settled = true; reject(new ControlReplyError(reply.error));
        return;
      }
      const rest = head.subarray(nl + 1);
      head = null;
      settled = true;
      resolve({ done, stop: () => { s.destroy(); } });
      if (rest.length) onData(rest);
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      if (!settled) { settled = true; reject(e); }
    });
    s.on('close', () => {
      clearTimeout(timer);
      if (!settled) { settled = true; reject(new Error(`${path} closed the connection without a reply`)); }
      finish();
    });
    s.write(JSON.stringify({ cmd: 'capture', ...req }) + '\n');
  });
}
