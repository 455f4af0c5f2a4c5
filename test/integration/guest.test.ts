// Integration with real guests: small Linux VMs (Debian's kernel, a busybox initramfs, built
// and cached by test/guest/build.ts) under QEMU with TCG, on TAPs in a bridged network of a
// switchyard started through the library, beside a namespace that serves HTTP. One guest
// pings the namespace and fetches a page; then two guests boot at once and ping each other.
// The guests report on their serial console (SY-RESULT lines), which is what is asserted on.
//
// How the TAPs are wired: the test creates them persistent (`ip tuntap add`), the switch
// attaches to their kernel side with `afpacket:`, and QEMU opens them by name (script=no).
// A `tap:` port cannot be shared with QEMU: the switch's tap fd *is* the TAP's only queue
// (QEMU's TUNSETIFF on it fails with EBUSY), and even a multi-queue TAP would put the switch
// and QEMU side by side on the same end of the wire, each talking to the host kernel, never
// to each other. A TAP is a wire between one fd holder and the kernel; the switch must be
// on the kernel side, which is what an AF_PACKET socket on the TAP is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { Switch } from '../../src/index.ts';
import { startControlServer, type ControlServer } from '../../src/control.ts';
import { fileURLToPath } from 'node:url';
import { Topology, ping, sh, shStatus, waitFor } from '../helpers/netns.ts';
import { buildGuest, type Guest } from '../guest/build.ts';
import { startGuest, resultOf, describe, qemuArgs, parseResult, type GuestRun, type RunningGuest, type GuestJob } from '../guest/qemu.ts';
import { spawn } from 'node:child_process';

test('QEMU guests on TAPs in a bridged network', { timeout: 240_000 }, async (t) => {
  assert.equal(shStatus('qemu-system-x86_64', ['--version']).status, 0, 'qemu-system-x86_64 is needed: apt-get install --no-install-recommends qemu-system-x86');
  const built = Date.now();
  const guest: Guest = await buildGuest({ log: (s) => t.diagnostic(s) });
  t.diagnostic(`guest ${guest.kernelPackage}${guest.vmlinux ? ' (PVH vmlinux)' : ' (bzImage)'}: ${guest.fromCache ? 'cached' : 'built'} in ${Date.now() - built} ms`);

  const topo = new Topology();
  const running: RunningGuest[] = [];
  let sw: Switch | null = null;
  const third = 100 + (process.pid % 150);
  const net = (h: number): string => `10.121.${third}.${h}`;
  const macBase = `52:54:00:${randomBytes(2).toString('hex').replace(/(..)(..)/, '$1:$2')}`;
  const www = mkdtempSync(join(tmpdir(), 'sy-www-'));
  const boot = async (tap: string, n: number, job: GuestJob): Promise<GuestRun> => {
    const g = startGuest({ guest, tap, mac: `${macBase}:${n.toString(16).padStart(2, '0')}`, job, name: `vm${n}`, timeoutMs: 45_000 });
    running.push(g);
    const r = await g.result;
    if (r.firstPingMs !== null) {
      t.diagnostic(`vm${n}: first echo reply ${r.firstPingMs} ms after QEMU started (guest uptime ${r.guestFirstPing} s, /init at ${r.guestBoot} s), powered off after ${r.totalMs} ms`);
    }
    return r;
  };
  try {
    const web = topo.host('web', `${net(1)}/24`);
    const web2 = topo.host('web2', `${net(2)}/24`);
    const taps = ['g1', 'g2'].map((x) => {
      const tap = `${topo.prefix}${x}`;
      sh('ip', ['tuntap', 'add', 'dev', tap, 'mode', 'tap']); // persistent, held by no one until QEMU opens it
      topo.own(tap);
      sh('sysctl', ['-qw', `net.ipv6.conf.${tap}.disable_ipv6=1`]);
      sh('ip', ['link', 'set', tap, 'up']);
      return tap;
    });
    sw = await Switch.start({
      name: `${topo.prefix}vm`,
      runDir: `/tmp/${topo.prefix}-run`,
      ports: { g1: { afpacket: taps[0] }, g2: { afpacket: taps[1] }, web: { afpacket: web.rootIf }, web2: { afpacket: web2.rootIf } },
      networks: { lan: { mode: 'bridged', ports: ['g1', 'g2', 'web', 'web2'] } },
    }, { log: () => {} });

    const page = `<html><body>switchyard ${topo.prefix} ${randomBytes(8).toString('hex')}</body></html>\n`.repeat(40);
    writeFileSync(join(www, 'page.html'), page);
    topo.spawn(web.ns, 'python3', '-m', 'http.server', '8080', '--bind', net(1), '--directory', www);
    await waitFor('http server', async () => (await topo.run(web.ns, 'ss', '-ltn')).out.includes(`${net(1)}:8080`), 10_000);

    await t.test('a guest pings the namespace and fetches a page over HTTP', async () => {
      const r = await boot(taps[0], 1, { ip: `${net(11)}/24`, ping: [net(1)], wget: `http://${net(1)}:8080/page.html` });
      const info = describe(r);
      assert.ok(r.done, info);
      assert.ok(resultOf(r, 'net')?.ok, info);
      const p = resultOf(r, 'ping', net(1));
      assert.ok(p?.ok && p.words[0] === '3/3', info);
      const w = resultOf(r, 'wget');
      assert.ok(w?.ok, info);
      assert.equal(Number(w!.words[0]), Buffer.byteLength(page), info);
      assert.equal(w!.kv.md5, createHash('md5').update(page).digest('hex'), info);
      assert.ok(sw!.fdb().some((e) => e.mac === `${macBase}:01` && e.port === 'g1'), 'the guest was learned on g1');
    });

    await t.test('a guest started with the shipped hook as script= joins with no manual step; stopping it detaches its port', async () => {
      const bin = join(fileURLToPath(new URL('../../bin/', import.meta.url)));
      const runDir = `/tmp/${topo.prefix}-run`;
      const ctl: ControlServer = await startControlServer(sw!, join(runDir, `${sw!.name}.sock`));
      const tap = `${topo.prefix}hk`; // QEMU creates it; the hook attaches it
      topo.own(tap);
      try {
        let seen = false;
        const g = startGuest({
          guest, tap, mac: `${macBase}:09`, name: 'vm9', timeoutMs: 45_000,
          job: { ip: `${net(19)}/24`, ping: [net(1)], linger: 1 },
          script: join(bin, 'switchyard-ifup'), downscript: join(bin, 'switchyard-ifdown'),
          env: { SWITCHYARD_NAME: sw!.name, SWITCHYARD_NETWORK: 'lan', SWITCHYARD_RUN_DIR: runDir },
          onLine: () => { if (!seen && sw!.ports().some((p) => p.name === tap)) seen = true; },
        });
        running.push(g);
        const r = await g.result;
        const info = describe(r);
        assert.ok(r.done, info);
        assert.ok(resultOf(r, 'ping', net(1))?.ok, info);
        assert.ok(seen, 'the hook added a port named after the TAP while the guest ran');
        await waitFor('the port gone after QEMU exits', () => !sw!.ports().some((p) => p.name === tap), 10_000);
        // the others keep forwarding
        assert.equal(await ping(topo, web.ns, net(2), 2), 2, 'web still reaches web2');
      } finally {
        await ctl.close();
      }
    });

    await t.test('two guests booted at once ping each other', async () => {
      const [a, b] = await Promise.all([
        // each stays up a little after its own pings: the other may still be pinging it
        boot(taps[0], 2, { ip: `${net(12)}/24`, ping: [net(13)], linger: 3 }),
        boot(taps[1], 3, { ip: `${net(13)}/24`, ping: [net(12)], linger: 3 }),
      ]);
      for (const [r, peer] of [[a, net(13)], [b, net(12)]] as const) {
        const info = describe(r);
        assert.ok(r.done, info);
        const p = resultOf(r, 'ping', peer);
        assert.ok(p?.ok && p.words[0] === '3/3', info);
      }
      const fdb = sw!.fdb();
      assert.ok(fdb.some((e) => e.mac === `${macBase}:02` && e.port === 'g1'), JSON.stringify(fdb));
      assert.ok(fdb.some((e) => e.mac === `${macBase}:03` && e.port === 'g2'), JSON.stringify(fdb));
    });
  } finally {
    for (const g of running) g.kill();
    await Promise.all(running.map((g) => g.result));
    if (sw) await sw.stop();
    topo.dispose();
    rmSync(www, { recursive: true, force: true });
  }
});

test('a QEMU guest on a stream socket port gets its address from DHCP and pings (no root, no TAP on the guest side)', { timeout: 120_000 }, async (t) => {
  const guest: Guest = await buildGuest({ log: (s) => t.diagnostic(s) });
  const topo = new Topology();
  const runDir = mkdtempSync(join(tmpdir(), 'sy-stream-'));
  let sw: Switch | null = null;
  let g: RunningGuest | null = null;
  try {
    const third = 100 + (process.pid % 150);
    const sock = join(runDir, 'vm1.sock');
    sw = await Switch.start({
      name: `${topo.prefix}st`, runDir, stateDir: runDir,
      ports: { vm1: { stream: sock } },
      networks: { lab: { mode: 'isolated', ports: ['vm1'], address: `10.122.${third}.1/24`, dhcp: { range: `10.122.${third}.100-10.122.${third}.199` } } },
    }, { log: () => {} });
    const args = qemuArgs({ guest, tap: 'unused', mac: '52:54:00:77:01:01', job: { dhcp: true, ping: [`10.122.${third}.1`] } });
    args[args.indexOf('-netdev') + 1] = `stream,id=n0,server=off,addr.type=unix,addr.path=${sock}`;
    const lines: string[] = [];
    const proc = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    g = { proc, result: Promise.resolve(null as unknown as GuestRun), kill: () => { if (proc.exitCode === null) proc.kill('SIGKILL'); } };
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let k;
      while ((k = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, k).replace(/\r/g, '')); buf = buf.slice(k + 1); }
    });
    await waitFor('guest done', () => lines.some((l) => l.includes('SY-DONE')) || proc.exitCode !== null, 90_000, 200);
    const net = lines.map((l) => parseResult(l)).find((r) => r?.what === 'net');
    const p = lines.map((l) => parseResult(l)).find((r) => r?.what === 'ping');
    assert.ok(net?.ok && p?.ok, lines.join('\n'));
    const lease = sw.leases().find((l) => l.mac === '52:54:00:77:01:01');
    assert.ok(lease && lease.ip.startsWith(`10.122.${third}.1`), JSON.stringify(sw.leases()));
    t.diagnostic(`stream guest leased ${lease!.ip}`);
  } finally {
    g?.kill();
    if (sw) await sw.stop();
    topo.dispose();
    rmSync(runDir, { recursive: true, force: true });
  }
});
