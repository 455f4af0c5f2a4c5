// devices/kernel.ts — what users would run instead of switchyard, from the Linux kernel, on
// the DUT namespace's three ports:
//
//   kernel-bridge   a Linux bridge (no STP, forward delay 0, default ageing) with
//                   bridge-nf-call-* off in the DUT namespace if br_netfilter is loaded: the
//                   kernel's fastest L2 path, the reference every ratio is taken against;
//   kernel-router   ip_forward=1, PLAN's two addresses on pgen / psink;
//   nft-masq        the router plus nftables masquerade (conntrack + NAT) on psink;
//   *-napi          the same with threaded NAPI on the DUT's ports (GRO on, `threaded` 1, TSO
//                   off on the senders): the kernel's forwarding then runs in kernel threads
//                   of its own instead of inside the sender's sendto(), on a second core, as
//                   switchyard's runs in its own process — the fair comparison.
//
// The kernel forwards inside the sender's own sendto() (veth xmit runs the receive path in
// the same call), so its CPU shows up as the generator's and softirq time, not a process.
import { existsSync } from 'node:fs';
import { pidsByName } from '../cpu.js';
import { exec, execOk, have, waitFor } from '../exec.js';
import { PLAN, type Device, type DeviceEnv } from '../types.js';

const linkMac = async (env: DeviceEnv, ifname: string): Promise<string> =>
  JSON.parse(await execOk('ip', ['-n', env.topo.dutNs, '-j', 'link', 'show', 'dev', ifname]))[0].address as string;

async function linkCounters(env: DeviceEnv, names: Record<string, string>): Promise<Record<string, number>> {
  const c: Record<string, number> = {};
  for (const [role, ifname] of Object.entries(names)) {
    const r = await exec('ip', ['-n', env.topo.dutNs, '-s', '-j', 'link', 'show', 'dev', ifname]);
    if (r.status !== 0) continue;
    const s = JSON.parse(r.out)[0].stats64;
    c[`${role}:rx_dropped`] = s.rx.dropped;
    c[`${role}:tx_dropped`] = s.tx.dropped;
  }
  return c;
}

/** Set a sysctl in the DUT namespace if it exists there (br_netfilter's only do when loaded). */
async function sysctlIfPresent(env: DeviceEnv, key: string, value: string): Promise<boolean> {
  const r = await exec('ip', ['netns', 'exec', env.topo.dutNs, 'sysctl', '-qw', `${key}=${value}`]);
  return r.status === 0;
}

/**
 * Threaded NAPI on the DUT's ports: with GRO on, a veth queues what it receives for a NAPI
 * poll instead of running the receive path inside the sender's call, and `threaded` runs
 * that poll in a kernel thread of its own, so the kernel's forwarding gets a core of its own
 * as switchyard's does.
 */
async function threadedNapi(env: DeviceEnv, ports: string[]): Promise<void> {
  // veth_xmit hands a frame to the peer's NAPI only if the sender has no TSO (or the frame is
  // a socket's own): the generators' packet-socket frames need TSO off on their eth0
  for (const ns of [env.topo.gen.ns, env.topo.sink.ns]) await execOk('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'eth0', 'tso', 'off']);
  for (const p of ports) {
    await execOk('ip', ['netns', 'exec', env.topo.dutNs, 'ethtool', '-K', p, 'gro', 'on']);
    await execOk('ip', ['netns', 'exec', env.topo.dutNs, 'sh', '-c', `echo 1 > /sys/class/net/${p}/threaded`]);
  }
}

/** Why threaded NAPI cannot be set up here, or null. */
async function napiMissing(): Promise<string | null> {
  if (!(await have('ethtool'))) return 'ethtool is not installed (apt-get install ethtool)';
  if (!existsSync('/sys/class/net/lo/threaded')) return 'this kernel has no threaded NAPI (Linux 5.12+)';
  return null;
}

async function unthreadNapi(env: DeviceEnv, ports: string[]): Promise<void> {
  for (const ns of [env.topo.gen.ns, env.topo.sink.ns]) await exec('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'eth0', 'tso', 'on']);
  for (const p of ports) {
    await exec('ip', ['netns', 'exec', env.topo.dutNs, 'sh', '-c', `echo 0 > /sys/class/net/${p}/threaded`]);
    await exec('ip', ['netns', 'exec', env.topo.dutNs, 'ethtool', '-K', p, 'gro', 'off']);
  }
}

/** The NAPI kernel threads of the DUT's ports (`napi/pgen-<id>`...): the kernel's forwarding with threaded NAPI. */
function napiThreads(ports: string[]): number[] {
  return pidsByName((comm) => ports.some((p) => comm.startsWith(`napi/${p}-`)));
}

export function kernelBridge(napi = false): Device {
  let env: DeviceEnv | null = null;
  let nfOff = false;
  return {
    key: napi ? 'kernel-bridge-napi' : 'kernel-bridge',
    label: napi ? 'Linux bridge, threaded NAPI' : 'Linux bridge',
    kind: 'bridge',
    async available() { return napi ? napiMissing() : null; },
    async up(e) {
      env = e;
      const { dutNs, ports } = e.topo;
      await execOk('ip', ['-n', dutNs, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      for (const p of Object.values(ports)) await execOk('ip', ['-n', dutNs, 'link', 'set', p, 'master', 'br0']);
      await execOk('ip', ['-n', dutNs, 'link', 'set', 'br0', 'up']);
      nfOff = true;
      for (const k of ['iptables', 'ip6tables', 'arptables']) nfOff = (await sysctlIfPresent(e, `net.bridge.bridge-nf-call-${k}`, '0')) && nfOff;
      if (napi) await threadedNapi(e, Object.values(ports));
    },
    nextHopMac(dir) { return dir === 'forward' ? env!.topo.sink.mac : env!.topo.gen.mac; },
    async prepare() { /* learning frames from the harness */ },
    pids() { return napi && env ? napiThreads(Object.values(env.topo.ports)) : []; },
    counters() { return linkCounters(env!, env!.topo.ports); },
    async details() {
      return { bridgeNfCall: nfOff ? 'off (br_netfilter loaded, turned off in the DUT namespace)' : 'br_netfilter not loaded', stp: false };
    },
    async down(e) {
      if (napi) await unthreadNapi(e, Object.values(e.topo.ports));
      for (const p of Object.values(e.topo.ports)) await exec('ip', ['-n', e.topo.dutNs, 'link', 'set', p, 'nomaster']);
      await exec('ip', ['-n', e.topo.dutNs, 'link', 'del', 'br0']);
    },
  };
}

export function kernelRouter(masquerade: boolean, napi = false): Device {
  let env: DeviceEnv | null = null;
  const macs = { gen: '', sink: '' };
  const nft = (e: DeviceEnv, ...a: string[]) => exec('ip', ['netns', 'exec', e.topo.dutNs, 'nft', ...a]);
  const ends = (e: DeviceEnv): string[] => [e.topo.ports.gen, e.topo.ports.sink];
  return {
    key: (masquerade ? 'nft-masq' : 'kernel-router') + (napi ? '-napi' : ''),
    label: (masquerade ? 'nftables masquerade' : 'Linux router') + (napi ? ', threaded NAPI' : ''),
    kind: masquerade ? 'nat' : 'router',
    async available() {
      if (masquerade && !(await have('nft'))) return 'nft is not installed (apt-get install nftables)';
      return napi ? napiMissing() : null;
    },
    async up(e) {
      env = e;
      const { dutNs, ports, sink, gen } = e.topo;
      await execOk('ip', ['-n', dutNs, 'addr', 'add', PLAN.dutGenCidr, 'dev', ports.gen]);
      await execOk('ip', ['-n', dutNs, 'addr', 'add', PLAN.dutSinkCidr, 'dev', ports.sink]);
      await execOk('ip', ['netns', 'exec', dutNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      // neighbours as a running router would have them: resolved, never re-probed mid-trial
      await execOk('ip', ['-n', dutNs, 'neigh', 'replace', PLAN.sinkIp, 'lladdr', sink.mac, 'dev', ports.sink, 'nud', 'permanent']);
      await execOk('ip', ['-n', dutNs, 'neigh', 'replace', PLAN.genIp, 'lladdr', gen.mac, 'dev', ports.gen, 'nud', 'permanent']);
      if (masquerade) {
        for (const args of [
          ['add', 'table', 'ip', 'sybench'],
          ['add', 'chain', 'ip', 'sybench', 'post', '{ type nat hook postrouting priority 100 ; }'],
          ['add', 'rule', 'ip', 'sybench', 'post', 'oifname', ports.sink, 'masquerade'],
        ]) {
          const r = await nft(e, ...args);
          if (r.status !== 0) throw new Error(`nft ${args.join(' ')}: ${r.err.trim() || `exit ${r.status}`} (this kernel needs nf_tables NAT)`);
        }
      }
      macs.gen = await linkMac(e, ports.gen);
      macs.sink = await linkMac(e, ports.sink);
      if (napi) await threadedNapi(e, ends(e));
    },
    nextHopMac(dir) { return dir === 'forward' ? macs.gen : macs.sink; },
    async prepare(e) {
      await waitFor('the router\'s addresses to be usable', async () =>
        (await exec('ip', ['netns', 'exec', e.topo.gen.ns, 'ping', '-c', '1', '-W', '1', PLAN.dutGenIp])).status === 0, 5000, 100);
    },
    pids() { return napi && env ? napiThreads(ends(env)) : []; },
    counters() { return linkCounters(env!, { gen: env!.topo.ports.gen, sink: env!.topo.ports.sink }); },
    async details() {
      if (!masquerade || !env) return {};
      const sysctl = async (k: string): Promise<number | null> =>
        Number((await exec('ip', ['netns', 'exec', env!.topo.dutNs, 'sysctl', '-n', k])).out.trim()) || null;
      return {
        conntrackMax: await sysctl('net.netfilter.nf_conntrack_max'),
        conntrackEntries: await sysctl('net.netfilter.nf_conntrack_count'),
        ruleset: (await nft(env, 'list', 'table', 'ip', 'sybench')).out,
      };
    },
    async down(e) {
      const { dutNs, ports } = e.topo;
      if (napi) await unthreadNapi(e, ends(e));
      if (masquerade) await nft(e, 'delete', 'table', 'ip', 'sybench');
      await exec('ip', ['netns', 'exec', dutNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=0']);
      for (const p of [ports.gen, ports.sink]) {
        await exec('ip', ['-n', dutNs, 'neigh', 'flush', 'dev', p, 'nud', 'all']);
        await exec('ip', ['-n', dutNs, 'addr', 'flush', 'dev', p]);
      }
    },
  };
}
