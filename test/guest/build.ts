// build.ts — a tiny Linux guest for the QEMU tests, built from Debian packages and cached.
//
// Kernel: Debian's linux-image-<version>-amd64 (the one the linux-image-amd64 metapackage
// points at, or $SY_GUEST_KERNEL), fetched with `apt-get download` and unpacked with
// `dpkg-deb -x`, never installed. virtio_net is a module in Debian's kernel, so the
// initramfs carries it and everything it and virtio_pci need (virtio, virtio_ring,
// net_failover, failover, virtio_pci_{modern,legacy}_dev); the package ships no modules.dep
// (depmod runs at install time), so the dependencies are read from each module's .modinfo.
//
// The bzImage's payload is also kept uncompressed (vmlinux, an ELF image with a PVH entry):
// QEMU boots that directly, which under TCG saves the ~10 s the kernel spends unpacking itself.
//
// Userland: busybox-static (the installed binary when it is static, else `apt-get download
// busybox-static`, which leaves Debian's dynamic busybox package installed: the two
// conflict) and an /init that reads its job from the kernel command line:
//
//   sy.ip=CIDR | sy.dhcp=1    configure eth0 (static, or busybox udhcpc)
//   sy.gw=IP                  default route
//   sy.ping=IP[,IP...]        ping each until the first reply (within sy.wait s), then sy.count more
//   sy.wget=URL               fetch a page
//   sy.linger=S               stay up S seconds after the job (a peer may still be pinging)
//
// and reports on ttyS0, one line each, then powers off (poweroff -f; QEMU runs with -no-reboot):
//
//   SY-BOOT <uptime>
//   SY-RESULT net ok eth0 <mac> <cidr> | SY-RESULT net fail <why>
//   SY-FIRSTPING <ip> <uptime>                 at the first echo reply (the boot-to-ping mark)
//   SY-RESULT ping ok 3/3 to=<ip> first=<uptime> | SY-RESULT ping fail 0/3 to=<ip>
//   SY-RESULT wget ok <n> bytes md5=<hex> | SY-RESULT wget fail <why>
//   SY-INFO ...                                diagnostics after a failure
//   SY-DONE
//
// Cache: .cache/guest/ in the repository (gitignored). guest.json names the kernel and the
// initramfs; it is reused as long as the recipe (this /init, the module list, the format
// version) is unchanged, without asking apt anything, so a warm run costs nothing and works
// offline. Everything is written under a temporary name and renamed into place.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync, openSync, readSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const defaultCacheDir = join(repo, '.cache', 'guest');

/** Modules to load, by name; their dependencies are added (and loaded first). */
const WANTED = ['virtio_pci', 'virtio_net'];
const RECIPE_VERSION = 2;

export interface Guest {
  kernel: string;          // path of vmlinuz (bzImage)
  vmlinux: string | null;  // the same kernel uncompressed (ELF with a PVH entry), or null
  initrd: string;          // path of the initramfs (cpio.gz)
  kernelPackage: string;   // linux-image-6.1.0-NN-amd64
  kernelRelease: string;   // 6.1.0-NN-amd64
  modules: string[];       // in load order
  busybox: string;         // where the busybox binary came from
  fromCache: boolean;
  buildMs: number;
}

// String.raw keeps the shell's backslashes; `$\{` is written for the shell's `${`, which a
// template literal would otherwise interpolate.
const INIT = String.raw`#!/bin/busybox sh
# switchyard test guest (test/guest/build.ts): job from /proc/cmdline, results on ttyS0
/bin/busybox mkdir -p /proc /sys /dev /tmp /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
up() { cut -d' ' -f1 /proc/uptime; }
info() { "$@" 2>&1 | while read -r l; do echo "SY-INFO $l"; done; }
finish() { echo "SY-DONE"; sync; poweroff -f; sleep 5; }
echo "SY-BOOT $(up)"
for m in $(cat /etc/modules); do insmod "/lib/modules/$m.ko" || echo "SY-INFO insmod $m failed"; done
IP= GW= PING= WGET= DHCP= COUNT=3 WAIT=20 LINGER=0
for a in $(cat /proc/cmdline); do
  case "$a" in
    sy.ip=*) IP="$\{a#*=}" ;;
    sy.gw=*) GW="$\{a#*=}" ;;
    sy.ping=*) PING="$\{a#*=}" ;;
    sy.wget=*) WGET="$\{a#*=}" ;;
    sy.dhcp=*) DHCP="$\{a#*=}" ;;
    sy.count=*) COUNT="$\{a#*=}" ;;
    sy.wait=*) WAIT="$\{a#*=}" ;;
    sy.linger=*) LINGER="$\{a#*=}" ;;
  esac
done
n=0
while ! ip link show eth0 >/dev/null 2>&1; do
  n=$((n+1)); if [ $n -gt 50 ]; then echo "SY-RESULT net fail no-eth0"; info ip link; finish; fi
  sleep 0.1
done
ip link set lo up
ip link set eth0 up
if [ "$DHCP" = 1 ]; then
  if udhcpc -i eth0 -n -q -f -t 10 -T 1 -s /etc/udhcpc.script >/tmp/dhcp.log 2>&1; then :; else
    echo "SY-RESULT net fail dhcp"; info cat /tmp/dhcp.log; finish
  fi
elif [ -n "$IP" ]; then
  ip addr add "$IP" dev eth0
fi
[ -n "$GW" ] && ip route add default via "$GW"
MAC=$(cat /sys/class/net/eth0/address)
ADDR=$(ip -o -4 addr show dev eth0 | awk '{print $4}' | head -n1)
echo "SY-RESULT net ok eth0 $MAC $\{ADDR:-none}"
for t in $(echo "$PING" | tr ',' ' '); do
  first= n=0
  while [ $n -lt "$WAIT" ]; do
    if ping -c 1 -W 1 "$t" >/dev/null 2>&1; then first=$(up); break; fi
    n=$((n+1))
  done
  if [ -z "$first" ]; then
    echo "SY-RESULT ping fail 0/$COUNT to=$t"; info ip addr; info ip neigh; info cat /proc/net/dev; continue
  fi
  echo "SY-FIRSTPING $t $first"
  got=$(ping -c "$COUNT" -i 0.2 -W 2 "$t" 2>&1 | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
  if [ "$got" = "$COUNT" ]; then st=ok; else st=fail; fi
  echo "SY-RESULT ping $st $\{got:-0}/$COUNT to=$t first=$first"
done
if [ -n "$WGET" ]; then
  # (no wget -T: busybox 1.35 wget segfaults with it)
  timeout 15 wget -q -O /tmp/page "$WGET" 2>/tmp/wget.err; rc=$?
  if [ $rc = 0 ]; then
    echo "SY-RESULT wget ok $(wc -c </tmp/page | tr -d ' ') bytes md5=$(md5sum /tmp/page | cut -d' ' -f1)"
  else
    echo "SY-RESULT wget fail rc=$rc $(tr '\n' ' ' </tmp/wget.err)"
  fi
fi
[ "$LINGER" != 0 ] && sleep "$LINGER"
finish
`.replaceAll('$\\{', '${');

const UDHCPC_SCRIPT = `#!/bin/sh
# busybox udhcpc hook: apply the lease to eth0
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/\${mask:-24}" dev "$interface"
    for r in $router; do ip route add default via "$r" dev "$interface"; break; done
    ;;
  deconfig) ip addr flush dev "$interface" ;;
esac
exit 0
`;

function exec(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, encoding: 'utf8', timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 << 20 }, (err, out, errOut) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${(errOut || err.message).trim()}`));
      else resolve(out);
    });
  });
}

const APT = ['-o', 'APT::Sandbox::User=root']; // root downloading into a root-owned dir: no _apt warning

/** The versioned kernel package: $SY_GUEST_KERNEL, else what linux-image-amd64 depends on. */
async function kernelPackage(): Promise<string> {
  const forced = process.env.SY_GUEST_KERNEL;
  if (forced) return forced;
  const deps = await exec('apt-cache', ['depends', 'linux-image-amd64']).catch(() => '');
  const m = /Depends:\s*(linux-image-\S+-amd64)\b/.exec(deps);
  if (m) return m[1];
  // no metapackage: the newest versioned one that has a candidate
  const names = (await exec('apt-cache', ['search', '--names-only', '^linux-image-[0-9][0-9.]*-[0-9]+-amd64$']))
    .split('\n').map((l) => l.split(' ')[0]).filter(Boolean)
    .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  for (const n of names) {
    if (/Candidate: (?!\(none\))/.test(await exec('apt-cache', ['policy', n]).catch(() => ''))) return n;
  }
  throw new Error('no linux-image-*-amd64 package found by apt-cache (is `apt-get update` done?)');
}

/** Download a package's .deb into dir (reused when there) and return its path. */
async function download(pkg: string, dir: string): Promise<string> {
  const find = (): string | undefined => readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  const have = find();
  if (have) return join(dir, have);
  await exec('apt-get', [...APT, 'download', pkg], { cwd: dir });
  const got = find();
  if (!got) throw new Error(`apt-get download ${pkg}: no .deb in ${dir}`);
  return join(dir, got);
}

/** The `depends=` field of a kernel module's .modinfo section (the bytes are NUL-separated). */
export function moduleDepends(ko: Buffer): string[] {
  const key = Buffer.from('\0depends=');
  const i = ko.indexOf(key);
  if (i < 0) return [];
  const end = ko.indexOf(0, i + key.length);
  const v = ko.subarray(i + key.length, end).toString('latin1');
  return v ? v.split(',').map((s) => s.replace(/-/g, '_')) : [];
}

/** name -> path of every module under a modules tree. */
function indexModules(root: string): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ko')) m.set(e.name.slice(0, -3).replace(/-/g, '_'), p);
    }
  };
  walk(root);
  return m;
}

/** Wanted modules and their dependencies, dependencies first. */
function resolveModules(index: Map<string, string>, wanted: string[], builtin: Set<string>): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, chain: string[]): void => {
    if (seen.has(name) || builtin.has(name)) return;
    const path = index.get(name);
    if (!path) throw new Error(`module ${name} (needed by ${chain.join(' <- ') || 'the guest'}) not in the kernel package`);
    seen.add(name);
    for (const d of moduleDepends(readFileSync(path))) visit(d, [name, ...chain]);
    order.push(name);
  };
  for (const w of wanted) visit(w, []);
  return order;
}

/** true when an ELF file has no PT_INTERP program header (statically linked). */
export function isStaticElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const h = Buffer.alloc(64);
    if (readSync(fd, h, 0, 64, 0) < 64 || h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2) return false;
    const phoff = Number(h.readBigUInt64LE(0x20)), phentsize = h.readUInt16LE(0x36), phnum = h.readUInt16LE(0x38);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3) return false;
    return true;
  } finally { closeSync(fd); }
}

/** A static busybox: $SY_GUEST_BUSYBOX (a path, or `download`), the installed one, or busybox-static's. */
async function busybox(cache: string): Promise<{ path: string; from: string }> {
  const forced = process.env.SY_GUEST_BUSYBOX;
  if (forced && forced !== 'download') {
    if (!isStaticElf(forced)) throw new Error(`SY_GUEST_BUSYBOX=${forced} is not a static ELF binary`);
    return { path: forced, from: forced };
  }
  for (const p of forced ? [] : ['/bin/busybox', '/usr/bin/busybox']) {
    if (existsSync(p) && isStaticElf(p)) return { path: p, from: p };
  }
  const out = join(cache, 'busybox');
  if (existsSync(out)) return { path: out, from: 'busybox-static (cached)' };
  const dl = join(cache, 'dl');
  mkdirSync(dl, { recursive: true });
  const deb = await download('busybox-static', dl);
  const tmp = join(cache, `bb.${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  await exec('dpkg-deb', ['-x', deb, tmp]);
  const bin = ['bin/busybox', 'usr/bin/busybox'].map((p) => join(tmp, p)).find((p) => existsSync(p));
  if (!bin) throw new Error(`no busybox binary in ${deb}`);
  copyFileSync(bin, `${out}.${process.pid}`);
  renameSync(`${out}.${process.pid}`, out);
  rmSync(tmp, { recursive: true, force: true });
  return { path: out, from: `busybox-static ${deb.split('/').pop()}` };
}

/**
 * The uncompressed kernel inside a bzImage. Under TCG the kernel's own decompressor is the
 * slowest part of a boot (about 10 s for Debian's xz-compressed image); QEMU boots the ELF
 * vmlinux directly through its PVH entry point (CONFIG_PVH=y), skipping it. The payload's
 * place is in the boot protocol header (setup_sects at 0x1f1, payload_offset and
 * payload_length at 0x248); Debian compresses it with xz and the x86 BCJ filter, which
 * busybox's xz cannot undo, so xz-utils does it.
 */
export async function extractVmlinux(bzImage: string): Promise<Buffer> {
  const d = readFileSync(bzImage);
  if (d.length < 0x250 || d.readUInt32LE(0x202) !== 0x53726448) throw new Error('not a bzImage');
  const off = (d[0x1f1] + 1) * 512 + d.readUInt32LE(0x248);
  const payload = d.subarray(off, off + d.readUInt32LE(0x24c));
  let elf: Buffer;
  if (payload[0] === 0x1f && payload[1] === 0x8b) elf = gunzipSync(payload);
  else if (payload.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) elf = await pipe('xz', ['-dc', '--single-stream'], payload);
  else if (payload.readUInt32LE(0) === 0xfd2fb528) elf = await pipe('zstd', ['-dcq'], payload);
  else throw new Error(`unknown payload compression ${payload.subarray(0, 4).toString('hex')}`);
  if (elf.readUInt32BE(0) !== 0x7f454c46) throw new Error('payload is not an ELF image');
  return elf;
}

function pipe(cmd: string, args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    c.stdout.on('data', (b: Buffer) => out.push(b));
    c.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${cmd}: exit ${code} ${err.trim()}`))));
    c.stdin.on('error', () => {}); // a decompressor may stop reading at the end of its stream
    c.stdin.end(input);
  });
}

// --- cpio (newc), written here so that no cpio tool is needed and device nodes need no mknod

interface CpioEntry { name: string; mode: number; data?: Buffer; rdev?: [number, number] }

export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  const push = (e: CpioEntry): void => {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(e.name + '\0');
    const [maj, min] = e.rdev ?? [0, 0];
    const hdr = '070701' + [ino++, e.mode, 0, 0, 1, 0, data.length, 0, 0, maj, min, name.length, 0].map(hex).join('');
    parts.push(Buffer.from(hdr, 'latin1'), name, pad4(110 + name.length), data, pad4(data.length));
  };
  for (const e of entries) push(e);
  push({ name: 'TRAILER!!!', mode: 0 });
  return Buffer.concat(parts);
}

const DIR = 0o040755, FILE = 0o100644, EXEC = 0o100755, CHR = 0o020600;

function recipeHash(): string {
  return createHash('sha256').update(JSON.stringify({ RECIPE_VERSION, INIT, UDHCPC_SCRIPT, WANTED, k: process.env.SY_GUEST_KERNEL ?? '', b: process.env.SY_GUEST_BUSYBOX ?? '' })).digest('hex').slice(0, 16);
}

interface Manifest { recipe: string; kernel: string; vmlinux: string | null; initrd: string; kernelPackage: string; kernelRelease: string; modules: string[]; busybox: string }

/** Build (or reuse from the cache) the guest kernel and initramfs. */
export async function buildGuest(opts: { cacheDir?: string; log?: (s: string) => void } = {}): Promise<Guest> {
  const t0 = Date.now();
  const cache = opts.cacheDir ?? defaultCacheDir;
  const log = opts.log ?? (() => {});
  mkdirSync(cache, { recursive: true });
  const manifestPath = join(cache, 'guest.json');
  const recipe = recipeHash();
  if (existsSync(manifestPath)) {
    try {
      const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
      if (m.recipe === recipe && existsSync(m.kernel) && existsSync(m.initrd) && (!m.vmlinux || existsSync(m.vmlinux))) {
        return { ...m, fromCache: true, buildMs: Date.now() - t0 };
      }
    } catch { /* rebuilt below */ }
  }

  const pkg = await kernelPackage();
  log(`guest: kernel package ${pkg}`);
  const kdir = join(cache, pkg);
  const kernel = join(kdir, 'vmlinuz');
  const modDir = join(kdir, 'modules');
  const unpacked = (): boolean => existsSync(kernel) && existsSync(join(modDir, 'release')) &&
    WANTED.every((w) => readFileSync(join(modDir, 'order'), 'utf8').split('\n').includes(w));
  if (!unpacked()) {
    const dl = join(cache, 'dl');
    mkdirSync(dl, { recursive: true });
    const deb = await download(pkg, dl);
    log(`guest: unpacking ${deb}`);
    const tmp = join(cache, `x.${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    await exec('dpkg-deb', ['-x', deb, tmp]);
    try {
      const boot = join(tmp, 'boot');
      const vmlinuz = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
      if (!vmlinuz) throw new Error(`no /boot/vmlinuz-* in ${deb}`);
      const release = vmlinuz.slice('vmlinuz-'.length);
      const mroot = join(tmp, 'lib', 'modules', release);
      const builtinFile = join(mroot, 'modules.builtin');
      const builtin = new Set(existsSync(builtinFile)
        ? readFileSync(builtinFile, 'utf8').split('\n').filter(Boolean).map((l) => l.split('/').pop()!.replace(/\.ko$/, '').replace(/-/g, '_'))
        : []);
      const index = indexModules(join(mroot, 'kernel'));
      const order = resolveModules(index, WANTED, builtin);
      const stage = `${kdir}.tmp${process.pid}`;
      rmSync(stage, { recursive: true, force: true });
      mkdirSync(join(stage, 'modules'), { recursive: true });
      for (const name of order) copyFileSync(index.get(name)!, join(stage, 'modules', `${name}.ko`));
      writeFileSync(join(stage, 'modules', 'order'), order.join('\n') + '\n');
      writeFileSync(join(stage, 'modules', 'release'), release + '\n');
      copyFileSync(join(boot, vmlinuz), join(stage, 'vmlinuz'));
      const config = readdirSync(boot).find((f) => f.startsWith('config-'));
      const pvh = !!config && /^CONFIG_PVH=y$/m.test(readFileSync(join(boot, config), 'utf8'));
      if (pvh) {
        const elf = await extractVmlinux(join(boot, vmlinuz)).catch((e: Error) => { log(`guest: no vmlinux (${e.message}): booting the bzImage, slower`); return null; });
        if (elf) writeFileSync(join(stage, 'vmlinux'), elf);
      }
      rmSync(kdir, { recursive: true, force: true });
      renameSync(stage, kdir);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const kernelRelease = readFileSync(join(modDir, 'release'), 'utf8').trim();
  const vmlinux = existsSync(join(kdir, 'vmlinux')) ? join(kdir, 'vmlinux') : null;
  const order = readFileSync(join(modDir, 'order'), 'utf8').split('\n').filter(Boolean);

  const bb = await busybox(cache);
  const entries: CpioEntry[] = [];
  for (const d of ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'tmp', 'etc', 'lib', 'lib/modules', 'root', 'run']) {
    entries.push({ name: d, mode: DIR });
  }
  entries.push({ name: 'dev/console', mode: CHR, rdev: [5, 1] });
  entries.push({ name: 'bin/busybox', mode: EXEC, data: readFileSync(bb.path) });
  entries.push({ name: 'init', mode: EXEC, data: Buffer.from(INIT) });
  entries.push({ name: 'etc/udhcpc.script', mode: EXEC, data: Buffer.from(UDHCPC_SCRIPT) });
  entries.push({ name: 'etc/modules', mode: FILE, data: Buffer.from(order.join('\n') + '\n') });
  for (const m of order) entries.push({ name: `lib/modules/${m}.ko`, mode: FILE, data: readFileSync(join(modDir, `${m}.ko`)) });
  const initrd = join(cache, `initramfs-${kernelRelease}-${recipe}.cpio.gz`);
  writeFileSync(`${initrd}.${process.pid}`, gzipSync(cpioNewc(entries), { level: 6 }));
  renameSync(`${initrd}.${process.pid}`, initrd);

  const m: Manifest = { recipe, kernel, vmlinux, initrd, kernelPackage: pkg, kernelRelease, modules: order, busybox: bb.from };
  writeFileSync(`${manifestPath}.${process.pid}`, JSON.stringify(m, null, 2) + '\n');
  renameSync(`${manifestPath}.${process.pid}`, manifestPath);
  // what the current guest does not use goes: older initramfs images, other kernels, the
  // downloaded .debs (the unpacked kernel dir is all a later recipe change needs)
  for (const f of readdirSync(cache)) {
    const p = join(cache, f);
    if (f.startsWith('initramfs-') && p !== initrd) rmSync(p, { force: true });
    if (f.startsWith('linux-image-') && p !== kdir && statSync(p).isDirectory()) rmSync(p, { recursive: true, force: true });
  }
  rmSync(join(cache, 'dl'), { recursive: true, force: true });
  log(`guest: built ${initrd} (${statSync(initrd).size} bytes) in ${Date.now() - t0} ms`);
  return { ...m, fromCache: false, buildMs: Date.now() - t0 };
}

// `node --import tsx test/guest/build.ts` builds (or shows) the cached guest
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildGuest({ log: (s) => console.error(s) }).then((g) => console.log(JSON.stringify(g, null, 2)), (e: Error) => { console.error(e.message); process.exit(1); });
}
