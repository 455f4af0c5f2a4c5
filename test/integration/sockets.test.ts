// QEMU's unprivileged socket netdevs as ports (issue 5): a `stream` port (4-byte big-endian
// length, then the frame) and a `dgram` port (a frame per datagram) in a bridged network with
// veth namespaces. Peers speak QEMU's framing from this test (a Node stream client, a Python
// datagram socket), then real QEMU guests (test/guest/) boot with -netdev stream/dgram.
// Last, SIGHUP: ports added and removed from the file while a ping between two untouched
// ports keeps flowing and their fdb entries and counters stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdtempSync, existsSync, rmSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Topology, ping, run, waitFor } from '../helpers/netns.ts';
import { arpReply, arpWhoHas, icmpEcho, ipFrame } from '../helpers/frames.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'switchyard.js');

const VM_S = '52:54:00:77:00:10';
const VM_D = '52:54:00:77:00:11';

/** The client side of QEMU's -netdev stream: length-prefixed frames over a unix socket. */
class StreamPeer {
  readonly frames: Buffer[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private readonly sock: net.Socket;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readUInt32BE(0)) {
        const len = this.buf.readUInt32BE(0);
        this.frames.push(this.buf.subarray(4, 4 + len));
        this.buf = this.buf.subarray(4 + len);
      }
    });
    sock.on('close', () => { this.closed = true; });
    sock.on('error', () => { /* close follows */ });
  }

  static connect(path: string): Promise<StreamPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect(path);
      s.once('connect', () => resolve(new StreamPeer(s)));
      s.once('error', reject);
    });
  }

  send(frame: Uint8Array): void {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(frame.length);
    this.sock.write(Buffer.concat([h, frame]));
  }

  raw(bytes: number[]): void { this.sock.write(Buffer.from(bytes)); }
  pause(): void { this.sock.pause(); }
  resume(): void { this.sock.resume(); }
  end(): void { this.sock.destroy(); }
}

/** The other side of QEMU's -netdev dgram: a Python unix datagram socket bound at `local`, sending to `remote`. */
class DgramPeer {
  readonly frames: Buffer[] = [];
  private readonly proc: ChildProcess;
  private constructor(proc: ChildProcess) {
    this.proc = proc;
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === 'ready') this.ready?.();
        else this.frames.push(Buffer.from(line, 'hex'));
      }
    });
  }
  private ready?: () => void;

  static async start(local: string, remote: string): Promise<DgramPeer> {
    const script = [
      'import socket, sys, os, select',
      'local, remote = sys.argv[1], sys.argv[2]',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
      's.bind(local)',
      'print("ready", flush=True)',
      'while True:',
      '    r, _, _ = select.select([s, sys.stdin], [], [])',
      '    if s in r:',
      '        print(s.recv(70000).hex(), flush=True)',
      '    if sys.stdin in r:',
      '        line = sys.stdin.readline()',
      '        if not line: break',
      '        s.sendto(bytes.fromhex(line.strip()), remote)',
    ].join('\n');
    const proc = spawn('python3', ['-u', '-c', script, local, remote], { stdio: ['pipe', 'pipe', 'inherit'] });
    const peer = new DgramPeer(proc);
    await new Promise<void>((resolve) => { peer.ready = resolve; });
    return peer;
  }

  send(frame: Uint8Array): void { this.proc.stdin!.write(Buffer.from(frame).toString('hex') + '\n'); }
  stop(): void { this.proc.kill('SIGKILL'); }
}

const ARP = 0x0806, IP4 = 0x0800;
const etherType = (f: Buffer): number => f.readUInt16BE(12);
const dstMac = (f: Buffer): string => [...f.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
const ipText = (f: Buffer, at: number): string => [...f.subarray(at, at + 4)].join('.');

/** Wait for (and take) the first frame in `frames` that `pred` accepts. */
async function expectFrame(frames: Buffer[], what: string, pred: (f: Buffer) => boolean, timeoutMs = 5000): Promise<Buffer> {
  return waitFor(what, () => {
    const i = frames.findIndex((f) => f.length >= 14 && pred(f));
    return i >= 0 ? frames.splice(i, 1)[0] : undefined;
  }, timeoutMs, 20);
}

/** ARP "who has target" from (mac, ip), then an ICMP echo to target: both answers come back to mac. */
async function arpAndEcho(send: (f: Uint8Array) => void, frames: Buffer[], mac: string, ip: string, target: string, targetMac: string, id: number): Promise<void> {
  send(arpWhoHas(mac, ip, target));
  const reply = await expectFrame(frames, `ARP reply from ${target}`, (f) => etherType(f) === ARP && f.readUInt16BE(20) === 2 && ipText(f, 28) === target);
  assert.equal(dstMac(reply), mac);
  assert.equal([...reply.subarray(22, 28)].map((b) => b.toString(16).padStart(2, '0')).join(':'), targetMac);
  send(ipFrame(targetMac, mac, { src: ip, dst: target, proto: 1, payload: icmpEcho(8, id, 1, 'switchyard') }));
  await expectFrame(frames, `echo reply from ${target}`, (f) => etherType(f) === IP4 && f[23] === 1 && ipText(f, 26) === target && f[34] === 0 && f.readUInt16BE(38) === id);
}

/** Act as a host at (mac, ip) for a while: answer ARP requests for ip and ICMP echo requests to it. */
async function answer(send: (f: Uint8Array) => void, frames: Buffer[], mac: string, ip: string, forMs: number): Promise<void> {
  const until = Date.now() + forMs;
  const hex = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
  while (Date.now() < until) {
    const f = frames.shift();
    if (!f) { await new Promise((r) => setTimeout(r, 10)); continue; }
    if (f.length >= 42 && etherType(f) === ARP && f.readUInt16BE(20) === 1 && ipText(f, 38) === ip) {
      send(arpReply(mac, ip, hex(f.subarray(22, 28)), ipText(f, 28)));
    } else if (f.length >= 42 && etherType(f) === IP4 && f[23] === 1 && ipText(f, 30) === ip && f[34] === 8) {
      const ihl = (f[14] & 15) * 4;
      const totalLen = f.readUInt16BE(16);
      const data = [...f.subarray(14 + ihl + 8, 14 + totalLen)];
      send(ipFrame(hex(f.subarray(6, 12)), mac, { src: ip, dst: ipText(f, 26), proto: 1, payload: icmpEcho(0, f.readUInt16BE(38), f.readUInt16BE(40), data) }));
    }
  }
}

interface PortJson { name: string; kind: string; ifname: string; state: string; peer?: string | null; drops: Record<string, number>; counters: { rxPackets: number } }

test('QEMU stream and dgram socket ports, and SIGHUP reloads', { timeout: 240_000 }, async (t) => {
  const topo = new Topology();
  const runDir = mkdtempSync(join(tmpdir(), 'sy-sock-'));
  const name = `${topo.prefix}sk`;
  const sPath = join(runDir, 's.sock');
  const dPath = join(runDir, 'd.sock');
  let sw: ChildProcess | null = null;
  let log = '';
  const peers: { end?: () => void; stop?: () => void }[] = [];
  const cli = (...args: string[]): Promise<{ status: number; out: string; err: string }> =>
    run(process.execPath, [bin, ...args, '--name', name, '--run-dir', runDir]);
  const ports = async (): Promise<PortJson[]> => JSON.parse((await cli('show', 'ports', '--json')).out);
  const port = async (p: string): Promise<PortJson | undefined> => (await ports()).find((x) => x.name === p);
  const fdb = async (): Promise<{ mac: string; port: string }[]> => JSON.parse((await cli('show', 'fdb', '--json')).out);
  try {
    const a = topo.host('a', '10.77.0.1/24');
    const b = topo.host('b', '10.77.0.2/24');
    const c = topo.host('c', '10.77.0.3/24');
    const cfg = join(runDir, 'sw.yaml');
    const config = (ports: Record<string, string>): string =>
      `name: ${name}\nrunDir: ${runDir}\nstateDir: ${runDir}\nports:\n${Object.entries(ports).map(([k, v]) => `  ${k}: { ${v} }\n`).join('')}` +
      `networks:\n  lan: { mode: bridged, ports: [${Object.keys(ports).join(', ')}] }\n`;
    writeFileSync(cfg, config({ a: `afpacket: ${a.rootIf}`, b: `afpacket: ${b.rootIf}`, s: `stream: ${sPath}`, d: `dgram: ${dPath}` }));
    sw = spawn(process.execPath, [bin, 'run', '-c', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    sw.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    await waitFor('control socket', () => existsSync(join(runDir, `${name}.sock`)), 15000);
    assert.equal(await ping(topo, a.ns, b.ip, 2), 2, 'a and b forward');

    await t.test('the sockets exist with mode 0660; the stream port is down until a peer connects', async () => {
      for (const p of [sPath, dPath]) {
        const st = statSync(p);
        assert.ok(st.isSocket(), `${p} is a socket`);
        assert.equal(st.mode & 0o777, 0o660, `${p} mode`);
      }
      const s = await port('s');
      assert.equal(s?.kind, 'stream');
      assert.equal(s?.ifname, sPath);
      assert.equal(s?.state, 'down');
      assert.equal(s?.peer, null);
      assert.equal((await port('d'))?.state, 'up');
    });

    await t.test('a stream peer: ARP and ICMP echo to a namespace and back; its MAC is learned on the port', async () => {
      const peer = await StreamPeer.connect(sPath);
      peers.push(peer);
      await waitFor('s up', async () => (await port('s'))?.state === 'up');
      await arpAndEcho((f) => peer.send(f), peer.frames, VM_S, '10.77.0.10', a.ip, a.mac, 0x5301);
      assert.ok((await fdb()).some((e) => e.mac === VM_S && e.port === 's'), 'VM MAC on port s');
      assert.equal((await port('s'))?.peer, 'connected');
      // the other way: the namespace pings the VM, which answers like a guest would
      const pinging = ping(topo, a.ns, '10.77.0.10', 2);
      const answering = answer((f) => peer.send(f), peer.frames, VM_S, '10.77.0.10', 4000);
      assert.equal(await pinging, 2, 'a pings the stream peer');
      await answering;

      // a second connection is refused, the first keeps working
      const second = await StreamPeer.connect(sPath);
      await waitFor('second connection closed', () => second.closed);
      assert.match(log, /refused a second connection/);
      await arpAndEcho((f) => peer.send(f), peer.frames, VM_S, '10.77.0.10', a.ip, a.mac, 0x5302);

      // frames split anywhere across writes are reassembled
      const f = ipFrame(a.mac, VM_S, { src: '10.77.0.10', dst: a.ip, proto: 1, payload: icmpEcho(8, 0x5303, 1, 'split') });
      const rec = [0, 0, (f.length >> 8) & 255, f.length & 255, ...f];
      for (let i = 0; i < rec.length; i += 7) { peer.raw(rec.slice(i, i + 7)); await new Promise((r) => setTimeout(r, 2)); }
      await expectFrame(peer.frames, 'echo reply to the split request', (x) => etherType(x) === IP4 && x[34] === 0 && x.readUInt16BE(38) === 0x5303);
    });

    await t.test('malformed length prefixes: an empty record is a runt, an impossible length closes the connection; a reconnect works', async () => {
      const peer = (peers[peers.length - 1] as StreamPeer);
      const before = (await port('s'))!.drops;
      peer.raw([0, 0, 0, 0]); // length 0: well framed, no frame
      await waitFor('runt counted', async () => ((await port('s'))!.drops.runt ?? 0) > (before.runt ?? 0));
      await arpAndEcho((f) => peer.send(f), peer.frames, VM_S, '10.77.0.10', a.ip, a.mac, 0x5304); // still in step
      peer.raw([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]); // framing lost
      await waitFor('connection closed by the switch', () => peer.closed);
      await waitFor('s down', async () => (await port('s'))?.state === 'down');
      const s = (await port('s'))!;
      assert.equal(s.drops['bad-length'], 1);
      assert.match(log, /length prefix 2147483647 is no frame/);
      assert.ok(!(await fdb()).some((e) => e.port === 's'), 'what was learned behind the stream is forgotten');
      assert.equal(await ping(topo, a.ns, b.ip, 1), 1, 'the rest forwards');

      const again = await StreamPeer.connect(sPath);
      peers.push(again);
      await waitFor('s up again', async () => (await port('s'))?.state === 'up');
      await arpAndEcho((f) => again.send(f), again.frames, VM_S, '10.77.0.10', a.ip, a.mac, 0x5305);
      again.end();
      await waitFor('s down after the peer left', async () => (await port('s'))?.state === 'down');
      assert.match(log, /peer disconnected/);
    });

    await t.test('a dgram peer: ARP and ICMP echo to a namespace and back; replies go to the sender', async () => {
      const local = join(runDir, 'peer-d.sock');
      const peer = await DgramPeer.start(local, dPath);
      peers.push(peer);
      assert.equal((await port('d'))?.peer, null, 'no peer before the first datagram');
      await arpAndEcho((f) => peer.send(f), peer.frames, VM_D, '10.77.0.11', b.ip, b.mac, 0x5401);
      assert.ok((await fdb()).some((e) => e.mac === VM_D && e.port === 'd'), 'VM MAC on port d');
      assert.equal((await port('d'))?.peer, local);
      peer.stop();
    });

    await t.test('real QEMU guests with -netdev stream and -netdev dgram ping a namespace', async (tt) => {
      let guestMod: typeof import('../guest/build.ts');
      let qemuMod: typeof import('../guest/qemu.ts');
      guestMod = await import('../guest/build.ts');
      qemuMod = await import('../guest/qemu.ts');
      assert.equal((await run('qemu-system-x86_64', ['--version'])).status, 0, 'qemu-system-x86_64 is needed (.ci/run installs it)');
      void tt;
      const guest = await guestMod.buildGuest();
      const boot = async (netdev: string, mac: string, ip: string, target: string): Promise<void> => {
        const args = qemuMod.qemuArgs({ guest, tap: 'unused', mac, job: { ip, ping: [target], count: 3 } });
        const i = args.indexOf('-netdev');
        args[i + 1] = netdev;
        const proc = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
        topo.track(proc);
        const lines: string[] = [];
        let err = '';
        proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
        let buf = '';
        proc.stdout!.on('data', (d: Buffer) => {
          buf += d.toString('latin1');
          let k;
          while ((k = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, k).replace(/\r/g, '')); buf = buf.slice(k + 1); }
        });
        try {
          await waitFor(`guest ${ip} done`, () => lines.some((l) => l.includes('SY-DONE')) || proc.exitCode !== null, 90_000, 200);
        } finally {
          proc.kill('SIGKILL');
        }
        const result = lines.map((l) => qemuMod.parseResult(l)).find((r) => r?.what === 'ping');
        assert.ok(result?.ok, `guest on ${netdev} pings ${target}:\n${lines.join('\n')}\n${err}`);
      };
      await boot(`stream,id=n0,server=off,addr.type=unix,addr.path=${sPath}`, '52:54:00:77:00:20', '10.77.0.20/24', a.ip);
      await boot(`dgram,id=n0,local.type=unix,local.path=${join(runDir, 'vm-d.sock')},remote.type=unix,remote.path=${dPath}`, '52:54:00:77:00:21', '10.77.0.21/24', b.ip);
      assert.equal((await port('d'))?.peer, join(runDir, 'vm-d.sock'), 'the dgram port follows the guest');
    });

    await t.test('SIGHUP: a port added and another removed while a ping between untouched ports flows', async () => {
      assert.equal(await ping(topo, a.ns, b.ip, 2), 2);
      const before = await ports();
      const rxA = before.find((p) => p.name === 'a')!.counters.rxPackets;
      const flowing = ping(topo, a.ns, b.ip, 30, ['-i', '0.1']);
      await new Promise((r) => setTimeout(r, 500));
      writeFileSync(cfg, config({ a: `afpacket: ${a.rootIf}`, b: `afpacket: ${b.rootIf}`, s: `stream: ${sPath}`, c: `afpacket: ${c.rootIf}` }));
      sw!.kill('SIGHUP');
      await waitFor('reload applied', () => /reload: 1 added, 1 removed/.test(log), 10000);
      const now = await ports();
      assert.deepEqual(now.map((p) => p.name).sort(), ['a', 'b', 'c', 's']);
      assert.ok(!existsSync(dPath), 'the dgram socket file is gone with its port');
      assert.equal(await ping(topo, c.ns, a.ip, 2), 2, 'the added port forwards');
      const entries = await fdb();
      assert.ok(entries.some((e) => e.mac === a.mac && e.port === 'a'), 'a still learned on a');
      assert.ok(entries.some((e) => e.mac === b.mac && e.port === 'b'), 'b still learned on b');
      assert.equal(await flowing, 30, 'no echo lost across the reload');
      assert.ok((await port('a'))!.counters.rxPackets > rxA, 'a kept its counters (never reopened)');

      // a broken file is logged and changes nothing
      writeFileSync(cfg, 'ports: [');
      sw!.kill('SIGHUP');
      await waitFor('bad config logged', () => /SIGHUP: .*invalid YAML.*keeping the running configuration/.test(log), 5000);
      assert.deepEqual((await ports()).map((p) => p.name).sort(), ['a', 'b', 'c', 's']);
      assert.equal(await ping(topo, a.ns, b.ip, 1), 1);
    });
  } finally {
    for (const p of peers) { p.end?.(); p.stop?.(); }
    if (sw) {
      const done = new Promise((r) => sw!.on('exit', r));
      sw.kill('SIGTERM');
      await done;
    }
    topo.dispose();
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('Switch.reload: what a reload applies, what it leaves for a restart, and learned state kept', { timeout: 60_000 }, async () => {
  const { Switch } = await import('../../src/index.ts');
  const dir = mkdtempSync(join(tmpdir(), 'sy-reload-'));
  const sock = (n: string): string => join(dir, `${n}.sock`);
  const logs: string[] = [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const base: Record<string, any> = {
    name: 'reloadlab', runDir: dir, stateDir: dir,
    ports: { p1: { stream: sock('p1') }, p2: { stream: sock('p2') }, p3: { dgram: sock('p3') }, q1: { stream: sock('q1') } },
    networks: {
      lan: { mode: 'bridged', ports: ['p1', 'p2', 'p3'] },
      lab: { mode: 'isolated', ports: ['q1'], address: '10.98.0.1/24' },
    },
  };
  const sw = await Switch.start(base, { log: (m) => logs.push(m) });
  const peers: StreamPeer[] = [];
  try {
    // p1 and p2 learn a MAC each
    for (const [p, m] of [['p1', '52:54:00:98:00:01'], ['p2', '52:54:00:98:00:02']]) {
      const peer = await StreamPeer.connect(sock(p));
      peers.push(peer);
      await waitFor(`${p} up`, () => sw.ports().find((x) => x.name === p)?.state === 'up');
      peer.send(arpWhoHas(m, '10.98.1.1', '10.98.1.2'));
      await waitFor(`${m} learned`, () => sw.fdb().some((e) => e.mac === m && e.port === p));
    }
    await sw.addPort('dyn', { stream: sock('dyn'), network: 'lan' });

    const next = structuredClone(base);
    delete next.ports.p3;                          // removed
    next.ports.p4 = { stream: sock('p4') };                                      // added
    next.ports.q1 = { stream: sock('q1'), mtu: 1400 };                           // changed: replaced
    next.ports.dyn = { dgram: sock('dyn2') };                                    // the file takes a run-time port's name
    next.networks.lan = { mode: 'bridged', ports: ['p1', 'p2', 'p4', 'dyn'], fdb: { agingSeconds: 300 } };
    next.networks.lab = { mode: 'isolated', ports: ['q1'], address: '10.98.0.1/24' };
    next.networks.extra = { mode: 'bridged', ports: [] };                        // new network: restart
    const r = await sw.reload(next);
    assert.deepEqual(r.added.sort(), ['dyn', 'p4']);
    assert.deepEqual(r.removed, ['p3']);
    assert.deepEqual(r.replaced, ['q1']);
    assert.deepEqual(r.failed, []);
    assert.deepEqual(r.needsRestart, ['network extra is new']);
    assert.deepEqual(sw.ports().map((p) => p.name).sort(), ['dyn', 'p1', 'p2', 'p4', 'q1']);
    assert.equal(sw.ports().find((p) => p.name === 'dyn')?.kind, 'dgram');
    assert.equal(sw.ports().find((p) => p.name === 'q1')?.mtu, 1400);
    assert.ok(!existsSync(sock('p3')) && !existsSync(sock('dyn')), 'closed ports take their socket files along');
    for (const [p, m] of [['p1', '52:54:00:98:00:01'], ['p2', '52:54:00:98:00:02']]) {
      assert.ok(sw.fdb().some((e) => e.mac === m && e.port === p), `${m} still learned on ${p}`);
      assert.equal(sw.ports().find((x) => x.name === p)?.state, 'up', `${p} still connected`);
    }
    assert.deepEqual(sw.config.networks.lan.ports, ['p1', 'p2', 'p4', 'dyn']);

    // settings a reload does not apply are reported, precisely, and nothing moves
    const later = structuredClone(next);
    later.networks.lab = { mode: 'isolated', ports: ['q1'], address: '10.98.0.2/24' };
    later.networks.lan = { mode: 'bridged', ports: ['p1', 'p2', 'p4', 'dyn'], fdb: { agingSeconds: 60 } };
    later.ports.q1 = { stream: sock('q1') };
    const r2 = await sw.reload(later);
    assert.deepEqual(r2.added.length + r2.removed.length + r2.replaced.length, 0);
    assert.deepEqual(r2.needsRestart.sort(), [
      'network extra is new',
      'network lab: address changed',
      'network lan: fdb changed',
      'port q1: changed, but network lab is not reloaded',
    ]);
    assert.ok(logs.some((l) => l === 'reload: network lab: address changed: needs a restart (left as it was)'));

    // a bad interface refuses the whole reload before anything changes
    const bad = structuredClone(next);
    delete bad.ports.p4;
    bad.ports.eth = { afpacket: 'sy-no-such-if0' };
    bad.networks.lan = { mode: 'bridged', ports: ['p1', 'p2', 'eth', 'dyn'], fdb: { agingSeconds: 300 } };
    await assert.rejects(sw.reload(bad), /ports\.eth\.afpacket: interface "sy-no-such-if0" does not exist/);
    assert.ok(sw.ports().some((p) => p.name === 'p4'), 'nothing was removed');
  } finally {
    for (const p of peers) p.end();
    await sw.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('socket files: a stale one is replaced; one in use or a plain file is an error naming the path', { timeout: 30_000 }, async () => {
  const { Switch } = await import('../../src/index.ts');
  const dir = mkdtempSync(join(tmpdir(), 'sy-stale-'));
  const s = join(dir, 's.sock'), d = join(dir, 'd.sock'), plain = join(dir, 'plain');
  const cfg = (ports: Record<string, unknown>, name = 'stale'): Record<string, unknown> => ({ name, runDir: dir, stateDir: dir, ports, networks: { lan: { mode: 'bridged', ports: Object.keys(ports) } } });
  let sw: Awaited<ReturnType<typeof Switch.start>> | null = null;
  try {
    // stale files: a stream socket and a datagram socket nobody listens on any more
    // (a process that exits without removing its files: what a killed QEMU or switch leaves behind)
    const py = await run('python3', ['-c', [
      'import socket',
      `l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); l.bind(${JSON.stringify(s)}); l.listen(1)`,
      `socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(${JSON.stringify(d)})`,
    ].join('\n')]);
    assert.equal(py.status, 0, py.err);
    assert.ok(existsSync(s) && existsSync(d));
    sw = await Switch.start(cfg({ s: { stream: s }, d: { dgram: d } }), { log: () => {} });
    assert.equal(sw.ports().length, 2);

    // in use: a second instance on the same paths
    await assert.rejects(Switch.start(cfg({ s: { stream: s } }, 'other'), { log: () => {} }), new RegExp(`stream ${s}: address already in use`));
    await assert.rejects(Switch.start(cfg({ d: { dgram: d } }, 'other'), { log: () => {} }), new RegExp(`dgram ${d}: Address already in use \\(bound by another process\\)`));
    // not a socket
    writeFileSync(plain, 'keep me');
    await assert.rejects(Switch.start(cfg({ p: { stream: plain } }, 'other'), { log: () => {} }), /exists and is not a socket; refusing to replace it/);
    await assert.rejects(Switch.start(cfg({ p: { dgram: plain } }, 'other'), { log: () => {} }), /File exists \(exists and is not a socket\)/);
    // a directory that does not exist
    await assert.rejects(Switch.start(cfg({ p: { dgram: join(dir, 'no', 'x.sock') } }, 'other'), { log: () => {} }), /dgram .*: No such file or directory \(bind\)/);
    await sw.stop();
    sw = null;
    assert.ok(!existsSync(s) && !existsSync(d), 'stop() removes the socket files');
  } finally {
    if (sw) await sw.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stream backpressure: a peer that stops reading costs dropped bursts (tx-full), not memory', { timeout: 30_000 }, async () => {
  const { Switch } = await import('../../src/index.ts');
  const dir = mkdtempSync(join(tmpdir(), 'sy-bp-'));
  const sock = (n: string): string => join(dir, `${n}.sock`);
  const sw = await Switch.start({ name: 'bp', runDir: dir, stateDir: dir, ports: { p1: { stream: sock('p1') }, p2: { stream: sock('p2') } }, networks: { lan: { mode: 'bridged', ports: ['p1', 'p2'] } } }, { log: () => {} });
  const sender = await StreamPeer.connect(sock('p1'));
  const sleeper = await StreamPeer.connect(sock('p2'));
  try {
    await waitFor('both up', () => sw.ports().every((p) => p.state === 'up'));
    sleeper.pause();
    // 4000 broadcasts of 1400 bytes (5.6 MB) toward a reader that reads nothing
    const f = Buffer.alloc(1400);
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x99, 0, 1, 0x88, 0xb5]).copy(f);
    for (let i = 0; i < 4000; i++) sender.send(f);
    await waitFor('all frames received', () => (sw.ports().find((p) => p.name === 'p1')?.counters.rxPackets ?? 0) >= 4000, 20_000);
    const p2 = sw.ports().find((p) => p.name === 'p2')!;
    assert.ok(p2.counters.txDrops > 0, `bursts dropped (${p2.counters.txDrops})`);
    assert.ok(p2.counters.txPackets * 1404 < 4 << 20, `at most the bound (+ what the kernel took) was queued: ${p2.counters.txPackets} frames`);
    assert.ok((sw.stats().drops['tx-full'] ?? 0) > 0);
    // once it reads again, what was queued arrives and new frames flow
    sleeper.resume();
    await waitFor('queued frames delivered', () => sleeper.frames.length >= p2.counters.txPackets, 10_000);
    assert.equal(sw.stats().pool.inUse, 0, 'no slot held');
  } finally {
    sender.end();
    sleeper.end();
    await sw.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
