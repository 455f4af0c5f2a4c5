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

/** What generateTraffic() sends: templates, cycled, with per-flow fields varied and an optional stamp. */
export interface TrafficSpec {
  /**
   * Complete Ethernet frames without FCS, 60 bytes or more (at most what a TX ring frame and
   * the MTU allow, 65535 on a TAP); IPv4 (20-byte header, no VLAN tag) carrying UDP when
   * vary & 1 or stamp.
   */
  templates: Uint8Array[];
  /** Template indexes, cycled: packet i uses templates[order[i % order.length]]. Default: i % templates.length. */
  order?: Uint16Array;
  /** Number of flows (default 1); packet i belongs to flow f = i % flows. */
  flows?: number;
  /**
   * Bitmask of what varies per flow.
   * 1: IPv4 source = template source + (f % addresses) (a 32-bit add) and UDP source port =
   *    template port + floor(f / addresses) (mod 65536); IPv4 header checksum recomputed, UDP checksum 0.
   * 2: source MAC: its low 24 bits + f (mod 2^24).  4: destination MAC likewise.
   */
  vary?: number;
  /** Distinct source addresses with vary & 1 (default 1). */
  addresses?: number;
  /**
   * Write a 16-byte stamp at frame offset 42 (the UDP payload), big-endian: u32 magic
   * 0x53594231 ("SYB1"), u32 sequence (packet index i), u64 transmit time in CLOCK_REALTIME ns
   * (read once per burst, when the burst is handed to the kernel). Sets the UDP checksum to 0.
   */
  stamp?: boolean;
  /** Stop after this many packets (0/absent: no limit; then durationMs is required). */
  count?: number;
  /**
   * Packets per second (0/absent: as fast as possible). Paced runs send a burst every
   * max(100 us, 1/pps) and sleep in between (clock_nanosleep) instead of spinning. A late
   * burst catches up at most the last 10 ms of a stall; frames of a longer stall are not sent
   * (sent/ns shows it), so a stall never turns into a long flood.
   */
  pps?: number;
  /** Stop after this long (whichever of count and durationMs comes first). */
  durationMs?: number;
}

export interface GenerateTrafficResult {
  /** frames the kernel took (frames it left in the ring are taken back and not counted) */
  sent: number;
  /** sum of the lengths of those frames (no FCS) */
  bytes: number;
  /** CLOCK_MONOTONIC duration of the run; paced runs end at the end of their last period */
  ns: number;
}

export interface SinkTrafficOptions {
  durationMs: number;
  /** Return once this long passed with no stamped frame, after at least one arrived (0/absent: off). */
  idleMs?: number;
  /** How long to sleep when the RX ring is empty (default 1000 us; 0: ppoll, woken per frame). */
  napUs?: number;
  /** Collect transmit-to-receive latency of the latency samples (the first frame of each burst, magic "SYBL"). */
  latency?: boolean;
}

export interface LatencyStats {
  count: number;
  minNs: number;
  maxNs: number;
  sumNs: number;
  /**
   * LATENCY_BUCKETS (608) counts. Bucket of v ns: v < 16: v; else e = floor(log2 v),
   * m = (v >> (e - 4)) & 15, idx = min((e - 3) * 16 + m, 607); bucket idx >= 16 holds
   * [(16 + m) << (e - 4), (17 + m) << (e - 4)).
   */
  hist: Float64Array;
}

export interface SinkTrafficResult {
  /** every frame seen, and the sum of their tp_len */
  frames: number;
  bytes: number;
  /** frames carrying the generateTraffic() stamp (IPv4/UDP, magic at offset 42), and their bytes */
  stamped: number;
  stampedBytes: number;
  /** stamped frames whose sequence is lower than the highest seen before them */
  reordered: number;
  /** CLOCK_MONOTONIC arrival (kernel receive time) of the first and last stamped frame; ns = lastNs - firstNs */
  firstNs: number;
  lastNs: number;
  ns: number;
  /**
   * Receive time (the kernel's tpacket2 timestamp, CLOCK_REALTIME, taken when the frame reached
   * the socket: napping does not inflate it; a TAP uses the read time) minus the stamp.
   * null unless opts.latency.
   */
  latency: LatencyStats | null;
  /** samples that came out negative (a clock step) and were counted as 0 */
  latencyNegative: number;
}

/** Buckets of LatencyStats.hist. */
export const LATENCY_BUCKETS = 608;

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
  /**
   * Benchmark generator (native/src/traffic.c): builds each frame from spec into the TX
   * ring (or writes it to a TAP), no allocation per packet. Blocking. Throws TypeError for a bad
   * spec (template too short/long, stamp or vary & 1 on a non-IPv4/UDP template, order index
   * out of range, flows < 1, neither count nor durationMs).
   */
  generateTraffic(handle: number, spec: TrafficSpec): GenerateTrafficResult;
  /**
   * Benchmark sink: walks the RX ring, napping napUs when it is empty, counting frames,
   * stamped frames, reordering and (opts.latency) latency. Returns after durationMs, or after
   * idleMs without a stamped frame once one arrived. Blocking.
   */
  sinkTraffic(handle: number, opts: SinkTrafficOptions): SinkTrafficResult;
  /** The latency histogram bucket the C side puts ns into (for tests of the decoding). */
  latencyBucket(ns: number): number;
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
