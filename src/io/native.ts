// native.ts — the typed face of the C addon (native/src/*.c), loaded once.
//
// The addon is deliberately small and dumb: it moves bursts of frames between kernel
// rings / file descriptors and the slots of the one packet pool that JS allocated and
// registered with attachPool(). One N-API call per burst, never one per packet. Everything
// that decides what happens to a packet lives in TypeScript.
//
// Pool contract: slot s occupies bytes [s*slotSize, (s+1)*slotSize) of the pool buffer.
// rx() writes a frame at s*slotSize + headroom and sets start[s] (absolute byte offset of
// the first byte of the Ethernet header) and length[s]. tx() reads start[s]/length[s].
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export interface AfPacketOptions {
  /** PACKET_MR_PROMISC membership while the port is open. */
  promiscuous: boolean;
  /** PACKET_QDISC_BYPASS on the transmit socket. */
  qdiscBypass: boolean;
  /** Frames in the RX ring (power of two; default 4096). */
  rxFrames?: number;
  /** Frames in the TX ring (power of two; default 1024). */
  txFrames?: number;
}

export interface TapOpen {
  handle: number;
  /** True when the device did not exist and the switch created it (it disappears on close). */
  created: boolean;
}

/** Counters kept by the addon per port (monotonic since open). */
export interface NativePortStats {
  rxFrames: number;        // frames handed to JS (GSO segments count one each)
  rxBytes: number;
  rxKernelDrops: number;   // PACKET_STATISTICS tp_drops (ring full): the kernel dropped them
  rxOversize: number;      // non-GSO frames larger than a slot can hold: dropped
  rxGsoFrames: number;     // GSO super-frames received and segmented in software
  rxGsoSegments: number;   // segments produced from them
  rxGsoErrors: number;     // GSO frames that could not be segmented (bad headers, unsupported type): dropped
  rxCsumCompleted: number; // CHECKSUM_PARTIAL frames whose checksum was completed
  rxErrors: number;        // read errors other than EAGAIN
  txFrames: number;
  txBytes: number;
  txRingFull: number;      // frames not sent because the TX ring / fd was full
  txErrors: number;        // other transmit errors (e.g. ENETDOWN, EMSGSIZE)
  /** dgram ports only: frames dropped because no datagram had told us where the peer is yet (also in txErrors) */
  txNoPeer?: number;
  /** dgram ports only: times the peer address changed (a VM came back on another path) */
  peerChanges?: number;
}

export interface LinkInfo {
  ifindex: number;
  /** "aa:bb:cc:dd:ee:ff" */
  mac: string;
  mtu: number;
  up: boolean;
}

export interface GenerateResult { sent: number; ns: number }
export interface SinkResult { frames: number; bytes: number; ns: number }

export interface NativeAddon {
  /** Register the pool once, before any port is opened. */
  attachPool(buffer: ArrayBuffer, slotSize: number, headroom: number, start: Uint32Array, length: Uint16Array): void;
  /** Open an AF_PACKET port on an existing interface. Throws Error("afpacket IF: <strerror>"). */
  openAfPacket(ifname: string, opts: AfPacketOptions): number;
  /** Create (or open, if it exists) a TAP device, IFF_TAP|IFF_NO_PI, non-blocking, set up. Throws Error("tap IF: <strerror>"). */
  openTap(ifname: string): TapOpen;
  /**
   * Bind a unix datagram socket at path (QEMU's `-netdev dgram`): one frame per datagram,
   * replies go to the address of the last datagram received. A stale socket file is replaced;
   * the file is made 0660 and removed at close. Throws Error("dgram PATH: <strerror> (<step>)").
   */
  openUnixDgram(path: string): number;
  /** Where a dgram port sends: the last sender's path ("@name" if abstract), null until one was heard. */
  unixDgramPeer(handle: number): string | null;
  /** Close a port: stops polling, closes fds/unmaps rings. A created TAP disappears. */
  close(handle: number): void;
  /** Receive up to n frames into slots[0..n). Returns how many of those slots were filled, in order. */
  rx(handle: number, slots: Uint32Array, n: number): number;
  /** Transmit slots[0..n). Returns how many were accepted by the kernel. Never frees: the caller owns the slots. */
  tx(handle: number, slots: Uint32Array, n: number): number;
  /** Send one frame directly (no ring), for tests, injection and control-plane packets. Returns bytes sent. Throws on error. */
  send(handle: number, frame: Uint8Array): number;
  /** Call cb from the event loop whenever the port has frames to read; null stops. */
  poll(handle: number, cb: (() => void) | null): void;
  stats(handle: number): NativePortStats;
  /** Interface facts by name; throws Error("link IF: No such device"). */
  linkInfo(ifname: string): LinkInfo;
  /** Benchmark generator: send frames[i % frames.length] count times at pps (0 = as fast as possible). Blocking. */
  generate(handle: number, frames: Uint8Array[], count: number, pps: number): GenerateResult;
  /** Benchmark sink: count frames received for durationMs (or until idleMs passes with no frame, if idleMs > 0). Blocking. */
  sink(handle: number, durationMs: number, idleMs: number): SinkResult;
}

function findAddon(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/io or dist/io -> repository root
  const root = join(here, '..', '..');
  const candidates = [join(root, 'native', 'build', 'Release', 'switchyard.node')];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`switchyard native addon not built (looked for ${candidates.join(', ')}); run: npm run build`);
}

let addon: NativeAddon | undefined;

/** The addon, loaded on first use so that pure-TS tests never need it. */
export function native(): NativeAddon {
  if (!addon) addon = createRequire(import.meta.url)(findAddon()) as NativeAddon;
  return addon;
}
