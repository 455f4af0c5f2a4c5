// devices/vde.ts — vde_switch from vde2 (2.3.2) as a device under test, on the DUT namespace's
// three ports.
//
// vde2's own way to attach a switch to an existing interface is vde_pcapplug (libpcap), and
// Debian's vde2 ships it, but it cannot be used: it opens the interface with
// pcap_open_live(..., timeout 0) and then poll()s the capture fd itself. libpcap ≥ 1.5 captures
// into a TPACKET_V3 ring whose blocks the kernel hands over only when they are full or when
// their timeout expires, and timeout 0 means a block timeout of UINT_MAX ms: a frame sits in
// the ring until enough others arrive to fill the block. An ARP request or a ping never gets
// through (with libpcap 1.10.3, 0 of 300 pings); under load it forwards in bursts. (Switching
// libpcap to immediate mode fixes it, which takes a patched or preloaded vde_pcapplug.)
// vde_plug2tap only reaches TAPs, and vdeplug4's plugins TAPs, tunnels and other VDE switches.
//
// So vde_switch is attached the way TAP-only userspace switches are put on veths (Kata
// Containers' "tcfilter" networking, for one): vde_switch's own tuntap module opens one TAP per
// port (`-t`), and a tc mirred redirect in each direction glues each TAP to its veth:
//
//   pgen ingress --u32 match-all, mirred redirect--> vdegen egress  (vde_switch reads the TAP)
//   vdegen ingress (vde_switch wrote the TAP) --mirred redirect--> pgen egress
//
// One process does all the switching (no plug processes); the redirects are kernel work in the
// senders' calls. Since the TAPs have no offloads, frames the kernel pushes into them are
// segmented and checksummed on the way, so even locally generated TCP crosses unharmed.
// vde_switch runs as a daemon (-d: in the foreground it exits when stdin, here /dev/null,
// ends) with its control directory and pidfile in workDir and an empty rc file (no
// /etc/vde2/vde_switch.rc). Defaults: 32 ports, a 128-bucket MAC hash (entries expire after
// 100 s; a MAC that moves is re-learned only after 3 s), no FSTP.
//
// Needs cls_u32 and act_mirred in the kernel (up() says so if they are missing).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, execOk, have, waitFor } from '../exec.js';
import type { Device, DeviceEnv } from '../types.js';
import { pidFromFile, stopPid } from './daemon.js';

type Role = 'gen' | 'sink' | 'mon';
const tapOf = (role: Role): string => `vde${role}`;

interface LinkStats { ifname: string; stats64?: { rx: { dropped: number }; tx: { dropped: number } } }

class VdeDevice implements Device {
  readonly key = 'vde';
  readonly label = 'vde_switch (vde2)';
  readonly kind = 'bridge' as const;
  private env: DeviceEnv | null = null;
  private pidfile = '';
  private pid = 0;

  private roles(env: DeviceEnv): [Role, string][] { return Object.entries(env.topo.ports) as [Role, string][]; }

  async available(): Promise<string | null> {
    if (!(await have('vde_switch'))) return 'vde2 is not installed (apt-get install vde2)';
    if (!(await have('tc'))) return 'tc is not installed (apt-get install iproute2): it attaches vde_switch\'s TAPs to the veths';
    return null;
  }

  async up(env: DeviceEnv): Promise<void> {
    this.env = env;
    const ns = env.topo.dutNs;
    const dir = join(env.workDir, 'vde');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'rc'), '');
    this.pidfile = join(dir, 'vde_switch.pid');
    rmSync(this.pidfile, { force: true });
    const roles = this.roles(env);
    try {
      await execOk('ip', ['netns', 'exec', ns, 'vde_switch', '-f', join(dir, 'rc'), '-s', join(dir, 'ctl'),
        ...roles.flatMap(([role]) => ['-t', tapOf(role)]), '-d', '-p', this.pidfile]);
      this.pid = await waitFor('vde_switch\'s pidfile', () => pidFromFile(this.pidfile), 5000, 20);
      for (const [role, port] of roles) {
        const tap = tapOf(role);
        await execOk('ip', ['-n', ns, 'link', 'set', tap, 'up']);
        for (const [from, to] of [[port, tap], [tap, port]]) {
          await execOk('tc', ['-n', ns, 'qdisc', 'add', 'dev', from, 'clsact']);
          const r = await exec('tc', ['-n', ns, 'filter', 'add', 'dev', from, 'ingress', 'protocol', 'all', 'prio', '1',
            'u32', 'match', 'u32', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', to]);
          if (r.status !== 0) throw new Error(`tc redirect ${from} -> ${to}: ${r.err.trim()} (this kernel needs cls_u32 and act_mirred)`);
        }
      }
    } catch (e) {
      await this.down(env).catch(() => {});
      throw e;
    }
  }

  nextHopMac(dir: 'forward' | 'reverse'): string {
    if (!this.env) throw new Error('vde: nextHopMac before up()');
    return dir === 'forward' ? this.env.topo.sink.mac : this.env.topo.gen.mac;
  }

  /** The learning frames are the harness's; vde_switch forwards as soon as its TAPs are up. */
  async prepare(): Promise<void> {}

  pids(): number[] { return this.pid ? [this.pid] : []; }

  /**
   * Per port (by role): tap_tx_dropped = frames redirected into the TAP that vde_switch did not
   * read before its queue (txqueuelen 1000) filled; tap_rx_dropped = frames vde_switch wrote
   * that the TAP could not take; rx/tx_dropped of the veth end itself.
   */
  async counters(): Promise<Record<string, number>> {
    const env = this.env;
    if (!env) return {};
    const links = JSON.parse(await execOk('ip', ['-n', env.topo.dutNs, '-s', '-j', 'link', 'show'])) as LinkStats[];
    const c: Record<string, number> = {};
    for (const [role, port] of this.roles(env)) {
      for (const [prefix, ifname] of [['', port], ['tap_', tapOf(role)]]) {
        const s = links.find((l) => l.ifname === ifname)?.stats64;
        if (!s) continue;
        c[`${role}:${prefix}rx_dropped`] = s.rx.dropped;
        c[`${role}:${prefix}tx_dropped`] = s.tx.dropped;
      }
    }
    return c;
  }

  async details(): Promise<unknown> {
    return {
      version: (await exec('vde_switch', ['-v'])).out.split('\n')[0],
      attachment: 'vde_switch tuntap ports (-t), each glued to its veth by tc u32 + mirred redirects both ways',
      numports: 32,
      macHash: { buckets: 128, expireS: 100, minPersistenceS: 3 },
    };
  }

  async down(env: DeviceEnv): Promise<void> {
    const ns = env.topo.dutNs;
    // SIGTERM: vde_switch closes its TAPs (they are not persistent, so they go) and exits
    await stopPid(this.pid || pidFromFile(this.pidfile));
    this.pid = 0;
    for (const [role, port] of this.roles(env)) {
      await exec('tc', ['-n', ns, 'qdisc', 'del', 'dev', port, 'clsact']);
      if ((await exec('ip', ['-n', ns, 'link', 'show', tapOf(role)])).status === 0) await exec('ip', ['-n', ns, 'link', 'del', tapOf(role)]);
    }
  }
}

/** vde_switch (vde2) on TAPs redirected to and from the DUT namespace's veths. */
export function vdeDevice(): Device {
  return new VdeDevice();
}
