// socket-port.ts — ports for QEMU's unprivileged socket netdevs (QEMU 7.2 and later): a VM
// joins a switchyard network with no root and no TAP.
//
//   stream  the switch listens on a unix stream socket; QEMU connects with
//           -netdev stream,id=n0,server=off,addr.type=unix,addr.path=PATH
//           Each frame is a 4-byte big-endian length, then the frame (QEMU's net/stream.c).
//   dgram   the switch binds a unix datagram socket; QEMU binds its own path and sends to ours:
//           -netdev dgram,id=n0,local.type=unix,local.path=VM.sock,remote.type=unix,remote.path=PATH
//           One frame per datagram. The C side (native/src/unixdgram.c) does the socket work,
//           since Node has no unix datagram sockets; replies go to the last sender's address.
//
// Stream, the decisions:
// - One QEMU at a time. A second connection while one is up is refused (closed at once,
//   logged, counted): a stray client must not cut a running VM off. A VM that restarts
//   reconnects after its old connection closed (the kernel closes it when QEMU exits).
// - The port is down while nobody is connected (floods skip it, unicasts to it count as
//   port-down) and comes up on connect; the Switch forgets the MACs behind it on disconnect.
// - Reassembly is bounded: chunks from the socket are queued as Node hands them over and
//   frames are copied out of them straight into pool slots (one copy). Above
//   STREAM_MAX_QUEUED bytes waiting, reading pauses until the switch has drained half.
// - A length of 0 is a well-framed empty frame: it goes on, and eth-input counts it as a runt.
//   A length above the slot size but within QEMU's largest frame (NET_BUFSIZE, 69632) is
//   skipped and counted "oversize"; the stream stays in step. A length beyond that can be no
//   QEMU frame: framing is lost, so the connection is closed and "bad-length" counted
//   (QEMU with reconnect= comes back in step).
// - Transmit: one write per burst (each frame behind its length). While more than
//   STREAM_TX_MAX_BUFFERED bytes wait in the socket for a slow reader, whole bursts are
//   dropped and counted (tx-full) instead of buffered without bound.
// - Readiness without polling: the socket's 'data' event calls the port's service; while
//   whole frames remain queued (a service does at most a few bursts) it calls again from
//   setImmediate, so other ports and timers get their turn.
// - The socket file: a stale one (nobody listening) is replaced, a live one or a non-socket
//   is an error; it is made 0660 (so the group of its directory decides who else may
//   connect: see the README) and removed when the port closes.
import net from 'node:net';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { native, type NativeAddon, type NativePortStats } from './native.js';
import type { PacketPool } from '../engine/pool.js';
import type { PortIo } from '../engine/ports.js';

/** QEMU's NET_BUFSIZE (4096 + 65536): no frame QEMU sends is longer. */
export const STREAM_MAX_RECORD = 69632;
/** Bytes received and not yet taken by the switch above which reading pauses. */
export const STREAM_MAX_QUEUED = 1 << 20;
/** Bytes waiting in the socket for the peer above which transmit bursts are dropped. */
export const STREAM_TX_MAX_BUFFERED = 1 << 20;
/** Socket file mode: owner and group may connect/send. */
export const SOCKET_MODE = 0o660;

const EMPTY = Buffer.alloc(0);

function zeroStats(): NativePortStats {
  return {
    rxFrames: 0, rxBytes: 0, rxKernelDrops: 0, rxOversize: 0, rxGsoFrames: 0, rxGsoSegments: 0, rxGsoErrors: 0,
    rxCsumCompleted: 0, rxErrors: 0, txFrames: 0, txBytes: 0, txRingFull: 0, txErrors: 0,
  };
}

/** "permission denied" out of Node's "listen EACCES: permission denied /path". */
function errText(e: NodeJS.ErrnoException, path: string): string {
  const m = /^\w+ [A-Z0-9_]+: (.*)$/.exec(e.message);
  return (m ? m[1] : e.message).replace(` ${path}`, '');
}

/** Make `path` free to listen on: absent, or a stale socket (removed). Throws when in use or not a socket. */
async function clearStale(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return;
    throw new Error(`stream ${path}: ${errText(err, path)} (lstat)`);
  }
  if (!st.isSocket()) throw new Error(`stream ${path}: exists and is not a socket; refusing to replace it`);
  const alive = await new Promise<boolean>((resolve, reject) => {
    const s = net.connect(path);
    const timer = setTimeout(() => { s.destroy(); resolve(true); }, 1000); // accepted but slow: someone is there
    s.once('connect', () => { clearTimeout(timer); s.destroy(); resolve(true); });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') resolve(false);
      else reject(new Error(`stream ${path}: ${errText(e, path)} (checking for a stale socket)`));
    });
  });
  if (alive) throw new Error(`stream ${path}: address already in use (another process listens on it)`);
  try { unlinkSync(path); } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'ENOENT') throw new Error(`stream ${path}: ${errText(err, path)} (removing a stale socket)`);
  }
}

export interface StreamPortOptions {
  /** port name, for log lines */
  name: string;
  path: string;
  mtu: number;
  pool: PacketPool;
  log: (msg: string) => void;
}

/** A `stream` port: a unix stream socket the switch listens on, one QEMU connected at a time. */
export class StreamPort implements PortIo {
  readonly kind = 'stream' as const;
  readonly path: string;
  readonly mtu: number;
  readonly mac: string | null = null;
  readonly created = true;
  /** connections accepted, and refused because one was up */
  connections = 0;
  refused = 0;
  /** connections closed because a length prefix could not be a frame */
  badLength = 0;
  private readonly name: string;
  private readonly pool: PacketPool;
  /** the pool's bytes as a Buffer (a view, no copy): source and target of Buffer.copy */
  private readonly poolBuf: Buffer;
  private readonly log: (msg: string) => void;
  private readonly server: net.Server;
  private readonly ino: number;
  private readonly st = zeroStats();
  private sock: net.Socket | null = null;
  /** the connection is being closed (bad framing): its remaining data is ignored */
  private discarding = false;
  // received bytes not yet taken: chunks[head..] with the first `off` bytes of chunks[head] taken
  private chunks: Buffer[] = [];
  private head = 0;
  private off = 0;
  private queued = 0;
  private paused = false;
  private onReadable: (() => void) | null = null;
  private onLink: ((up: boolean) => void) | null = null;
  private waking = false;
  private immediate: NodeJS.Immediate | null = null;
  private retry: NodeJS.Timeout | null = null;
  /** frames taken by rx() so far: tells a productive wake from a stuck one (pool empty) */
  private taken = 0;
  private closed = false;

  /** Listen on `path` (replacing a stale socket file). Throws Error("stream PATH: ..."). */
  static async open(o: StreamPortOptions): Promise<StreamPort> {
    await clearStale(o.path);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: NodeJS.ErrnoException): void => reject(new Error(`stream ${o.path}: ${errText(e, o.path)} (listen)`));
      server.once('error', onErr);
      server.listen({ path: o.path, backlog: 4 }, () => { server.off('error', onErr); resolve(); });
    });
    let ino = 0;
    try {
      chmodSync(o.path, SOCKET_MODE);
      ino = lstatSync(o.path).ino;
    } catch (e) {
      server.close();
      throw new Error(`stream ${o.path}: ${errText(e as NodeJS.ErrnoException, o.path)} (chmod)`);
    }
    return new StreamPort(o, server, ino);
  }

  private constructor(o: StreamPortOptions, server: net.Server, ino: number) {
    this.name = o.name;
    this.path = o.path;
    this.mtu = o.mtu;
    this.pool = o.pool;
    this.poolBuf = Buffer.from(o.pool.buffer);
    this.log = o.log;
    this.server = server;
    this.ino = ino;
    server.on('connection', (s) => this.accept(s));
    server.on('error', (e) => this.log(`port ${this.name}: stream ${this.path}: ${e.message}`));
  }

  /** A QEMU is connected: the port can carry frames. */
  get connected(): boolean { return this.sock !== null && !this.discarding; }

  /** Called with true on connect and false on disconnect (the Switch sets the port up/down). */
  onLinkChange(fn: ((up: boolean) => void) | null): void { this.onLink = fn; }

  /** Start calling onReadable whenever whole frames wait; null stops. */
  poll(onReadable: (() => void) | null): void {
    this.onReadable = onReadable;
    if (onReadable && this.hasRecord()) this.schedule(true);
  }

  private accept(s: net.Socket): void {
    if (this.closed) { s.destroy(); return; }
    if (this.sock !== null) {
      this.refused++;
      this.log(`port ${this.name}: stream ${this.path}: refused a second connection (one QEMU at a time; the first stays)`);
      s.destroy();
      return;
    }
    this.sock = s;
    this.discarding = false;
    this.connections++;
    s.on('data', (chunk: Buffer) => {
      if (this.sock !== s || this.discarding) return;
      this.chunks.push(chunk);
      this.queued += chunk.length;
      if (!this.paused && this.queued > STREAM_MAX_QUEUED) { this.paused = true; s.pause(); }
      if (this.immediate === null && this.retry === null) this.wake();
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') this.st.rxErrors++;
    });
    s.on('close', () => {
      if (this.sock !== s) return;
      this.sock = null;
      this.discarding = false;
      this.paused = false;
      this.clearQueue();
      this.cancelWake();
      if (!this.closed) {
        this.log(`port ${this.name}: stream ${this.path}: peer disconnected`);
        this.onLink?.(false);
      }
    });
    this.log(`port ${this.name}: stream ${this.path}: peer connected`);
    this.onLink?.(true);
  }

  // ---- the receive queue ----

  private clearQueue(): void {
    this.chunks = [];
    this.head = 0;
    this.off = 0;
    this.queued = 0;
  }

  /** The next length prefix (needs queued >= 4). */
  private peekLength(): number {
    const c = this.chunks[this.head];
    const o = this.off;
    if (c.length - o >= 4) return c.readUInt32BE(o);
    let v = 0;
    let i = this.head, j = o;
    for (let need = 4; need > 0;) {
      const b = this.chunks[i];
      if (j >= b.length) { i++; j = 0; continue; }
      v = v * 256 + b[j++];
      need--;
    }
    return v;
  }

  /** Take n queued bytes, copying them to dst[at..] when dst is given. */
  private take(n: number, dst: Buffer | null, at: number): void {
    this.queued -= n;
    while (n > 0) {
      const c = this.chunks[this.head];
      const k = Math.min(n, c.length - this.off);
      if (dst !== null) c.copy(dst, at, this.off, this.off + k);
      at += k;
      n -= k;
      this.off += k;
      if (this.off === c.length) {
        this.chunks[this.head] = EMPTY;
        this.head++;
        this.off = 0;
      }
    }
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head >= 64) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
  }

  /** A whole record (or a bad length, which rx must see) waits. */
  private hasRecord(): boolean {
    if (this.queued < 4 || this.discarding) return false;
    const len = this.peekLength();
    return len > STREAM_MAX_RECORD || this.queued >= 4 + len;
  }

  rx(slots: Uint32Array, n: number): number {
    const pool = this.pool;
    const cap = pool.slotSize - pool.headroom;
    let filled = 0;
    while (filled < n && this.queued >= 4 && !this.discarding) {
      const len = this.peekLength();
      if (len > STREAM_MAX_RECORD) {
        this.badLength++;
        this.log(`port ${this.name}: stream ${this.path}: length prefix ${len} is no frame (framing lost): closing the connection`);
        this.discarding = true;
        this.clearQueue();
        this.sock?.destroy();
        break;
      }
      if (this.queued < 4 + len) break;
      this.take(4, null, 0);
      if (len > cap) {
        this.st.rxOversize++;
        this.take(len, null, 0);
        continue;
      }
      const s = slots[filled];
      const at = s * pool.slotSize + pool.headroom;
      this.take(len, this.poolBuf, at);
      pool.start[s] = at;
      pool.length[s] = len;
      this.st.rxFrames++;
      this.st.rxBytes += len;
      filled++;
    }
    this.taken += filled;
    return filled;
  }

  tx(slots: Uint32Array, n: number): number {
    const s = this.sock;
    if (s === null || this.discarding || s.destroyed || n === 0) return 0;
    if (s.writableLength > STREAM_TX_MAX_BUFFERED) {
      this.st.txRingFull += n;
      return 0;
    }
    const pool = this.pool;
    let total = 0;
    for (let i = 0; i < n; i++) total += 4 + pool.length[slots[i]];
    const out = Buffer.allocUnsafe(total);
    let o = 0, bytes = 0;
    for (let i = 0; i < n; i++) {
      const slot = slots[i];
      const len = pool.length[slot];
      const start = pool.start[slot];
      out.writeUInt32BE(len, o);
      this.poolBuf.copy(out, o + 4, start, start + len);
      o += 4 + len;
      bytes += len;
    }
    s.write(out);
    this.st.txFrames += n;
    this.st.txBytes += bytes;
    return n;
  }

  // ---- readiness ----

  private wake = (): void => {
    this.immediate = null;
    this.retry = null;
    const fn = this.onReadable;
    if (fn === null || this.waking) return;
    const before = this.taken;
    this.waking = true;
    try { fn(); } finally { this.waking = false; }
    const s = this.sock;
    if (this.paused && s !== null && this.queued <= STREAM_MAX_QUEUED / 2) { this.paused = false; s.resume(); }
    if (this.hasRecord()) this.schedule(this.taken !== before);
  };

  /** Come back for the frames still queued: next turn of the loop, or in 10 ms when the last wake took nothing (pool empty). */
  private schedule(progress: boolean): void {
    if (this.immediate !== null || this.retry !== null) return;
    if (progress) this.immediate = setImmediate(this.wake);
    else this.retry = setTimeout(this.wake, 10);
  }

  private cancelWake(): void {
    if (this.immediate !== null) clearImmediate(this.immediate);
    if (this.retry !== null) clearTimeout(this.retry);
    this.immediate = null;
    this.retry = null;
  }

  stats(): NativePortStats { return { ...this.st }; }

  /** Drop counters of this port beyond the native ones, by reason. */
  extraDrops(): Record<string, number> {
    return this.badLength ? { 'bad-length': this.badLength } : {};
  }

  peer(): string | null { return this.connected ? 'connected' : null; }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelWake();
    this.onReadable = null;
    this.onLink = null;
    this.sock?.destroy();
    this.sock = null;
    this.clearQueue();
    this.server.close();
    // libuv removes the file when the listening handle closes; make sure, if it is still ours
    try { if (lstatSync(this.path).ino === this.ino) unlinkSync(this.path); } catch { /* gone already */ }
  }
}

/** A `dgram` port: a unix datagram socket bound by the addon; replies go to the last sender. */
export class DgramPort implements PortIo {
  readonly kind = 'dgram' as const;
  readonly path: string;
  readonly mtu: number;
  readonly mac: string | null = null;
  readonly created = true;
  private readonly addon: NativeAddon;
  private readonly handle: number;
  private closed = false;

  /** Bind `path` (replacing a stale socket file). Throws Error("dgram PATH: <strerror> (<step>)"). */
  constructor(o: { path: string; mtu: number }) {
    this.addon = native();
    this.path = o.path;
    this.mtu = o.mtu;
    this.handle = this.addon.openUnixDgram(o.path);
  }

  rx(slots: Uint32Array, n: number): number { return this.addon.rx(this.handle, slots, n); }
  tx(slots: Uint32Array, n: number): number { return this.addon.tx(this.handle, slots, n); }
  poll(onReadable: (() => void) | null): void { this.addon.poll(this.handle, onReadable); }
  stats(): NativePortStats { return this.addon.stats(this.handle); }
  extraDrops(): Record<string, number> { return {}; }
  /** Where frames go: the last sender's socket path, null until a datagram arrived. */
  peer(): string | null { return this.closed ? null : this.addon.unixDgramPeer(this.handle); }
  send(frame: Uint8Array): number { return this.addon.send(this.handle, frame); }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.close(this.handle);
  }
}
