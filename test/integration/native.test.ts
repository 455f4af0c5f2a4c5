// native.test.ts — the native addon against real kernel interfaces (root only).
//
// What it shows: frames cross AF_PACKET rings byte-exact in both directions (VLAN tags the
// kernel strips are put back, frames too big for a ring frame come through the copy path),
// a port never hears its own transmissions, a full TX ring is counted, and — the point of
// offload.c — GSO super-frames written into a vnet-hdr TAP (as QEMU does) come out as
// byte-exact segments (checked against an independent segmenter below), and real TCP (IPv4,
// IPv6) and UDP GSO survive a forwarding loop built on rx()/tx()/poll() with the veths'
// default offloads on. Plus generateTraffic()/sinkTraffic() on the rings, poll across a link
// flap, TAP life cycle, errors.
// (No 802.1Q TCP test: this kernel has no CONFIG_VLAN_8021Q; tagged GSO comes via the TAP.)
//
// Every interface and namespace carries a per-run prefix and is deleted in after(), also
// when a test fails. All addresses live only inside the namespaces this file creates.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native, type NativeAddon } from '../../src/io/native.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const P = `syn${process.pid % 10000}`;
const NS_A = `${P}A`, NS_B = `${P}B`;
const X0 = `${P}x0`, X1 = `${P}x1`; // a veth pair in the root namespace
const RA = `${P}ra`, RB = `${P}rb`; // root ends of the veths into A and B (their eth0)
const TAP = `${P}t`;
const VT = `${P}v`;
const PT = `${P}p`; // a persistent TAP made by ip tuntap // a vnet-hdr TAP held by a python writer, as QEMU holds one

const SLOTS = 1024, SLOT_SIZE = 2048, HEADROOM = 64, CAP = SLOT_SIZE - HEADROOM;
const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces, AF_PACKET)' : false;

let addon: NativeAddon;
let bytes: Uint8Array;
let start: Uint32Array;
let length: Uint16Array;
let dir = '';

function sh(cmd: string): string {
  return execFileSync('sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}
function trySh(cmd: string): void {
  try { sh(cmd); } catch { /* already gone */ }
}
/** Async shell: the event loop (and the forwarding loop driven by poll) keeps running. */
function run(cmd: string, timeout = 30000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', cmd], { timeout, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd}: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cleanup(): void {
  trySh(`ip netns del ${NS_A}`);
  trySh(`ip netns del ${NS_B}`);
  for (const i of [X0, RA, RB, TAP, VT, PT]) trySh(`ip link del ${i}`);
}

/** A veth end the root namespace must leave alone: no IPv6, no IPv4 forwarding. */
function quiet(ifname: string): void {
  sh(`sysctl -qw net.ipv6.conf.${ifname}.disable_ipv6=1 net.ipv4.conf.${ifname}.forwarding=0`);
}

// ---- frames (built here, independently of src/wire) ----

const SRC = [0x02, 0x53, 0x59, 0x00, 0x00, 0x0a];
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
function macBytes(text: string): number[] { return text.split(':').map((h) => parseInt(h, 16)); }

/** Ethernet frame of `len` bytes: dst, SRC, optional tags [tpid, tci]..., type 0x88b5, pattern. */
function frame(len: number, seq: number, tags: [number, number][] = [], dst = [255, 255, 255, 255, 255, 255]): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0);
  f.set(SRC, 6);
  let o = 12;
  for (const [tpid, tci] of tags) {
    f[o] = tpid >> 8; f[o + 1] = tpid & 255; f[o + 2] = tci >> 8; f[o + 3] = tci & 255;
    o += 4;
  }
  f[o] = 0x88; f[o + 1] = 0xb5;
  f[o + 2] = seq >> 8; f[o + 3] = seq & 255;
  for (let i = o + 4; i < len; i++) f[i] = (i * 7 + seq) & 255;
  return f;
}
const fromUs = (f: Uint8Array) => f[6] === SRC[0] && f[7] === SRC[1] && f[8] === SRC[2] && f[11] === SRC[5];

function put(slot: number, f: Uint8Array): void {
  const off = slot * SLOT_SIZE + HEADROOM;
  bytes.set(f, off);
  start[slot] = off;
  length[slot] = f.length;
}
function get(slot: number): Uint8Array {
  return bytes.slice(start[slot], start[slot] + length[slot]);
}

/** rx() on h for up to ms, returning copies of the frames that match keep. */
async function collect(h: number, want: number, ms: number, keep: (f: Uint8Array) => boolean = fromUs): Promise<Uint8Array[]> {
  const slots = Uint32Array.from({ length: 256 }, (_, i) => 512 + i);
  const out: Uint8Array[] = [];
  const until = Date.now() + ms;
  while (out.length < want && Date.now() < until) {
    const n = addon.rx(h, slots, slots.length);
    for (let i = 0; i < n; i++) {
      const f = get(slots[i]);
      if (keep(f)) out.push(f);
    }
    if (n === 0) await sleep(5);
  }
  return out;
}

// ---- GSO super-frames as a vhost/QEMU tap hands them to the kernel, and their segments ----

function be16(b: Uint8Array, o: number, v: number): void { b[o] = (v >>> 8) & 255; b[o + 1] = v & 255; }
function be32(b: Uint8Array, o: number, v: number): void { be16(b, o, v >>> 16); be16(b, o + 2, v & 0xffff); }
/** Ones' complement sum of big-endian 16-bit words of b[from, to), plus init, folded. */
function sum16(b: Uint8Array, from: number, to: number, init = 0): number {
  let s = init;
  for (let i = from; i < to; i += 2) s += (b[i] << 8) | (i + 1 < to ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

interface Super { frame: Uint8Array; l3: number; l4: number; hlen: number; v6: boolean; tcp: boolean }
const SEQ0 = 0xfffff000; // the segments' sequence numbers wrap

function pseudo(s: Super, f: Uint8Array, l4len: number): number {
  const proto = s.tcp ? 6 : 17;
  return s.v6 ? sum16(f, s.l3 + 8, s.l3 + 40, proto + l4len) : sum16(f, s.l3 + 12, s.l3 + 20, proto + l4len);
}

/** Ethernet (+ tags) + IPv4 or IPv6 + TCP (with 12 option bytes) or UDP + payload, in the
 * CHECKSUM_PARTIAL state: the L4 checksum field holds the folded pseudo-header sum. */
function superFrame(o: { tags?: [number, number][]; v6?: boolean; tcp?: boolean; payload: number; seed: number }): Super {
  const tags = o.tags ?? [], v6 = !!o.v6, tcp = !!o.tcp;
  const l3 = 14 + 4 * tags.length, l4 = l3 + (v6 ? 40 : 20), hlen = l4 + (tcp ? 32 : 8);
  const f = new Uint8Array(hlen + o.payload);
  f.set([0x02, 0x53, 0x59, 0, 0, 0x0b], 0);
  f.set(SRC, 6);
  let p = 12;
  for (const [tpid, tci] of tags) { be16(f, p, tpid); be16(f, p + 2, tci); p += 4; }
  be16(f, p, v6 ? 0x86dd : 0x0800);
  if (v6) {
    f[l3] = 0x60;
    be16(f, l3 + 4, f.length - l3 - 40);
    f[l3 + 6] = tcp ? 6 : 17;
    f[l3 + 7] = 64;
    f.set([0xfd, 0x53, 0x59, 0x59, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], l3 + 8);
    f.set([0xfd, 0x53, 0x59, 0x59, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], l3 + 24);
  } else {
    f[l3] = 0x45;
    be16(f, l3 + 2, f.length - l3);
    be16(f, l3 + 4, 0xfffe); // the ids wrap too
    be16(f, l3 + 6, 0x4000);
    f[l3 + 8] = 64;
    f[l3 + 9] = tcp ? 6 : 17;
    f.set([10, 213, 9, 1, 10, 213, 9, 2], l3 + 12);
    be16(f, l3 + 10, ~sum16(f, l3, l3 + 20) & 0xffff);
  }
  be16(f, l4, 40000);
  be16(f, l4 + 2, 9999);
  if (tcp) {
    be32(f, l4 + 4, SEQ0);
    be32(f, l4 + 8, 1);
    f[l4 + 12] = 8 << 4;
    f[l4 + 13] = 0x80 | 0x10 | 0x08 | 0x01; // CWR ACK PSH FIN
    be16(f, l4 + 14, 0xffff);
    f.set([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2], l4 + 20); // NOP NOP timestamps
  } else {
    be16(f, l4 + 4, f.length - l4);
  }
  for (let i = hlen; i < f.length; i++) f[i] = (i * 13 + o.seed) & 255;
  const s: Super = { frame: f, l3, l4, hlen, v6, tcp };
  be16(f, l4 + (tcp ? 16 : 6), pseudo(s, f, f.length - l4));
  return s;
}

/** What the super-frame must become: mss-sized segments, each a frame of its own. */
function segmentsOf(s: Super, mss: number): Uint8Array[] {
  const { frame: f, l3, l4, hlen } = s;
  const total = f.length - hlen, n = Math.max(1, Math.ceil(total / mss)), out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const len = Math.min(mss, total - i * mss);
    const g = new Uint8Array(hlen + len);
    g.set(f.subarray(0, hlen));
    g.set(f.subarray(hlen + i * mss, hlen + i * mss + len), hlen);
    if (s.v6) be16(g, l3 + 4, g.length - l3 - 40);
    else {
      be16(g, l3 + 2, g.length - l3);
      be16(g, l3 + 4, (0xfffe + i) & 0xffff);
      be16(g, l3 + 10, 0);
      be16(g, l3 + 10, ~sum16(g, l3, l3 + 20) & 0xffff);
    }
    const ck = l4 + (s.tcp ? 16 : 6);
    if (s.tcp) {
      be32(g, l4 + 4, (SEQ0 + i * mss) >>> 0);
      if (i < n - 1) g[l4 + 13] &= ~0x09;
      if (i > 0) g[l4 + 13] &= ~0x80;
    } else {
      be16(g, l4 + 4, g.length - l4);
    }
    be16(g, ck, 0);
    be16(g, ck, (~sum16(g, l4, g.length, pseudo(s, g, g.length - l4)) & 0xffff) || 0xffff);
    out.push(g);
  }
  return out;
}

/** The frame with its L4 checksum completed, as hardware would. */
function completed(s: Super): Uint8Array {
  const g = s.frame.slice(), ck = s.l4 + (s.tcp ? 16 : 6);
  be16(g, ck, (~sum16(g, s.l4, g.length) & 0xffff) || 0xffff);
  return g;
}

/** struct virtio_net_hdr (little-endian): NEEDS_CSUM, gso type and size, csum start/offset. */
function vnet(s: Super, gsoType: number, mss: number): string {
  const h = Buffer.alloc(10);
  h[0] = 1;
  h[1] = gsoType;
  h.writeUInt16LE(s.hlen, 2);
  h.writeUInt16LE(gsoType ? mss : 0, 4);
  h.writeUInt16LE(s.l4, 6);
  h.writeUInt16LE(s.tcp ? 16 : 6, 8);
  return h.toString('hex') + hex(s.frame);
}
const GSO_TCPV4 = 1, GSO_TCPV6 = 4, GSO_UDP_L4 = 5;

// Creates TAP argv[1] with IFF_VNET_HDR (what QEMU does), then writes each hex frame of each
// stdin line (virtio_net_hdr + frame) into it, answering "ok" or "err ERRNO" per frame.
const TAP_WRITER = `
import fcntl, os, struct, sys
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', sys.argv[1].encode(), 0x0002 | 0x1000 | 0x4000))
print('ready', flush=True)
for line in sys.stdin:
    for h in line.split():
        try:
            os.write(fd, bytes.fromhex(h)); print('ok', flush=True)
        except OSError as e:
            print('err', e.errno, flush=True)
`;

const afp = (ifname: string, extra: Partial<{ rxFrames: number; txFrames: number }> = {}) =>
  addon.openAfPacket(ifname, { promiscuous: true, qdiscBypass: true, ...extra });

describe('native addon', { skip }, () => {
  before(() => {
    cleanup();
    process.once('SIGINT', () => { cleanup(); process.exit(130); });
    process.once('SIGTERM', () => { cleanup(); process.exit(143); });
    addon = native();
    const buffer = new ArrayBuffer(SLOTS * SLOT_SIZE);
    bytes = new Uint8Array(buffer);
    start = new Uint32Array(SLOTS);
    length = new Uint16Array(SLOTS);
    addon.attachPool(buffer, SLOT_SIZE, HEADROOM, start, length);

    sh(`ip link add ${X0} type veth peer name ${X1}`);
    for (const i of [X0, X1]) { quiet(i); sh(`ip link set ${i} up`); }
    for (const [ns, r, x] of [[NS_A, RA, '1'], [NS_B, RB, '2']] as const) {
      sh(`ip netns add ${ns}`);
      sh(`ip link add ${r} type veth peer name eth0 netns ${ns}`);
      quiet(r);
      sh(`ip link set ${r} up`);
      sh(`ip -n ${ns} link set lo up && ip -n ${ns} link set eth0 up`);
      sh(`ip -n ${ns} addr add 10.213.1.${x}/24 dev eth0`);
      sh(`ip -n ${ns} addr add fd53:5959::${x}/64 dev eth0 nodad`);
    }
    dir = mkdtempSync(join(tmpdir(), 'syn-native-'));
  });

  after(() => {
    cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('errors name the interface and errno text; linkInfo reads the link', () => {
    assert.throws(() => addon.openAfPacket('nonexistent0', { promiscuous: false, qdiscBypass: false }),
      /^Error: afpacket nonexistent0: No such device$/);
    assert.throws(() => addon.linkInfo('nonexistent0'), /^Error: link nonexistent0: No such device$/);
    assert.throws(() => addon.openTap(X0), new RegExp(`^Error: tap ${X0}: Invalid argument$`));
    try {
      addon.openAfPacket('nonexistent0', { promiscuous: false, qdiscBypass: false });
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'ENODEV');
    }
    const li = addon.linkInfo(X0);
    assert.equal(li.mac, readFileSync(`/sys/class/net/${X0}/address`, 'utf8').trim());
    assert.equal(li.ifindex, Number(readFileSync(`/sys/class/net/${X0}/ifindex`, 'utf8')));
    assert.equal(li.mtu, 1500);
    assert.equal(li.up, true);
    assert.throws(() => afp(X0, { rxFrames: 1000 }), RangeError);
  });

  test('tx() bursts arrive byte-exact on the peer; a port never hears its own transmissions', async () => {
    const p0 = afp(X0), p1 = afp(X1);
    try {
      const sent: Uint8Array[] = [];
      const slots = new Uint32Array(64);
      for (let i = 0; i < 64; i++) {
        const f = frame(60 + ((i * 97) % 1455), i);
        sent.push(f);
        put(i, f);
        slots[i] = i;
      }
      assert.equal(addon.tx(p0, slots, 64), 64);
      const got = await collect(p1, 64, 2000);
      assert.equal(got.length, 64);
      for (let i = 0; i < 64; i++) assert.equal(hex(got[i]), hex(sent[i]), `frame ${i}`);

      const one = frame(100, 999);
      assert.equal(addon.send(p0, one), 100);
      const viaSend = await collect(p1, 1, 2000);
      assert.deepEqual(viaSend.map(hex), [hex(one)]);

      assert.deepEqual(await collect(p0, 1, 200), [], 'x0 heard its own transmissions');
      const promisc = (i: string) => (Number(readFileSync(`/sys/class/net/${i}/flags`, 'utf8')) & 0x100) !== 0;
      assert.equal(promisc(X0), true);
      const s0 = addon.stats(p0), s1 = addon.stats(p1);
      assert.equal(s0.txFrames, 65);
      assert.equal(s0.txErrors, 0);
      assert.ok(s1.rxFrames >= 65);
      addon.close(p0);
      addon.close(p1);
      assert.equal(promisc(X0), false, 'closing the port drops PACKET_MR_PROMISC');
    } finally {
      addon.close(p0);
      addon.close(p1);
    }
  });

  test('a full TX ring and frames too large are counted, not sent', async () => {
    const p0 = afp(X0, { txFrames: 16 }), p1 = afp(X1);
    try {
      const slots = Uint32Array.from({ length: 64 }, (_, i) => i);
      for (let i = 0; i < 64; i++) put(i, frame(200, i));
      assert.equal(addon.tx(p0, slots, 64), 16, 'one burst fills the 16-frame ring before the kick');
      assert.equal(addon.stats(p0).txRingFull, 48);
      assert.equal((await collect(p1, 16, 2000)).length, 16);

      // MTU 1500: 1514 is the largest untagged frame, 1518 with an 802.1Q tag.
      put(0, frame(1600, 1));
      put(1, frame(1515, 2));
      put(2, frame(1518, 3, [[0x8100, 0x0007]]));
      put(3, frame(1514, 4));
      assert.equal(addon.tx(p0, slots, 4), 4);
      assert.equal(addon.stats(p0).txErrors, 2);
      assert.deepEqual((await collect(p1, 2, 2000)).map(hex), [hex(frame(1518, 3, [[0x8100, 0x0007]])), hex(frame(1514, 4))]);
      assert.throws(() => addon.send(p0, frame(1600, 2)), new RegExp(`^Error: afpacket ${X0}: Message too long$`));
      assert.throws(() => addon.send(p0, new Uint8Array(10)), new RegExp(`^Error: afpacket ${X0}: Invalid argument$`));
      assert.deepEqual(await collect(p1, 1, 200), []);
    } finally {
      addon.close(p0);
      addon.close(p1);
    }
  });

  test('frames sent inside a namespace arrive byte-exact: VLAN tags back in place, copy path, oversize dropped', async () => {
    sh(`ip link set ${RA} mtu 9000 && ip -n ${NS_A} link set eth0 mtu 9000`);
    const h = afp(RA);
    try {
      const frames = [
        frame(60, 1),
        frame(1514, 2),
        frame(64, 3, [[0x8100, 0x6064]]),                    // 802.1Q, PCP 3, VID 100
        frame(68, 4, [[0x88a8, 0x00c8], [0x8100, 0x0064]]), // 802.1ad outer + 802.1Q inner
        frame(64, 5, [[0x8100, 0xa000]]),                    // priority tag, VID 0
        frame(CAP, 6),                                       // larger than a ring frame: copy path
        frame(CAP, 7, [[0x8100, 0x0123]]),                   // copy path, tag from PACKET_AUXDATA
        frame(4000, 8),                                      // larger than a slot: dropped
        frame(14, 9),                                        // a bare header
      ];
      const out = sh(`ip netns exec ${NS_A} node --import tsx ${ROOT}/test/helpers/native-inject.ts eth0 ` +
        `${frames.map(hex).join(' ')} 0011223344`).trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(out.slice(0, frames.length), frames.map((f) => ({ sent: f.length })));
      assert.match(out[frames.length].error, /^afpacket eth0: Invalid argument$/);

      const expect = frames.filter((f) => f.length <= CAP);
      const got = await collect(h, expect.length, 3000);
      assert.deepEqual(got.map(hex), expect.map(hex));
      const st = addon.stats(h);
      assert.equal(st.rxOversize, 1);
      assert.equal(st.rxErrors, 0);
    } finally {
      addon.close(h);
      sh(`ip link set ${RA} mtu 1500 && ip -n ${NS_A} link set eth0 mtu 1500`);
    }
  });

  test('GSO super-frames from a vnet-hdr TAP: segmented byte-exact (802.1Q, QinQ, IPv6, UDP_L4), checksums completed, never split', async () => {
    const writer = spawn('python3', ['-c', TAP_WRITER, VT], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let buffered = '';
    writer.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      lines.push(...parts);
    });
    const waitLines = async (k: number) => {
      for (let i = 0; i < 400 && lines.length < k; i++) await sleep(5);
      assert.ok(lines.length >= k, `tap writer answered ${lines.length} of ${k}`);
    };
    let h = -1;
    try {
      await waitLines(1);
      assert.equal(lines.shift(), 'ready');
      quiet(VT);
      sh(`ip link set ${VT} up`);
      h = afp(VT);
      const write = async (frames: string[]) => {
        writer.stdin!.write(frames.join(' ') + '\n');
        await waitLines(frames.length);
        assert.deepEqual(lines.splice(0, frames.length), frames.map(() => 'ok'));
      };

      const a = superFrame({ tags: [[0x8100, 0x2064]], tcp: true, payload: 1100, seed: 1 }); // fits a ring frame
      const b = superFrame({ v6: true, tcp: true, payload: 5000, seed: 2 });                 // copy path
      const c = superFrame({ tags: [[0x88a8, 0x00c8], [0x8100, 0x0064]], payload: 3000, seed: 3 });
      const d = superFrame({ tcp: true, payload: 300, seed: 4 });                            // not GSO: checksum only
      const e = superFrame({ tags: [[0x8100, 0x0005]], v6: true, payload: 201, seed: 5 });   // odd length UDP
      await write([vnet(a, GSO_TCPV4, 400), vnet(b, GSO_TCPV6, 1400), vnet(c, GSO_UDP_L4, 1000), vnet(d, 0, 0), vnet(e, 0, 0)]);
      const expect = [...segmentsOf(a, 400), ...segmentsOf(b, 1400), ...segmentsOf(c, 1000), completed(d), completed(e)];
      const got = await collect(h, expect.length, 3000);
      assert.equal(got.length, expect.length);
      for (let i = 0; i < expect.length; i++) assert.equal(hex(got[i]), hex(expect[i]), `frame ${i}`);
      let st = addon.stats(h);
      assert.equal(st.rxGsoFrames, 3);
      assert.equal(st.rxGsoSegments, 3 + 4 + 3);
      assert.equal(st.rxCsumCompleted, 2);
      assert.equal(st.rxGsoErrors, 0);

      // A super-frame is never split across rx() calls: it waits (in the ring, or in the
      // pending buffer for the copy path) until a call has room for all its segments, and
      // one that could never fit in n slots is dropped.
      const f = superFrame({ tcp: true, payload: 1200, seed: 6 });  // 3 segments, ring
      const g = superFrame({ tcp: true, payload: 3000, seed: 7 });  // 3 segments, copy path
      const k = superFrame({ tcp: true, payload: 3000, seed: 8 });  // 3 segments, copy path
      const plain = (x: Uint8Array) => '00'.repeat(10) + hex(x); // an all-zero virtio_net_hdr
      await write([plain(frame(60, 1)), vnet(f, GSO_TCPV4, 400), plain(frame(60, 2)), vnet(g, GSO_TCPV4, 1000),
        vnet(k, GSO_TCPV4, 1000)]);
      await sleep(200);
      const three = Uint32Array.of(700, 701, 702);
      const take = (n: number) => {
        const m = addon.rx(h, three, n);
        return Array.from({ length: m }, (_, i) => hex(get(three[i])));
      };
      assert.deepEqual(take(3), [hex(frame(60, 1))]);
      assert.deepEqual(take(3), segmentsOf(f, 400).map(hex));
      assert.deepEqual(take(3), [hex(frame(60, 2))]);
      assert.deepEqual(take(3), segmentsOf(g, 1000).map(hex));
      assert.deepEqual(take(2), [], 'three segments never fit in two slots');
      assert.deepEqual(take(3), []);
      st = addon.stats(h);
      assert.equal(st.rxGsoErrors, 1);
      assert.equal(st.rxGsoFrames, 5);
    } finally {
      if (h >= 0) addon.close(h);
      writer.kill();
    }
  });

  test('TCP and UDP GSO across a poll-driven rx/tx loop, default offloads (IPv4, IPv6)', async () => {
    const ha = afp(RA), hb = afp(RB);
    const servers: ChildProcess[] = [];
    try {
      // The switch: everything from A goes to B and back, one burst per readiness callback.
      const forward = (from: number, to: number, base: number) => {
        const slots = Uint32Array.from({ length: 256 }, (_, i) => base + i);
        return () => {
          for (let k = 0; k < 8; k++) {
            const n = addon.rx(from, slots, 256);
            if (n === 0) break;
            addon.tx(to, slots, n);
          }
        };
      };
      addon.poll(ha, forward(ha, hb, 0));
      addon.poll(hb, forward(hb, ha, 256));

      const file = join(dir, 'blob');
      const blob = randomBytes(6 * 1024 * 1024);
      writeFileSync(file, blob);
      const sha = createHash('sha256').update(blob).digest('hex');
      for (const ns of [NS_A, NS_B]) {
        const s = spawn('ip', ['netns', 'exec', ns, 'python3', '-m', 'http.server', '8080', '--bind', '::', '--directory', dir],
          { stdio: 'ignore' });
        servers.push(s);
      }
      const out = join(dir, 'fetched');
      const fetch = async (ns: string, url: string) => {
        for (let i = 0; ; i++) {
          try {
            rmSync(out, { force: true });
            await run(`ip netns exec ${ns} curl -sSf -m 20 -g -o ${out} '${url}'`);
            return createHash('sha256').update(readFileSync(out)).digest('hex');
          } catch (e) {
            if (i >= 30) throw e;
            await sleep(200); // the server may not listen yet
          }
        }
      };
      assert.equal(await fetch(NS_A, 'http://10.213.1.2:8080/blob'), sha, 'IPv4, B to A');
      assert.equal(await fetch(NS_B, 'http://10.213.1.1:8080/blob'), sha, 'IPv4, A to B');
      assert.equal(await fetch(NS_A, 'http://[fd53:5959::2]:8080/blob'), sha, 'IPv6, B to A');
      assert.equal(await fetch(NS_B, 'http://[fd53:5959::1]:8080/blob'), sha, 'IPv6, A to B');

      // UDP GSO (UDP_SEGMENT): one 24000-byte send leaves A as 24 datagrams of 1000 bytes.
      const gsoBefore = addon.stats(ha).rxGsoFrames;
      const receiver = spawn('ip', ['netns', 'exec', NS_B, 'python3', '-c', `
import socket, hashlib
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.213.1.2', 9999)); s.settimeout(5)
print('ready', flush=True)
h = hashlib.sha256(); n = 0
try:
    while n < 24:
        d = s.recv(65536); h.update(d); n += 1
except socket.timeout: pass
print(n, h.hexdigest(), flush=True)`], { stdio: ['ignore', 'pipe', 'inherit'] });
      servers.push(receiver);
      let said = '';
      receiver.stdout!.on('data', (d: Buffer) => { said += d.toString(); });
      for (let i = 0; i < 1000 && !said.includes('ready'); i++) await sleep(10);
      await run(`ip netns exec ${NS_A} python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_UDP, 103, 1000)
s.sendto(bytes(i * 7 % 251 for i in range(24000)), ('10.213.1.2', 9999))"`);
      for (let i = 0; i < 1000 && said.split('\n').length < 3; i++) await sleep(10);
      const want = createHash('sha256').update(Uint8Array.from({ length: 24000 }, (_, i) => (i * 7) % 251)).digest('hex');
      assert.equal(said.split('\n')[1], `24 ${want}`);

      const sa = addon.stats(ha), sb = addon.stats(hb);
      assert.ok(sa.rxGsoFrames > gsoBefore, 'the UDP send reached us as one GSO frame');
      assert.ok(sa.rxGsoFrames > 0 && sb.rxGsoFrames > 0, 'GSO frames were segmented in both directions');
      assert.ok(sa.rxGsoSegments > sa.rxGsoFrames && sb.rxGsoSegments > sb.rxGsoFrames);
      assert.equal(sa.rxGsoErrors + sb.rxGsoErrors, 0);
      assert.ok(sa.rxCsumCompleted + sb.rxCsumCompleted > 0, 'CHECKSUM_PARTIAL frames were completed');
    } finally {
      for (const s of servers) s.kill();
      addon.close(ha);
      addon.close(hb);
    }
  });

  test('generateTraffic() and sinkTraffic(): counts of what the kernel took and delivered, paced when asked', () => {
    const p0 = afp(X0), p1 = afp(X1);
    try {
      // Unstamped frames: sinkTraffic's idleMs counts only stamped ones, so each sink runs its
      // whole durationMs. The veth delivers inside the generator's kick, so by then the
      // 4096-frame RX ring already holds every frame.
      const templates = [frame(60, 1), frame(1000, 2), frame(300, 3)];
      const g = addon.generateTraffic(p0, { templates, count: 3000 });
      assert.equal(g.sent, 3000);
      assert.equal(g.bytes, 1000 * (60 + 1000 + 300));
      assert.ok(g.ns > 0);
      const s = addon.sinkTraffic(p1, { durationMs: 200 });
      assert.equal(s.frames, 3000);
      assert.equal(s.bytes, 1000 * (60 + 1000 + 300));
      assert.equal(s.stamped, 0);
      assert.deepEqual([addon.stats(p0).txFrames, addon.stats(p0).txBytes], [3000, 1000 * 1360]);

      const paced = addon.generateTraffic(p0, { templates: [frame(60, 4)], count: 250, pps: 5000 }); // 50 ms
      assert.equal(paced.sent, 250);
      assert.ok(paced.ns >= 45e6 && paced.ns < 1e9, `250 frames at 5000 pps took ${paced.ns} ns`);
      assert.equal(addon.sinkTraffic(p1, { durationMs: 200 }).frames, 250);
      // A frame over the MTU is refused up front, before anything is sent.
      assert.throws(() => addon.generateTraffic(p0, { templates: [frame(1600, 5)], count: 1 }),
        new RegExp(`^TypeError: generateTraffic: templates\\[0\\] is 1600 bytes, longer than the MTU of ${X0} \\(1500\\) allows$`));
      assert.equal(addon.stats(p0).txFrames, 3250);
    } finally {
      addon.close(p0);
      addon.close(p1);
    }
  });

  test('poll calls back on arrival, sleeps when idle, stops on null and on close', async () => {
    const p0 = afp(X0), p1 = afp(X1);
    try {
      let calls = 0;
      const slots = Uint32Array.from({ length: 256 }, (_, i) => 512 + i);
      addon.poll(p1, () => { calls++; addon.rx(p1, slots, 256); });
      const cpu0 = process.cpuUsage();
      await sleep(300);
      const cpu = process.cpuUsage(cpu0);
      assert.ok(cpu.user + cpu.system < 60_000, `idle poll used ${cpu.user + cpu.system} us of CPU in 300 ms`);
      addon.send(p0, frame(60, 1));
      for (let i = 0; i < 100 && calls === 0; i++) await sleep(5);
      assert.ok(calls >= 1, 'the callback ran');
      addon.poll(p1, null);
      const before = calls;
      addon.send(p0, frame(60, 2));
      await sleep(100);
      assert.equal(calls, before, 'no callback after poll(h, null)');

      // Down and up again: the socket reports ENETDOWN (POLLERR, which stops a uv_poll);
      // the addon clears it, counts an rxError and keeps polling.
      let after = 0;
      addon.poll(p1, () => { after++; addon.rx(p1, slots, 256); });
      sh(`ip link set ${X1} down`);
      await sleep(50);
      sh(`ip link set ${X1} up`);
      for (let i = 0; i < 100 && after === 0; i++) {
        try { addon.send(p0, frame(60, 10 + i)); } catch { /* no carrier yet */ }
        await sleep(20);
      }
      assert.ok(after >= 1, 'callbacks resume after the interface came back');
      assert.ok(addon.stats(p1).rxErrors >= 1);

      addon.poll(p1, () => { addon.close(p1); }); // closing from inside the callback is fine
      addon.send(p0, frame(60, 3));
      await sleep(100);
      assert.throws(() => addon.stats(p1), /closed port/);
    } finally {
      addon.close(p0);
      addon.close(p1);
    }
  });

  test('TAP: created while open, gone after close; kernel frames come out of rx(), tx() frames go in', async () => {
    const t = addon.openTap(TAP);
    let closed = false;
    try {
      assert.equal(t.created, true);
      const li = addon.linkInfo(TAP);
      assert.equal(li.up, true);
      assert.throws(() => addon.openTap(TAP), new RegExp(`^Error: tap ${TAP}: Device or resource busy$`));
      // Give the kernel side an address inside namespace A (the fd keeps working).
      sh(`ip link set ${TAP} netns ${NS_A}`);
      sh(`ip -n ${NS_A} addr add 10.213.3.1/24 dev ${TAP} && ip -n ${NS_A} link set ${TAP} up`);
      const tapMac = macBytes(sh(`ip netns exec ${NS_A} cat /sys/class/net/${TAP}/address`).trim());

      const ping = run(`ip netns exec ${NS_A} ping -c 2 -i 0.2 -W 1 10.213.3.2`).catch(() => 'no reply, as expected');
      const isArp = (op: number) => (f: Uint8Array) => f[12] === 0x08 && f[13] === 0x06 && f[21] === op;
      const req = await collect(t.handle, 1, 3000, isArp(1));
      await ping;
      assert.equal(req.length, 1, 'an ARP request for the neighbour came out of rx()');
      assert.deepEqual([...req[0].subarray(6, 12)], tapMac);
      assert.deepEqual([...req[0].subarray(38, 42)], [10, 213, 3, 2]);

      // Answer the other way round: ask the kernel who has 10.213.3.1, from 10.213.3.2.
      const arp = new Uint8Array(42);
      arp.set([255, 255, 255, 255, 255, 255, ...SRC, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1, ...SRC, 10, 213, 3, 2,
        0, 0, 0, 0, 0, 0, 10, 213, 3, 1]);
      put(0, arp);
      assert.equal(addon.tx(t.handle, Uint32Array.of(0), 1), 1);
      const reply = await collect(t.handle, 1, 3000, (f) => isArp(2)(f) && f[0] === SRC[0] && f[5] === SRC[5]);
      assert.equal(reply.length, 1, 'the kernel answered the ARP request sent with tx()');
      assert.deepEqual([...reply[0].subarray(28, 32)], [10, 213, 3, 1]);
      const st = addon.stats(t.handle);
      assert.ok(st.rxFrames >= 2 && st.txFrames === 1 && st.txErrors === 0);

      addon.close(t.handle);
      closed = true;
      assert.throws(() => sh(`ip -n ${NS_A} link show ${TAP}`));
      assert.throws(() => addon.linkInfo(TAP), /No such device/);
    } finally {
      if (!closed) addon.close(t.handle);
    }
  });

  test('TAP: an existing persistent TAP is attached to, not created, and stays after close', () => {
    sh(`ip tuntap add mode tap ${PT}`);
    const t = addon.openTap(PT);
    try {
      assert.equal(t.created, false);
      assert.equal(addon.linkInfo(PT).up, true);
    } finally {
      addon.close(t.handle);
    }
    assert.equal(addon.linkInfo(PT).ifindex > 0, true);
    sh(`ip link del ${PT}`);
  });
});
