// pcap.ts — the classic libpcap file format: a writer (capture, golden outputs) and a reader
// (tests, golden inputs). Off the fast path: plain Buffers, no pooling.
//
//   global header (24 bytes)                 record header (16 bytes) + incl_len bytes of frame
//   +-------------+-------+-------+          +---------+----------------+----------+----------+
//   | magic  u32  | major | minor |          | ts_sec  | ts_usec/ts_nsec| incl_len | orig_len |
//   | thiszone i32| sigfigs u32   |          +---------+----------------+----------+----------+
//   | snaplen u32 | linktype u32  |
//   +-------------+---------------+
//
// We write little-endian with the nanosecond magic 0xa1b23c4d (tcpdump, Wireshark and
// libpcap >= 1.5 read it), version 2.4, snaplen 262144, linktype 1 (Ethernet). The reader takes
// both the microsecond (0xa1b2c3d4) and nanosecond magics in either byte order.
// PcapStreamSplitter cuts a byte stream (a capture arriving over the control socket) at record
// boundaries, so a file closed at any moment holds only whole records and tcpdump reads it.

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAPNG_MAGIC = 0x0a0d0d0a;
export const PCAP_SNAPLEN = 262144;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_GLOBAL_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

export interface PcapHeader {
  /** true: ts fraction is nanoseconds (magic 0xa1b23c4d); false: microseconds */
  nanos: boolean;
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  thiszone: number;
  sigfigs: number;
  snaplen: number;
  linktype: number;
}

export interface PcapRecord {
  /** capture time in nanoseconds since the epoch (microsecond files: multiple of 1000) */
  timeNs: bigint;
  /** length of the frame on the wire (>= data.length when truncated to snaplen) */
  origLen: number;
  data: Uint8Array;
}

export interface PcapWriteOptions { nanos?: boolean; snaplen?: number; linktype?: number }

/** Writes the 24-byte global header at buf[off]; returns the bytes written. */
export function writeGlobalHeader(buf: Uint8Array, off: number, opts: PcapWriteOptions = {}): number {
  const dv = new DataView(buf.buffer, buf.byteOffset + off, PCAP_GLOBAL_HEADER_LEN);
  dv.setUint32(0, opts.nanos === false ? PCAP_MAGIC_US : PCAP_MAGIC_NS, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setInt32(8, 0, true);
  dv.setUint32(12, 0, true);
  dv.setUint32(16, opts.snaplen ?? PCAP_SNAPLEN, true);
  dv.setUint32(20, opts.linktype ?? LINKTYPE_ETHERNET, true);
  return PCAP_GLOBAL_HEADER_LEN;
}

export function globalHeader(opts: PcapWriteOptions = {}): Buffer {
  const b = Buffer.alloc(PCAP_GLOBAL_HEADER_LEN);
  writeGlobalHeader(b, 0, opts);
  return b;
}

/** Writes a 16-byte record header at buf[off]; returns the bytes written. */
export function writeRecordHeader(
  buf: Uint8Array, off: number, timeNs: bigint, inclLen: number, origLen: number, nanos = true,
): number {
  const dv = new DataView(buf.buffer, buf.byteOffset + off, PCAP_RECORD_HEADER_LEN);
  const sec = timeNs / 1_000_000_000n;
  const frac = timeNs % 1_000_000_000n;
  dv.setUint32(0, Number(sec & 0xffffffffn), true);
  dv.setUint32(4, Number(nanos ? frac : frac / 1000n), true);
  dv.setUint32(8, inclLen, true);
  dv.setUint32(12, origLen, true);
  return PCAP_RECORD_HEADER_LEN;
}

/** One record (header + frame, truncated to snaplen) as a new Buffer; copies the frame. */
export function record(frame: Uint8Array, timeNs: bigint, opts: PcapWriteOptions = {}): Buffer {
  const incl = Math.min(frame.length, opts.snaplen ?? PCAP_SNAPLEN);
  const b = Buffer.allocUnsafe(PCAP_RECORD_HEADER_LEN + incl);
  writeRecordHeader(b, 0, timeNs, incl, frame.length, opts.nanos !== false);
  b.set(frame.subarray(0, incl), PCAP_RECORD_HEADER_LEN);
  return b;
}

/** A whole file in memory. Records may carry origLen > data.length (already truncated frames). */
export function encodePcap(
  records: readonly { timeNs: bigint; data: Uint8Array; origLen?: number }[], opts: PcapWriteOptions = {},
): Buffer {
  const snaplen = opts.snaplen ?? PCAP_SNAPLEN;
  let size = PCAP_GLOBAL_HEADER_LEN;
  for (const r of records) size += PCAP_RECORD_HEADER_LEN + Math.min(r.data.length, snaplen);
  const b = Buffer.alloc(size);
  let off = writeGlobalHeader(b, 0, opts);
  for (const r of records) {
    const incl = Math.min(r.data.length, snaplen);
    off += writeRecordHeader(b, off, r.timeNs, incl, Math.max(r.origLen ?? r.data.length, incl), opts.nanos !== false);
    b.set(r.data.subarray(0, incl), off);
    off += incl;
  }
  return b;
}

/** Parses a global header; throws Error on anything that is not classic pcap. */
export function parseGlobalHeader(buf: Uint8Array): PcapHeader {
  if (buf.length < PCAP_GLOBAL_HEADER_LEN) throw new Error(`pcap: file too short for a global header (${buf.length} bytes)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, PCAP_GLOBAL_HEADER_LEN);
  const le = dv.getUint32(0, true);
  const be = dv.getUint32(0, false);
  let littleEndian: boolean;
  let nanos: boolean;
  if (le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) { littleEndian = true; nanos = le === PCAP_MAGIC_NS; }
  else if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS) { littleEndian = false; nanos = be === PCAP_MAGIC_NS; }
  else if (le === PCAPNG_MAGIC) throw new Error('pcap: this is a pcapng file; only classic pcap is supported');
  else throw new Error(`pcap: bad magic 0x${le.toString(16).padStart(8, '0')}`);
  return {
    nanos, littleEndian,
    versionMajor: dv.getUint16(4, littleEndian),
    versionMinor: dv.getUint16(6, littleEndian),
    thiszone: dv.getInt32(8, littleEndian),
    sigfigs: dv.getUint32(12, littleEndian),
    snaplen: dv.getUint32(16, littleEndian),
    linktype: dv.getUint32(20, littleEndian),
  };
}

/** Reads a whole file. Record data are views into `buf`. Throws on a truncated record. */
export function readPcap(buf: Uint8Array): { header: PcapHeader; records: PcapRecord[] } {
  const header = parseGlobalHeader(buf);
  const le = header.littleEndian;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: PcapRecord[] = [];
  let off = PCAP_GLOBAL_HEADER_LEN;
  while (off < buf.length) {
    if (off + PCAP_RECORD_HEADER_LEN > buf.length) {
      throw new Error(`pcap: truncated record header at offset ${off} (record ${records.length})`);
    }
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const incl = dv.getUint32(off + 8, le);
    const orig = dv.getUint32(off + 12, le);
    off += PCAP_RECORD_HEADER_LEN;
    if (off + incl > buf.length) {
      throw new Error(`pcap: truncated record at offset ${off - PCAP_RECORD_HEADER_LEN} (record ${records.length}: ${incl} bytes announced, ${buf.length - off} present)`);
    }
    records.push({
      timeNs: BigInt(sec) * 1_000_000_000n + BigInt(frac) * (header.nanos ? 1n : 1000n),
      origLen: orig,
      data: new Uint8Array(buf.buffer, buf.byteOffset + off, incl), // a plain view, even when buf is a Buffer
    });
    off += incl;
  }
  return { header, records };
}

/**
 * Cuts a pcap byte stream into whole units: first the global header, then one record at a
 * time. push() returns the complete bytes available so far (possibly empty) and keeps any
 * partial record for the next call.
 */
export class PcapStreamSplitter {
  #pending: Buffer = Buffer.alloc(0);
  #header: PcapHeader | null = null;
  /** records emitted so far */
  records = 0;

  get header(): PcapHeader | null { return this.#header; }

  push(chunk: Uint8Array): Buffer {
    const buf = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let off = 0;
    if (this.#header === null) {
      if (buf.length < PCAP_GLOBAL_HEADER_LEN) { this.#pending = Buffer.from(buf); return Buffer.alloc(0); }
      this.#header = parseGlobalHeader(buf);
      off = PCAP_GLOBAL_HEADER_LEN;
    }
    const le = this.#header.littleEndian;
    while (off + PCAP_RECORD_HEADER_LEN <= buf.length) {
      const incl = le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8);
      if (off + PCAP_RECORD_HEADER_LEN + incl > buf.length) break;
      off += PCAP_RECORD_HEADER_LEN + incl;
      this.records++;
    }
    this.#pending = Buffer.from(buf.subarray(off));
    return buf.subarray(0, off);
  }

  /** bytes held back because they do not complete a record yet */
  get pendingBytes(): number { return this.#pending.length; }
}
