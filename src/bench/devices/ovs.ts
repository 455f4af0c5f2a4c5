// devices/ovs.ts — Open vSwitch as a device under test, on the DUT namespace's three ports, with
// its USERSPACE datapath (datapath_type=netdev): the openvswitch kernel module cannot be loaded
// here, and the userspace datapath is what OVS offers a box without it.
//
//   ovs        ports of type "system". In the netdev datapath such a port is netdev-linux's
//              "system" class: one AF_PACKET SOCK_RAW socket per port bound with ETH_P_ALL
//              (PACKET_AUXDATA for VLAN tags), read with recvmmsg() in batches of 32 into
//              1518-byte buffers (MTU + headers), and a single unbound AF_PACKET socket
//              sending with sendmmsg() to each port's ifindex. No PACKET_MMAP ring, no
//              qdisc bypass. These ports are not "PMD" ports: the main ovs-vswitchd thread
//              polls them (poll() wake-ups, like switchyard's one thread), so no PMD thread
//              is created and pmd-cpu-mask has no effect (seen with strace and
//              `ovs-appctl dpif-netdev/pmd-rxq-show`, OVS 3.1). Frames the kernel had to drop
//              because OVS did not read its socket in time are not in any OVS statistic:
//              counters() reports them as rx_unread (the ports' kernel rx count minus the
//              frames the datapath looked up).
//   ovs-afxdp  ports of type "afxdp" (if this build has AF_XDP: `-vnetdev_afxdp` is a known
//              log module, and iface_types lists afxdp once running): an XDP program on each
//              veth (native mode on veth, copy mode, no zero-copy) redirects frames into an
//              AF_XDP socket polled by one PMD thread.
//
// PMD: one PMD thread, other_config:pmd-cpu-mask = the last core, so that OVS forwards with one
// core as switchyard does with its one thread; OVS pins it there and it busy-polls that core
// at 100 % even when idle (pmd-maxsleep is left at 0, OVS's default), which on a two-core
// machine leaves the other core to the generator, the sink and the kernel. Everything else is
// OVS's default: NORMAL action (fail_mode standalone, MAC learning), mac-aging-time 300 s,
// mac-table-size 2048, one rx queue per port, userspace TSO off.
//
// Its own ovsdb-server and ovs-vswitchd run inside the DUT namespace, with a database, sockets,
// pidfiles and logs in the run's workDir (OVS_RUNDIR etc. point there, so the per-bridge
// management sockets do too): a system OVS is never touched. ovs-vswitchd must never run in
// the root namespace: at start-up it deletes every datapath it has no bridge for, and kernel
// datapaths are per namespace. The bridge's internal port and the datapath's `ovs-netdev` are
// TAP devices OVS creates in the DUT namespace; down() deletes the bridge (which removes them,
// the XDP programs and the promiscuous mode), asks both daemons to exit, and removes whatever
// a crash left behind.
//
// Frames only: OVS 3.1's netdev datapath does not complete partial checksums, so locally
// generated TCP/UDP through it arrives with bad checksums unless the senders have
// `ethtool -K eth0 tx off`; the harness's frames carry full checksums and need nothing.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { exec, execOk, have, waitFor } from '../exec.js';
import { alive, pidFromFile, stopPid } from './daemon.js';
import type { Device, DeviceEnv } from '../types.js';

export type OvsPortType = 'afpacket' | 'afxdp';

/** The bridge; also the name of its internal (TAP) port in the DUT namespace. */
const BRIDGE = 'syovs';
const PKGDATADIR = process.env.OVS_PKGDATADIR ?? '/usr/share/openvswitch';
const SCHEMA = join(PKGDATADIR, 'vswitch.ovsschema');
const PROGRAMS = ['ovs-vswitchd', 'ovsdb-server', 'ovsdb-tool', 'ovs-vsctl', 'ovs-appctl'];

/** The last lines of a log file, for error messages. */
function logTail(file: string, lines = 5): string {
  try { return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n'); } catch { return ''; }
}

/** `ovs-vsctl --format=json list` output as rows of column → value (maps as objects, sets as arrays). */
function ovsdbRows(json: string): Record<string, unknown>[] {
  const decode = (v: unknown): unknown => {
    if (!Array.isArray(v)) return v;
    if (v[0] === 'map') return Object.fromEntries((v[1] as [string, unknown][]).map(([k, x]) => [k, decode(x)]));
    if (v[0] === 'set') return (v[1] as unknown[]).map(decode);
    return v[1]; // ["uuid", ...]
  };
  const t = JSON.parse(json) as { headings: string[]; data: unknown[][] };
  return t.data.map((row) => Object.fromEntries(t.headings.map((h, i) => [h, decode(row[i])])));
}

class OvsDevice implements Device {
  readonly key: string;
  readonly label: string;
  readonly kind = 'bridge' as const;
  private readonly type: OvsPortType;
  private env: DeviceEnv | null = null;
  private dir = '';
  private vswitchdPid = 0;
  private pmdCpuMask = '';

  constructor(type: OvsPortType) {
    this.type = type;
    this.key = type === 'afxdp' ? 'ovs-afxdp' : 'ovs';
    this.label = type === 'afxdp' ? 'Open vSwitch (userspace, AF_XDP)' : 'Open vSwitch (userspace, af_packet)';
  }

  private path(name: string): string { return join(this.dir, name); }

  /** OVS_* variables for `env`: every directory OVS would otherwise take from the system's. */
  private vars(): string[] {
    return ['OVS_RUNDIR', 'OVS_DBDIR', 'OVS_LOGDIR', 'OVS_SYSCONFDIR'].map((v) => `${v}=${this.dir}`).concat(`OVS_PKGDATADIR=${PKGDATADIR}`);
  }

  private vsctl(args: string[], timeoutS = 30): Promise<string> {
    return execOk('ovs-vsctl', [`--db=unix:${this.path('db.sock')}`, `--timeout=${timeoutS}`, ...args], (timeoutS + 5) * 1000);
  }

  private appctl(target: 'ovs-vswitchd' | 'ovsdb-server', args: string[], timeoutS = 10): Promise<string> {
    return execOk('ovs-appctl', ['-t', this.path(`${target}.ctl`), `--timeout=${timeoutS}`, ...args], (timeoutS + 5) * 1000);
  }

  /** A daemon in the DUT namespace, in the foreground (the harness kills it if all else fails). */
  private daemon(env: DeviceEnv, program: 'ovsdb-server' | 'ovs-vswitchd', args: string[]): void {
    env.spawn('ip', [
      'netns', 'exec', env.topo.dutNs, 'env', ...this.vars(), program, ...args,
      `--unixctl=${this.path(`${program}.ctl`)}`, `--pidfile=${this.path(`${program}.pid`)}`,
      `--log-file=${this.path(`${program}.log`)}`, '-vconsole:off', '--no-chdir',
    ]);
  }

  async available(): Promise<string | null> {
    for (const p of PROGRAMS) if (!(await have(p))) return 'Open vSwitch is not installed (apt-get install openvswitch-switch)';
    if (!existsSync(SCHEMA)) return `Open vSwitch's database schema ${SCHEMA} is missing (set OVS_PKGDATADIR)`;
    if (this.type === 'afxdp') {
      // a build without AF_XDP has no netdev_afxdp log module, and says so without starting
      const r = await exec('ovs-vswitchd', ['-vnetdev_afxdp:off', '--version']);
      if (r.status !== 0) return `this Open vSwitch build has no AF_XDP support (${(r.err || r.out).trim().split('\n')[0]})`;
    }
    return null;
  }

  async up(env: DeviceEnv): Promise<void> {
    this.env = env;
    this.dir = join(env.workDir, this.key);
    mkdirSync(this.dir, { recursive: true });
    if (this.path('ovsdb-server.ctl').length > 100) throw new Error(`workDir ${env.workDir} is too long for OVS's unix sockets`);
    try {
      await execOk('env', [...this.vars(), 'ovsdb-tool', 'create', this.path('conf.db'), SCHEMA]);
      this.daemon(env, 'ovsdb-server', [this.path('conf.db'), `--remote=punix:${this.path('db.sock')}`]);
      await waitFor('ovsdb-server', async () => existsSync(this.path('db.sock')) && (await this.vsctl(['--no-wait', 'init'], 2), true), 10000)
        .catch((e: Error) => { throw new Error(`${e.message}\n${logTail(this.path('ovsdb-server.log'))}`); });
      // one PMD thread, on the last core (only AF_XDP ports are polled by PMD threads)
      this.pmdCpuMask = `0x${(1n << BigInt(availableParallelism() - 1)).toString(16)}`;
      await this.vsctl(['--no-wait', 'set', 'Open_vSwitch', '.', `other_config:pmd-cpu-mask=${this.pmdCpuMask}`]);
      this.daemon(env, 'ovs-vswitchd', [`unix:${this.path('db.sock')}`]);
      await waitFor('ovs-vswitchd', async () => (await this.appctl('ovs-vswitchd', ['version'], 2), true), 10000)
        .catch((e: Error) => { throw new Error(`${e.message}\n${logTail(this.path('ovs-vswitchd.log'))}`); });
      this.vswitchdPid = pidFromFile(this.path('ovs-vswitchd.pid'));
      if (this.type === 'afxdp') {
        const types = (await this.vsctl(['get', 'Open_vSwitch', '.', 'iface_types'])).trim();
        if (!/\bafxdp\b/.test(types)) throw new Error(`this Open vSwitch build has no AF_XDP support (iface_types: ${types})`);
      }
      const ports = Object.values(env.topo.ports);
      const iface = (p: string): string[] => (this.type === 'afxdp' ? ['--', 'set', 'Interface', p, 'type=afxdp'] : []);
      await this.vsctl([
        '--', 'add-br', BRIDGE, '--', 'set', 'Bridge', BRIDGE, 'datapath_type=netdev', 'fail_mode=standalone',
        ...ports.flatMap((p) => ['--', 'add-port', BRIDGE, p, ...iface(p)]),
      ]);
      // a port OVS could not open has ofport -1 and says why in `error` (an empty set otherwise)
      const bad = (await this.interfaces()).filter((i) => ports.includes(i.name as string) && (Number(i.ofport) <= 0 || typeof i.error === 'string'));
      if (bad.length) throw new Error(`ports not added: ${bad.map((i) => `${i.name as string}: ${String(i.error)}`).join('; ')}\n${logTail(this.path('ovs-vswitchd.log'))}`);
    } catch (e) {
      await this.down(env).catch(() => {});
      throw e;
    }
  }

  private async interfaces(): Promise<Record<string, unknown>[]> {
    return ovsdbRows(await this.vsctl(['--format=json', '--columns=name,ofport,error,link_state', 'list', 'Interface']));
  }

  nextHopMac(dir: 'forward' | 'reverse'): string {
    if (!this.env) throw new Error(`${this.key}: nextHopMac before up()`);
    return dir === 'forward' ? this.env.topo.sink.mac : this.env.topo.gen.mac;
  }

  /** The learning frames are the harness's; here only: every port up and (AF_XDP) polled by the PMD. */
  async prepare(env: DeviceEnv): Promise<void> {
    const ports = Object.values(env.topo.ports);
    await waitFor('the OVS ports to be up', async () => {
      const up = (await this.interfaces()).filter((i) => ports.includes(i.name as string) && i.link_state === 'up' && Number(i.ofport) > 0);
      return up.length === ports.length;
    }, 10000);
    if (this.type === 'afxdp') {
      await waitFor('the PMD thread to poll every port', async () => {
        const rxq = await this.appctl('ovs-vswitchd', ['dpif-netdev/pmd-rxq-show']);
        return ports.every((p) => new RegExp(`port: ${p}\\s`).test(rxq));
      }, 10000);
    }
  }

  pids(): number[] { return this.vswitchdPid ? [this.vswitchdPid] : []; }

  /**
   * Live, from `dpctl/show -s` (the Interface table's statistics lag by up to 5 s): per port (by
   * role) rx/tx_dropped; the datapath's upcalls (missed) and lost upcalls; rx_unread = what
   * the ports received and did not drop minus what the datapath looked up (for af_packet
   * ports: the frames lost because OVS did not read its sockets in time, which no OVS
   * statistic counts).
   */
  async counters(): Promise<Record<string, number>> {
    const env = this.env;
    if (!env) return {};
    const out = await this.appctl('ovs-vswitchd', ['dpctl/show', '-s']);
    const roles = new Map(Object.entries(env.topo.ports).map(([role, ifname]) => [ifname, role]));
    const c: Record<string, number> = {};
    let rx = 0;
    for (const block of out.split(/^\s*port \d+: /m).slice(1)) {
      const role = roles.get(block.split(/[\s(]/)[0]);
      // "?" where a port type does not count (AF_XDP ports: everything but RX dropped)
      const m = /RX packets:(\d+) errors:\S+ dropped:(\S+)[\s\S]*?TX packets:\d+ errors:\S+ dropped:(\S+)/.exec(block);
      if (!role || !m) continue;
      rx += Number(m[1]) - (m[2] === '?' ? 0 : Number(m[2]));
      if (m[2] !== '?') c[`${role}:rx_dropped`] = Number(m[2]);
      if (m[3] !== '?') c[`${role}:tx_dropped`] = Number(m[3]);
    }
    const m = /lookups: hit:(\d+) missed:(\d+) lost:(\d+)/.exec(out);
    if (m) {
      const [hit, missed, lost] = m.slice(1).map(Number);
      c['dp:missed'] = missed;
      c['dp:lost'] = lost;
      c['dp:rx_unread'] = Math.max(0, rx - hit - missed);
    }
    return c;
  }

  async details(): Promise<unknown> {
    const get = (args: string[]): Promise<string> => this.vsctl(args).then((s) => s.trim(), (e: Error) => e.message);
    const show = (args: string[]): Promise<string[]> => this.appctl('ovs-vswitchd', args).then((s) => s.trim().split('\n'), (e: Error) => [e.message]);
    const bridge = await get(['get', 'Bridge', BRIDGE, 'datapath_type', 'fail_mode', 'other_config']);
    return {
      version: (await exec('ovs-vswitchd', ['--version'])).out.split('\n')[0],
      datapath: 'netdev (userspace)',
      portType: this.type === 'afxdp'
        ? 'afxdp (XDP program + AF_XDP socket per port, polled by the PMD thread)'
        : 'system (AF_PACKET sockets, recvmmsg/sendmmsg, polled by the main thread)',
      pmdCpuMask: this.pmdCpuMask,
      pmdRxqs: await show(['dpif-netdev/pmd-rxq-show']),
      dpif: await show(['dpif/show']),
      otherConfig: await get(['get', 'Open_vSwitch', '.', 'other_config']),
      bridge: Object.fromEntries(['datapath_type', 'fail_mode', 'other_config'].map((col, i) => [col, bridge.split('\n')[i]])),
      macAgingTime: 300,
      macTableSize: 2048,
    };
  }

  async down(env: DeviceEnv): Promise<void> {
    const ns = env.topo.dutNs;
    if (this.dir) {
      // the bridge first: that removes its TAPs and XDP programs and ends promiscuous mode
      // (ovs-vsctl waits for ovs-vswitchd to apply it: not if it is gone)
      const vswitchd = this.vswitchdPid || pidFromFile(this.path('ovs-vswitchd.pid'));
      if (alive(vswitchd)) await this.vsctl(['--if-exists', 'del-br', BRIDGE], 10).catch(() => {});
      const asked = await this.appctl('ovs-vswitchd', ['exit', '--cleanup'], 5).then(() => true, () => false);
      await stopPid(vswitchd, 5000, !asked);
      const db = pidFromFile(this.path('ovsdb-server.pid'));
      const dbAsked = await this.appctl('ovsdb-server', ['exit'], 5).then(() => true, () => false);
      await stopPid(db, 5000, !dbAsked);
    }
    this.vswitchdPid = 0;
    // what a crash would have left: OVS's TAPs, XDP programs, promiscuous ports
    const links = JSON.parse((await exec('ip', ['-n', ns, '-j', 'link', 'show'])).out || '[]') as { ifname: string; flags: string[]; xdp?: unknown }[];
    for (const l of links) {
      if (l.ifname === BRIDGE || l.ifname === 'ovs-netdev') await exec('ip', ['-n', ns, 'link', 'del', l.ifname]);
      if (!Object.values(env.topo.ports).includes(l.ifname)) continue;
      if (l.xdp) await exec('ip', ['-n', ns, 'link', 'set', 'dev', l.ifname, 'xdp', 'off']);
      if (l.flags.includes('PROMISC')) await exec('ip', ['-n', ns, 'link', 'set', 'dev', l.ifname, 'promisc', 'off']);
      if (!l.flags.includes('UP')) await exec('ip', ['-n', ns, 'link', 'set', 'dev', l.ifname, 'up']);
    }
  }
}

/** Open vSwitch's userspace datapath with af_packet ('system') or AF_XDP ports. */
export function ovsDevice(type: OvsPortType = 'afpacket'): Device {
  return new OvsDevice(type);
}
