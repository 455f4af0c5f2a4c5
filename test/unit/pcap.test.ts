// pcap.test.ts — the pcap writer and reader: byte-exact round trip, a hand-written
// microsecond big-endian fixture, truncation, and the stream splitter used by `capture -w`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PcapStreamSplitter, encodePcap, globalHeader, readPcap, record, PCAP_MAGIC_NS,
} from '../../src/io/pcap.ts';

const frame = (n: number, len: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (n * 31 + i) & 255);

test('global header: nanosecond magic, v2.4, snaplen 262144, Ethernet, little-endian', () => {
  assert.deepEqual([...globalHeader()], [
    0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0x00, 0x00, 0x04, 0x00, 1, 0, 0, 0,
  ]);
  assert.equal(globalHeader().readUInt32LE(0), PCAP_MAGIC_NS);
});

test('write records, read them back byte-exact', () => {
  const recs = [
    { timeNs: 1_700_000_000_123_456_789n, data: frame(1, 60) },
    { timeNs: 1_700_000_001_000_000_001n, data: frame(2, 1514) },
    { timeNs: 5n, data: frame(3, 0) },
  ];
  const file = encodePcap(recs);
  assert.equal(file.length, 24 + 3 * 16 + 60 + 1514);
  // the same bytes as header + record() one at a time
  assert.deepEqual(file, Buffer.concat([globalHeader(), ...recs.map((r) => record(r.data, r.timeNs))]));
  // first record header, by hand
  assert.deepEqual([...file.subarray(24, 40)], [
    ...le32(1_700_000_000), ...le32(123_456_789), ...le32(60), ...le32(60),
  ]);
  const { header, records } = readPcap(file);
  assert.equal(header.nanos, true);
  assert.equal(header.littleEndian, true);
  assert.equal(header.snaplen, 262144);
  assert.equal(header.linktype, 1);
  assert.equal(records.length, 3);
  records.forEach((r, i) => {
    assert.equal(r.timeNs, recs[i].timeNs);
    assert.equal(r.origLen, recs[i].data.length);
    assert.deepEqual(r.data, recs[i].data);
  });
  assert.deepEqual(encodePcap(records), file);
});

test('frames longer than snaplen are truncated, origLen kept', () => {
  const big = frame(4, 300);
  const file = encodePcap([{ timeNs: 0n, data: big }], { snaplen: 128 });
  const { header, records } = readPcap(file);
  assert.equal(header.snaplen, 128);
  assert.equal(records[0].data.length, 128);
  assert.equal(records[0].origLen, 300);
  assert.deepEqual(records[0].data, big.subarray(0, 128));
  const r = record(big, 0n, { snaplen: 100 });
  assert.equal(r.length, 116);
  assert.equal(r.readUInt32LE(8), 100);
  assert.equal(r.readUInt32LE(12), 300);
});

test('microsecond files, written and read', () => {
  const file = encodePcap([{ timeNs: 1_000_000_123_456_789n, data: frame(5, 42) }], { nanos: false });
  assert.equal(file.readUInt32LE(0), 0xa1b2c3d4);
  assert.equal(file.readUInt32LE(28), 123_456); // microseconds
  assert.equal(readPcap(file).records[0].timeNs, 1_000_000_123_456_000n);
});

test('reads a hand-written big-endian microsecond fixture', () => {
  // tcpdump on a big-endian host: magic a1b2c3d4 stored big-endian, v2.4, snaplen 65535, DLT_EN10MB
  const bytes = Uint8Array.from([
    0xa1, 0xb2, 0xc3, 0xd4, 0x00, 0x02, 0x00, 0x04, // magic, major 2, minor 4
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // thiszone, sigfigs
    0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, // snaplen 65535, linktype 1
    // record 1: ts 1.000002 s, 14 of 20 bytes captured
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x00, 0x14,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
    // record 2: ts 2.5 s, 2 bytes
    0x00, 0x00, 0x00, 0x02, 0x00, 0x07, 0xa1, 0x20,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02,
    0xab, 0xcd,
  ]);
  const { header, records } = readPcap(bytes);
  assert.deepEqual(header, {
    nanos: false, littleEndian: false, versionMajor: 2, versionMinor: 4, thiszone: 0, sigfigs: 0, snaplen: 65535, linktype: 1,
  });
  assert.equal(records.length, 2);
  assert.equal(records[0].timeNs, 1_000_002_000n);
  assert.equal(records[0].origLen, 20);
  assert.deepEqual([...records[0].data], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06]);
  assert.equal(records[1].timeNs, 2_500_000_000n);
  assert.deepEqual([...records[1].data], [0xab, 0xcd]);
});

test('reader rejects garbage, pcapng and truncation', () => {
  assert.throws(() => readPcap(new Uint8Array(10)), /too short/);
  assert.throws(() => readPcap(new Uint8Array(24)), /bad magic/);
  const ng = new Uint8Array(24);
  new DataView(ng.buffer).setUint32(0, 0x0a0d0d0a, true);
  assert.throws(() => readPcap(ng), /pcapng/);
  const file = encodePcap([{ timeNs: 1n, data: frame(6, 64) }]);
  assert.throws(() => readPcap(file.subarray(0, file.length - 1)), /truncated record at offset 24/);
  assert.throws(() => readPcap(file.subarray(0, 30)), /truncated record header/);
});

test('stream splitter passes only whole records, whatever the chunking', () => {
  const recs = [frame(7, 60), frame(8, 100), frame(9, 1), frame(10, 70)].map((data, i) => ({ timeNs: BigInt(i), data }));
  const file = encodePcap(recs);
  for (const step of [1, 3, 16, 17, 24, 100, file.length]) {
    const sp = new PcapStreamSplitter();
    const out: Buffer[] = [];
    for (let i = 0; i < file.length; i += step) {
      out.push(Buffer.from(sp.push(file.subarray(i, i + step))));
      // at every moment what was emitted is a readable file (once the header is out)
      const sofar = Buffer.concat(out);
      if (sofar.length >= 24) assert.equal(readPcap(sofar).records.length, sp.records);
    }
    assert.deepEqual(Buffer.concat(out), file, `step ${step}`);
    assert.equal(sp.records, 4);
    assert.equal(sp.pendingBytes, 0);
  }
  // a stream cut mid-record keeps the partial record back
  const sp = new PcapStreamSplitter();
  const emitted = sp.push(file.subarray(0, 24 + 16 + 60 + 10));
  assert.equal(emitted.length, 24 + 16 + 60);
  assert.equal(sp.pendingBytes, 10);
});

function le32(n: number): number[] {
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
}
