// conntrack.ts — connection tracking with NAT bindings for one masquerade address: TCP, UDP and
// ICMP echo flows, endpoint-independent port mappings, static forwards, timers and a bound.
// The table knows nothing about packets: callers pass tuples and TCP flag bytes, and get flow
// numbers back. One table per NAT network (one external address); it need not know that
// address (set `externalIp` only for entries()).
//
// Behaviour (RFC 4787 UDP, RFC 5382 TCP, RFC 5508 ICMP):
//   mapping     endpoint-independent: one binding per (proto, inside ip, inside port) holds one
//               external port for every destination while any flow (or a forward) holds it;
//               no port overloading: an external port belongs to one inside endpoint per proto.
//               A new binding keeps the source port when it is free and inside [portMin,
//               portMax], else takes the next free one after it (wrapping; a source port
//               outside the range starts at portMin + port mod span: the range decides, not
//               REQ-3's "below 1024 stays below 1024"). Ports are never taken from live
//               mappings: none free → -1, counted in `noPort`. ICMP echo: the identifier
//               plays the port on both sides (the remote "port" is ignored).
//   filtering   address-and-port-dependent, as Linux does (REQ-8 allows it): lookupIn() finds
//               only flows to that remote ip:port (plus forwards, through createIn()).
//   refresh     outbound packets refresh a flow; inbound ones too (REQ-6 allows it: with the
//               filtering above only the remote the inside chose can keep it alive).
//   forwards    addForward() is a static binding ext port → inside ip:port; it also serves
//               as that endpoint's mapping for outbound flows (a forwarded UDP service talks
//               from its public port), unless the endpoint already had a dynamic one.
//   hairpin     for a packet from inside to the external address: f = lookupOut/createOut
//               (remote = external ip:port P) rewrites the source to ext:extPort(f); then
//               g = lookupIn(proto, extIp, extPort(f), P) (or createIn for a forward)
//               rewrites the destination to insideIp(g):insidePort(g); advance both flows.
//   ICMP errors are translated by the caller with lookupIn/lookupOut on the embedded tuple;
//               nothing here changes state for them, so they never tear a mapping down.
//
// TCP states (Linux conntrack names; no sequence-window tracking, so any RST closes):
//   SYN_SENT ─SYN/ACK from reply─▶ SYN_RECV ─ACK─▶ ESTABLISHED ─FIN─▶ FIN_WAIT ─ACK from the
//   other side─▶ CLOSE_WAIT ─FIN from the other side─▶ LAST_ACK ─ACK from the first closer─▶
//   TIME_WAIT; FIN_WAIT ─FIN from the other side─▶ LAST_ACK. Simultaneous open: SYN_SENT
//   ─SYN from reply─▶ SYN_RECV, then an ACK from either side. RST anywhere → CLOSE. A SYN from
//   the initiator in TIME_WAIT or CLOSE reopens (SYN_SENT). A flow created on another packet
//   (no mid-stream pickup) stays SYN_SENT: embryonic, transitory timeout, evictable.
//   UDP and ICMP: UNREPLIED until a packet comes back, then REPLIED.
// Time: `now` is whole seconds that never go back (the graph's nowSec).
// Timeouts (s, constructor options): UDP 300, ICMP 60, TCP ESTABLISHED 7440, transitory 240
// (SYN_*, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT), CLOSE 10.
//
// Layout. A flow is a stable number f; its record is 8 int32 words (32 B) at rec[8f]:
//   [ inside ip | remote ip | inside port<<16 | remote port |
//     ext port<<16 | flags<<12 | proto<<4 | state | expiry second | prev | next | packets ]
// One open-addressing index (linear probing, power of two, load ≤ 1/2, backward-shift
// deletion) holds both tuples of every flow in 8-byte buckets [ 32-bit hash | f<<1 | dir ]:
// dir 0 is keyed by (proto, inside ip:port, remote ip:port), dir 1 by (proto, remote
// ip:port, ext port). A lookup reads buckets until the hash matches (~1.5 at load ½; 8
// buckets per cache line) and confirms the key in the record, which holds everything the
// caller then reads or refreshes: one bucket line + one record line. Bindings live apart
// (only creation and removal touch them): 16-byte records, an endpoint hash, an owner array
// (proto, ext port) → binding (768 KiB) and a free-port bitmap per proto (24 KiB).
//
// Timers and the bound. Each flow sits on one of nine lists, one per (timeout, eviction
// class); timeouts are constant per list and a flow moves to its list's tail with
// expiry = now + timeout (only when that second changes), so every list is sorted: expire()
// pops due heads, O(1) per flow removed. When maxEntries flows exist, a new flow evicts the
// least recently active head among CLOSE/LAST_ACK/TIME_WAIT, else among the embryonic
// (SYN_SENT/SYN_RECV, UNREPLIED UDP/ICMP); flows that saw both directions are never evicted:
// then creation fails (counted in `full`).
//
// Choice. Buckets carrying the whole original key (16 B) were the alternative: they confirm a
// match without the record, but the caller needs the record line anyway (ext port or inside
// ip:port, state, timer), so they would double the index (64 → 96 B per flow) for no line saved.
//
// Cost. Lookups: one hash, ~1.5 bucket reads, one record read, no allocation; create/remove
// O(1) (port search: a bitmap scan, 32 ports per word). Memory: 32 B record + 4 buckets ×
// 8 B = 64 B per flow at the full bound (68.5 B measured at 1M; arrays start at 1024 flows
// and double up to maxEntries) + 16–32 B per mapping + 792 KiB per table (port owners).
// Measured (`node --import tsx bench/conntrack.ts --seconds 2`, node 20.20, AMD EPYC, one core
// of a shared 2-vCPU KVM guest; best rounds), random flows each packet:
//   flows   lookupOut+extPort  lookupIn+inside ip:port  NAT work (lookup, accessors, touch)
//       1        79 M/s             75 M/s                  45 M/s
//     10k        36 M/s             33 M/s                  21 M/s (31 M/s in trains of 8)
//      1M       5.6 M/s            5.7 M/s                 3.2 M/s (15 M/s in trains of 8)
// At 1M flows every packet misses twice (bucket, then record; ~64 MiB, 4 KiB pages under
// KVM): a bare pair of dependent random reads over 64 MiB runs at ~11 M/s on this guest.
// New flows (createOut + expire at steady state): 2.6 M/s into 1M flows of live mappings,
// 2.7 M/s when each needs a new mapping (50k), 1.0 M/s when each evicts one from a full 1M.

export const CtState = {
  free: 0,
  synSent: 1,
  synRecv: 2,
  established: 3,
  finWait: 4,
  closeWait: 5,
  lastAck: 6,
  timeWait: 7,
  close: 8,
  /** UDP/ICMP: seen from the initiator only */
  unreplied: 9,
  /** UDP/ICMP: seen both ways */
  replied: 10,
} as const;

const STATE_NAMES = ['FREE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'UNREPLIED', 'REPLIED'] as const;
export type CtStateName = Exclude<(typeof STATE_NAMES)[number], 'FREE'>;
/** Linux conntrack's name of a CtState value. */
export function ctStateName(s: number): string { return STATE_NAMES[s] ?? '?'; }

export interface ConntrackTimeouts {
  udp: number;
  tcpEstablished: number;
  /** SYN_SENT, SYN_RECV, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT */
  tcpTransitory: number;
  icmp: number;
  /** after a RST */
  tcpClose: number;
}

export const CONNTRACK_TIMEOUTS: Readonly<ConntrackTimeouts> = { udp: 300, tcpEstablished: 7440, tcpTransitory: 240, icmp: 60, tcpClose: 10 };

export interface ConntrackOptions {
  /** flows at most */
  maxEntries: number;
  /** seconds; defaults CONNTRACK_TIMEOUTS */
  timeouts?: Partial<ConntrackTimeouts>;
  /** external ports handed out by dynamic mappings (default 1024..65535) */
  portMin?: number;
  portMax?: number;
  /** the masquerade address, for entries() only */
  externalIp?: number;
}

/** One flow as `show conntrack` prints it (like conntrack -L). */
export interface ConntrackEntry {
  proto: number;
  state: CtStateName;
  insideIp: number;
  insidePort: number;
  remoteIp: number;
  remotePort: number;
  extIp: number;
  extPort: number;
  /** seconds left */
  expiresIn: number;
  packets: number;
  /** who opened it: an inside host, or an outside one through a forward */
  origin: 'inside' | 'outside';
}

export interface ConntrackForward {
  proto: number;
  extPort: number;
  insideIp: number;
  insidePort: number;
  /** flows using the binding now */
  flows: number;
}

const EMPTY = -1;
const ICMP = 1, TCP = 6, UDP = 17;
const FIN = 0x01, SYN = 0x02, RST = 0x04, ACK = 0x10; // TCP flag bits as in byte 13 (wire/l4 TcpFlag)

// flow record words (word 0: inside ip)
const R_REM_IP = 1, R_PORTS = 2, R_META = 3, R_EXP = 4, R_PREV = 5, R_NEXT = 6, R_PKTS = 7;
// meta flags (bits 12..15)
const F_ORIGIN_OUT = 0x1000; // created by createIn (the initiator is outside)
const F_FIN_REPLY = 0x2000; // the first FIN came from the reply direction
const F_SIMUL = 0x4000; // simultaneous open: SYNs both ways

const { synSent: SYN_SENT, synRecv: SYN_RECV, established: ESTABLISHED, finWait: FIN_WAIT, closeWait: CLOSE_WAIT,
  lastAck: LAST_ACK, timeWait: TIME_WAIT, close: CLOSE, unreplied: UNREPLIED, replied: REPLIED } = CtState;

// lists, in eviction order: [0, 2) closed, [2, 5) embryonic, [5, 9) never evicted
const L_CLOSE = 0, L_CLOSING = 1, L_SYN = 2, L_UDP_NEW = 3, L_ICMP_NEW = 4, L_FIN = 5, L_EST = 6, L_UDP = 7, L_ICMP = 8;
const N_LISTS = 9, END_CLOSED = 2, END_EMBRYONIC = 5;

/** list of a flow, by meta & 0xfff (proto << 4 | state) */
const LIST_OF = new Int8Array(18 << 4).fill(-1);
{
  const t = TCP << 4;
  LIST_OF[t | SYN_SENT] = L_SYN; LIST_OF[t | SYN_RECV] = L_SYN; LIST_OF[t | ESTABLISHED] = L_EST;
  LIST_OF[t | FIN_WAIT] = L_FIN; LIST_OF[t | CLOSE_WAIT] = L_FIN; LIST_OF[t | LAST_ACK] = L_CLOSING;
  LIST_OF[t | TIME_WAIT] = L_CLOSING; LIST_OF[t | CLOSE] = L_CLOSE;
  LIST_OF[(UDP << 4) | UNREPLIED] = L_UDP_NEW; LIST_OF[(UDP << 4) | REPLIED] = L_UDP;
  LIST_OF[(ICMP << 4) | UNREPLIED] = L_ICMP_NEW; LIST_OF[(ICMP << 4) | REPLIED] = L_ICMP;
}

// binding record words and meta flags
const B_IP = 0, B_PORTS = 1, B_META = 2, B_REFS = 3;
const BM_FWD = 0x100, BM_INDEXED = 0x200;
const MAX_BINDINGS = 3 * 65536;

/** 0 icmp, 1 tcp, 2 udp: the block of the owner array and the port bitmap */
function pidx(proto: number): number { return proto === TCP ? 1 : proto === UDP ? 2 : 0; }

export class Conntrack {
  readonly maxEntries: number;
  readonly portMin: number;
  readonly portMax: number;
  readonly timeouts: Readonly<ConntrackTimeouts>;
  /** the masquerade address (entries() only) */
  externalIp: number;
  /** flows */
  size = 0;
  /** live bindings (dynamic mappings and forwards) */
  mappings = 0;
  // counters
  created = 0;
  expired = 0;
  /** flows removed to make room */
  evicted = 0;
  /** creations refused: no external port free */
  noPort = 0;
  /** creations refused: full of flows that may not be evicted */
  full = 0;
  /** createIn refused: the inside tuple is already a flow through another mapping */
  clash = 0;

  private cap = 0;
  private rec: Int32Array = new Int32Array(0);
  private buckets: Int32Array = new Int32Array(0);
  private mask = 0;
  private freeFlow = EMPTY;
  private usedFlows = 0;
  private readonly head = new Int32Array(N_LISTS).fill(EMPTY);
  private readonly tail = new Int32Array(N_LISTS).fill(EMPTY);
  private readonly tmo = new Int32Array(N_LISTS);
  private lastNow = 0;

  private bcap = 0;
  private bind: Int32Array = new Int32Array(0);
  private freeBinding = EMPTY;
  private usedBindings = 0;
  private ebuckets: Int32Array = new Int32Array(0);
  private emask = 0;
  private readonly owner = new Int32Array(3 * 65536).fill(EMPTY);
  private readonly portBits = new Uint32Array(3 * 2048);
  private readonly freePorts = new Int32Array(3);
  private readonly fwd: number[] = [];

  constructor(opts: ConntrackOptions) {
    const { maxEntries } = opts;
    if (!(Number.isInteger(maxEntries) && maxEntries >= 1 && maxEntries <= 1 << 26)) throw new RangeError('conntrack: maxEntries must be an integer in 1..2^26');
    const portMin = opts.portMin ?? 1024, portMax = opts.portMax ?? 65535;
    if (!(Number.isInteger(portMin) && Number.isInteger(portMax) && portMin >= 1 && portMin <= portMax && portMax <= 65535)) {
      throw new RangeError('conntrack: need 1 ≤ portMin ≤ portMax ≤ 65535');
    }
    const t = { ...CONNTRACK_TIMEOUTS, ...opts.timeouts };
    for (const [k, v] of Object.entries(t)) {
      if (!(Number.isInteger(v) && v >= 1 && v <= 1 << 24)) throw new RangeError(`conntrack: timeouts.${k} must be an integer number of seconds ≥ 1`);
    }
    this.maxEntries = maxEntries;
    this.portMin = portMin;
    this.portMax = portMax;
    this.timeouts = Object.freeze(t);
    this.externalIp = opts.externalIp ?? 0;
    const m = this.tmo;
    m[L_CLOSE] = t.tcpClose; m[L_CLOSING] = t.tcpTransitory; m[L_SYN] = t.tcpTransitory; m[L_FIN] = t.tcpTransitory;
    m[L_EST] = t.tcpEstablished; m[L_UDP_NEW] = t.udp; m[L_UDP] = t.udp; m[L_ICMP_NEW] = t.icmp; m[L_ICMP] = t.icmp;
    this.freePorts.fill(portMax - portMin + 1);
    this.growFlows(Math.min(maxEntries, 1024));
    this.growBindings(256);
  }

  // ---- lookups (the packet path) ----

  /** Flow of a packet from inside (srcIp:srcPort → dstIp:dstPort), or -1. ICMP: ports = identifier. */
  lookupOut(proto: number, srcIp: number, srcPort: number, dstIp: number, dstPort: number): number {
    if (proto === ICMP) dstPort = srcPort;
    const a = srcIp | 0, c = dstIp | 0, ports = (srcPort << 16) | dstPort;
    return this.findOut(hashOut(proto, a, c, ports), proto, a, c, ports);
  }

  private findOut(h: number, proto: number, a: number, c: number, ports: number): number {
    const b = this.buckets, rec = this.rec, mask = this.mask;
    let i = h & mask;
    for (;;) {
      const v = b[(i << 1) + 1];
      if (v === EMPTY) return -1;
      if (b[i << 1] === h && (v & 1) === 0) {
        const r = v << 2;
        if (rec[r] === a && rec[r + 1] === c && rec[r + 2] === ports && ((rec[r + 3] >>> 4) & 0xff) === proto) return v >> 1;
      }
      i = (i + 1) & mask;
    }
  }

  /** Flow of a packet from outside srcIp:srcPort to the external address, port dstPort; or -1. ICMP: srcPort is ignored. */
  lookupIn(proto: number, srcIp: number, srcPort: number, dstPort: number): number {
    if (proto === ICMP) srcPort = 0;
    const c = srcIp | 0;
    const h = hashIn(proto, c, (srcPort << 16) | dstPort);
    const b = this.buckets, rec = this.rec, mask = this.mask;
    let i = h & mask;
    for (;;) {
      const v = b[(i << 1) + 1];
      if (v === EMPTY) return -1;
      if (b[i << 1] === h && (v & 1) === 1) {
        const r = (v ^ 1) << 2;
        const m = rec[r + 3];
        if (rec[r + 1] === c && m >>> 16 === dstPort && ((m >>> 4) & 0xff) === proto && (proto === ICMP || (rec[r + 2] & 0xffff) === srcPort)) return v >> 1;
      }
      i = (i + 1) & mask;
    }
  }

  // ---- per-flow accessors ----

  insideIp(f: number): number { return this.rec[f << 3] >>> 0; }
  insidePort(f: number): number { return this.rec[(f << 3) + R_PORTS] >>> 16; }
  remoteIp(f: number): number { return this.rec[(f << 3) + R_REM_IP] >>> 0; }
  /** ICMP: the inside identifier */
  remotePort(f: number): number { return this.rec[(f << 3) + R_PORTS] & 0xffff; }
  extPort(f: number): number { return this.rec[(f << 3) + R_META] >>> 16; }
  proto(f: number): number { return (this.rec[(f << 3) + R_META] >>> 4) & 0xff; }
  /** a CtState value */
  state(f: number): number { return this.rec[(f << 3) + R_META] & 15; }
  /** the second the flow expires at */
  expires(f: number): number { return this.rec[(f << 3) + R_EXP]; }
  packets(f: number): number { return this.rec[(f << 3) + R_PKTS] >>> 0; }
  /** created by createIn (through a forward) */
  fromOutside(f: number): boolean { return (this.rec[(f << 3) + R_META] & F_ORIGIN_OUT) !== 0; }

  // ---- creation ----

  /**
   * A flow for a packet from inside that lookupOut() did not find (if it exists, it is
   * returned). -1: proto not 1/6/17, full of flows that may not be evicted (`full`), or no
   * external port free (`noPort`). now: seconds, never decreasing.
   */
  createOut(proto: number, srcIp: number, srcPort: number, dstIp: number, dstPort: number, now: number): number {
    if (proto !== TCP && proto !== UDP && proto !== ICMP) return -1;
    if (proto === ICMP) dstPort = srcPort;
    this.lastNow = now;
    const ip = srcIp | 0, c = dstIp | 0, ports = (srcPort << 16) | dstPort;
    const h = hashOut(proto, ip, c, ports);
    const f = this.findOut(h, proto, ip, c, ports);
    if (f >= 0) return f;
    if (this.size >= this.maxEntries && !this.evictOne()) { this.full++; return -1; }
    if (this.size >= this.cap) this.growFlows(Math.min(this.cap * 2, this.maxEntries));
    let bi = this.findBinding(proto, ip, srcPort);
    if (bi < 0) {
      const ext = this.allocPort(pidx(proto), srcPort);
      if (ext < 0) { this.noPort++; return -1; }
      bi = this.addBinding(proto, ip, srcPort, ext, 0, true);
    }
    return this.insertFlow(proto, ip, srcPort, c, dstPort, bi, 0, now, h);
  }

  /**
   * A flow for an unsolicited packet from outside srcIp:srcPort to external port extPort that
   * lookupIn() did not find: made only through a forward (else -1, not counted); -1 and `clash`
   * when the inside tuple is already a flow of another mapping; -1 when full (`full`).
   */
  createIn(proto: number, srcIp: number, srcPort: number, extPort: number, now: number): number {
    if (proto !== TCP && proto !== UDP) return -1;
    const bi = this.owner[pidx(proto) * 65536 + (extPort & 0xffff)];
    if (bi < 0 || (this.bind[(bi << 2) + B_META] & BM_FWD) === 0) return -1;
    this.lastNow = now;
    const f = this.lookupIn(proto, srcIp, srcPort, extPort);
    if (f >= 0) return f;
    const w = bi << 2;
    const inIp = this.bind[w + B_IP], inPort = this.bind[w + B_PORTS] >>> 16;
    if (this.lookupOut(proto, inIp, inPort, srcIp, srcPort) >= 0) { this.clash++; return -1; }
    if (this.size >= this.maxEntries && !this.evictOne()) { this.full++; return -1; }
    if (this.size >= this.cap) this.growFlows(Math.min(this.cap * 2, this.maxEntries));
    return this.insertFlow(proto, inIp, inPort, srcIp | 0, srcPort, bi, F_ORIGIN_OUT, now, hashOut(proto, inIp, srcIp | 0, (inPort << 16) | srcPort));
  }

  // ---- forwards ----

  /**
   * Forward proto extPort (any port 1..65535, inside the dynamic range or not) to
   * insideIp:insidePort. A dynamic mapping of another endpoint holding the port loses it: its
   * flows are removed (a scan of all flows: configuration time). Throws if the port is
   * already forwarded elsewhere.
   */
  addForward(proto: number, extPort: number, insideIp: number, insidePort: number): void {
    if (proto !== TCP && proto !== UDP) throw new RangeError('conntrack: forwards are tcp (6) or udp (17)');
    for (const p of [extPort, insidePort]) if (!(Number.isInteger(p) && p >= 1 && p <= 65535)) throw new RangeError(`conntrack: port ${p} is out of range (1..65535)`);
    const ip = insideIp | 0;
    const o = this.owner[pidx(proto) * 65536 + extPort];
    if (o >= 0) {
      const w = o << 2, bd = this.bind;
      const same = bd[w + B_IP] === ip && bd[w + B_PORTS] >>> 16 === insidePort;
      if (bd[w + B_META] & BM_FWD) {
        if (same) return;
        throw new RangeError(`conntrack: ${proto === TCP ? 'tcp' : 'udp'} ${extPort} is already forwarded`);
      }
      if (same) { bd[w + B_META] |= BM_FWD; this.fwd.push(o); return; }
      // another endpoint's dynamic mapping: its flows go, and with the last one the binding
      const rec = this.rec;
      for (let f = 0; f < this.usedFlows; f++) {
        const m = rec[(f << 3) + R_META];
        if ((m & 15) !== 0 && m >>> 16 === extPort && ((m >>> 4) & 0xff) === proto) this.removeFlow(f);
      }
    }
    const p = pidx(proto);
    this.portBits[(p << 11) + (extPort >>> 5)] |= 1 << (extPort & 31);
    if (extPort >= this.portMin && extPort <= this.portMax) this.freePorts[p]--;
    this.fwd.push(this.addBinding(proto, ip, insidePort, extPort, BM_FWD, this.findBinding(proto, ip, insidePort) < 0));
  }

  /** Stop forwarding; flows already made through it live on until they expire. */
  removeForward(proto: number, extPort: number): boolean {
    if (proto !== TCP && proto !== UDP) return false;
    const bi = this.owner[pidx(proto) * 65536 + (extPort & 0xffff)];
    if (bi < 0 || (this.bind[(bi << 2) + B_META] & BM_FWD) === 0) return false;
    this.bind[(bi << 2) + B_META] &= ~BM_FWD;
    this.fwd.splice(this.fwd.indexOf(bi), 1);
    if (this.bind[(bi << 2) + B_REFS] === 0) this.releaseBinding(bi);
    return true;
  }

  forwards(): ConntrackForward[] {
    return this.fwd.map((bi) => {
      const w = bi << 2, bd = this.bind;
      return { proto: bd[w + B_META] & 0xff, extPort: bd[w + B_PORTS] & 0xffff, insideIp: bd[w + B_IP] >>> 0, insidePort: bd[w + B_PORTS] >>> 16, flows: bd[w + B_REFS] };
    });
  }

  // ---- state and timers ----

  /**
   * A TCP packet of flow f (flags: byte 13 of its header) went by: advance the state machine
   * and the timer. Call it for every packet, the one that created the flow included.
   */
  tcp(f: number, fromInside: boolean, flags: number, now: number): void {
    const rec = this.rec, r = f << 3;
    const m = rec[r + R_META];
    const st = m & 15;
    if (((m >>> 4) & 0xff) !== TCP || st === 0) return;
    rec[r + R_PKTS]++;
    const orig = fromInside === ((m & F_ORIGIN_OUT) === 0); // from the initiator's side
    let ns = st, fl = m & (F_FIN_REPLY | F_SIMUL);
    if (flags & RST) {
      ns = CLOSE;
    } else if (flags & SYN) {
      if (flags & ACK) {
        if (st === SYN_SENT && !orig) ns = SYN_RECV;
      } else if (st === SYN_SENT) {
        if (!orig) { ns = SYN_RECV; fl |= F_SIMUL; }
      } else if ((st === TIME_WAIT || st === CLOSE) && orig) {
        ns = SYN_SENT; fl = 0; // the tuple reused for a new connection
      }
    } else if (flags & FIN) {
      if (st === ESTABLISHED || st === SYN_RECV) { ns = FIN_WAIT; fl = orig ? fl & ~F_FIN_REPLY : fl | F_FIN_REPLY; }
      else if ((st === FIN_WAIT || st === CLOSE_WAIT) && orig === ((fl & F_FIN_REPLY) !== 0)) ns = LAST_ACK;
    } else if (flags & ACK) {
      const fromCloser = orig === ((fl & F_FIN_REPLY) === 0);
      if (st === SYN_RECV) { if (orig || (fl & F_SIMUL)) ns = ESTABLISHED; }
      else if (st === FIN_WAIT) { if (!fromCloser) ns = CLOSE_WAIT; }
      else if (st === LAST_ACK) { if (fromCloser) ns = TIME_WAIT; }
    }
    if (ns !== st) this.setState(f, (m & ~(15 | F_FIN_REPLY | F_SIMUL)) | fl | ns, now);
    else this.refresh(f, m, now);
  }

  /**
   * A UDP or ICMP packet of flow f went by: the first one from the reply side makes it
   * REPLIED; every one refreshes the timer (on TCP flows: the timer only).
   */
  touch(f: number, fromInside: boolean, now: number): void {
    const rec = this.rec, r = f << 3;
    const m = rec[r + R_META];
    if ((m & 15) === 0) return;
    rec[r + R_PKTS]++;
    if ((m & 15) === UNREPLIED && fromInside === ((m & F_ORIGIN_OUT) !== 0)) this.setState(f, (m & ~15) | REPLIED, now);
    else this.refresh(f, m, now);
  }

  /** Remove flows whose time is up (expiry ≤ now); mappings go with their last flow. */
  expire(now: number): number {
    this.lastNow = now;
    const rec = this.rec, head = this.head;
    let n = 0;
    for (let l = 0; l < N_LISTS; l++) {
      for (let f = head[l]; f !== EMPTY && rec[(f << 3) + R_EXP] <= now; f = head[l]) { this.removeFlow(f); n++; }
    }
    this.expired += n;
    return n;
  }

  /** Remove every flow (forwards stay); returns how many. */
  flush(): number {
    let n = 0;
    for (let l = 0; l < N_LISTS; l++) while (this.head[l] !== EMPTY) { this.removeFlow(this.head[l]); n++; }
    return n;
  }

  /** Every flow, for show conntrack (allocates). now defaults to the last time seen. */
  entries(now = this.lastNow): ConntrackEntry[] {
    const out: ConntrackEntry[] = [];
    const rec = this.rec;
    for (let l = 0; l < N_LISTS; l++) {
      for (let f = this.head[l]; f !== EMPTY; f = rec[(f << 3) + R_NEXT]) {
        const r = f << 3, m = rec[r + R_META];
        out.push({
          proto: (m >>> 4) & 0xff, state: STATE_NAMES[m & 15] as CtStateName,
          insideIp: rec[r] >>> 0, insidePort: rec[r + R_PORTS] >>> 16,
          remoteIp: rec[r + R_REM_IP] >>> 0, remotePort: rec[r + R_PORTS] & 0xffff,
          extIp: this.externalIp >>> 0, extPort: m >>> 16,
          expiresIn: Math.max(0, rec[r + R_EXP] - now), packets: rec[r + R_PKTS] >>> 0,
          origin: m & F_ORIGIN_OUT ? 'outside' : 'inside',
        });
      }
    }
    return out;
  }

  /** Bytes held by the typed arrays. */
  memoryBytes(): number {
    return this.rec.byteLength + this.buckets.byteLength + this.bind.byteLength + this.ebuckets.byteLength
      + this.owner.byteLength + this.portBits.byteLength;
  }

  // ---- internals: flows ----

  /** hOut: hashOut of the original tuple */
  private insertFlow(proto: number, inIp: number, inPort: number, remIp: number, remPort: number, bi: number, flags: number, now: number, hOut: number): number {
    let f = this.freeFlow;
    if (f !== EMPTY) this.freeFlow = this.rec[(f << 3) + R_NEXT]; else f = this.usedFlows++;
    const rec = this.rec, r = f << 3;
    const ext = this.bind[(bi << 2) + B_PORTS] & 0xffff;
    const ports = (inPort << 16) | remPort;
    const st = proto === TCP ? SYN_SENT : UNREPLIED;
    rec[r] = inIp; rec[r + R_REM_IP] = remIp; rec[r + R_PORTS] = ports;
    const m = (ext << 16) | flags | (proto << 4) | st;
    rec[r + R_META] = m; rec[r + R_PKTS] = 0;
    const l = LIST_OF[m & 0xfff];
    rec[r + R_EXP] = now + this.tmo[l];
    this.linkTail(f, l);
    this.insertBucket(hOut, f << 1);
    this.insertBucket(hashIn(proto, remIp, ((proto === ICMP ? 0 : remPort) << 16) | ext), (f << 1) | 1);
    this.bind[(bi << 2) + B_REFS]++;
    this.size++;
    this.created++;
    return f;
  }

  private removeFlow(f: number): void {
    const rec = this.rec, r = f << 3;
    const m = rec[r + R_META], ports = rec[r + R_PORTS];
    const proto = (m >>> 4) & 0xff, ext = m >>> 16;
    this.deleteBucket(hashOut(proto, rec[r], rec[r + R_REM_IP], ports), f << 1);
    this.deleteBucket(hashIn(proto, rec[r + R_REM_IP], ((proto === ICMP ? 0 : ports & 0xffff) << 16) | ext), (f << 1) | 1);
    this.unlink(f, LIST_OF[m & 0xfff]);
    rec[r + R_META] = 0;
    rec[r + R_NEXT] = this.freeFlow;
    this.freeFlow = f;
    this.size--;
    const bi = this.owner[pidx(proto) * 65536 + ext];
    const w = bi << 2;
    if (--this.bind[w + B_REFS] === 0 && (this.bind[w + B_META] & BM_FWD) === 0) this.releaseBinding(bi);
  }

  /** Least recently active flow among the closed, else the embryonic; false if none. */
  private evictOne(): boolean {
    const rec = this.rec, head = this.head, tmo = this.tmo;
    let best = EMPTY, bestT = 0;
    for (let l = 0; l < END_EMBRYONIC; l++) {
      if (l === END_CLOSED && best !== EMPTY) break;
      const f = head[l];
      if (f === EMPTY) continue;
      const t = rec[(f << 3) + R_EXP] - tmo[l]; // last refresh
      if (best === EMPTY || t < bestT) { best = f; bestT = t; }
    }
    if (best === EMPTY) return false;
    this.removeFlow(best);
    this.evicted++;
    return true;
  }

  private setState(f: number, m: number, now: number): void {
    const rec = this.rec, r = f << 3;
    this.unlink(f, LIST_OF[rec[r + R_META] & 0xfff]);
    rec[r + R_META] = m;
    const l = LIST_OF[m & 0xfff];
    rec[r + R_EXP] = now + this.tmo[l];
    this.linkTail(f, l);
  }

  private refresh(f: number, m: number, now: number): void {
    const l = LIST_OF[m & 0xfff];
    const exp = now + this.tmo[l];
    const r = f << 3;
    if (this.rec[r + R_EXP] === exp) return;
    this.rec[r + R_EXP] = exp;
    if (this.tail[l] !== f) { this.unlink(f, l); this.linkTail(f, l); }
  }

  private linkTail(f: number, l: number): void {
    const rec = this.rec, t = this.tail[l];
    rec[(f << 3) + R_PREV] = t;
    rec[(f << 3) + R_NEXT] = EMPTY;
    if (t !== EMPTY) rec[(t << 3) + R_NEXT] = f; else this.head[l] = f;
    this.tail[l] = f;
  }

  private unlink(f: number, l: number): void {
    const rec = this.rec;
    const p = rec[(f << 3) + R_PREV], n = rec[(f << 3) + R_NEXT];
    if (p !== EMPTY) rec[(p << 3) + R_NEXT] = n; else this.head[l] = n;
    if (n !== EMPTY) rec[(n << 3) + R_PREV] = p; else this.tail[l] = p;
  }

  private insertBucket(h: number, v: number): void {
    const b = this.buckets, mask = this.mask;
    let i = h & mask;
    while (b[(i << 1) + 1] !== EMPTY) i = (i + 1) & mask;
    b[i << 1] = h; b[(i << 1) + 1] = v;
  }

  private deleteBucket(h: number, v: number): void {
    deleteShift(this.buckets, this.mask, h, v);
  }

  private growFlows(cap: number): void {
    const rec = new Int32Array(cap << 3);
    rec.set(this.rec);
    this.rec = rec;
    this.cap = cap;
    let count = 16;
    while (count < cap * 4) count *= 2;
    this.buckets = rehash(this.buckets, count);
    this.mask = count - 1;
  }

  // ---- internals: bindings and ports ----

  private findBinding(proto: number, ip: number, port: number): number {
    const h = hashEp(proto, ip, port);
    const eb = this.ebuckets, bd = this.bind, mask = this.emask;
    let i = h & mask;
    for (;;) {
      const v = eb[(i << 1) + 1];
      if (v === EMPTY) return -1;
      if (eb[i << 1] === h) {
        const w = v << 2;
        if (bd[w] === ip && bd[w + B_PORTS] >>> 16 === port && (bd[w + B_META] & 0xff) === proto) return v;
      }
      i = (i + 1) & mask;
    }
  }

  /** A binding for a port already marked used; `index`: the endpoint's mapping for outbound flows. */
  private addBinding(proto: number, ip: number, port: number, ext: number, meta: number, index: boolean): number {
    if (this.freeBinding === EMPTY && this.usedBindings >= this.bcap) this.growBindings(Math.min(this.bcap * 2, MAX_BINDINGS));
    let bi = this.freeBinding;
    if (bi !== EMPTY) this.freeBinding = this.bind[bi << 2]; else bi = this.usedBindings++;
    const bd = this.bind, w = bi << 2;
    bd[w] = ip; bd[w + B_PORTS] = (port << 16) | ext; bd[w + B_REFS] = 0;
    if (index) {
      meta |= BM_INDEXED;
      insertPair(this.ebuckets, this.emask, hashEp(proto, ip, port), bi);
    }
    bd[w + B_META] = proto | meta;
    this.owner[pidx(proto) * 65536 + ext] = bi;
    this.mappings++;
    return bi;
  }

  private releaseBinding(bi: number): void {
    const bd = this.bind, w = bi << 2;
    const meta = bd[w + B_META], proto = meta & 0xff;
    const ip = bd[w], port = bd[w + B_PORTS] >>> 16, ext = bd[w + B_PORTS] & 0xffff;
    if (meta & BM_INDEXED) deleteShift(this.ebuckets, this.emask, hashEp(proto, ip, port), bi);
    const p = pidx(proto);
    this.owner[p * 65536 + ext] = EMPTY;
    this.portBits[(p << 11) + (ext >>> 5)] &= ~(1 << (ext & 31));
    if (ext >= this.portMin && ext <= this.portMax) this.freePorts[p]++;
    bd[w + B_META] = 0;
    bd[w] = this.freeBinding;
    this.freeBinding = bi;
    this.mappings--;
    if (meta & BM_INDEXED) {
      // a forward to the same endpoint now serves as its mapping
      for (let k = 0; k < this.fwd.length; k++) {
        const x = this.fwd[k] << 2;
        if (bd[x] === ip && bd[x + B_PORTS] >>> 16 === port && (bd[x + B_META] & 0xff) === proto && !(bd[x + B_META] & BM_INDEXED)) {
          bd[x + B_META] |= BM_INDEXED;
          insertPair(this.ebuckets, this.emask, hashEp(proto, ip, port), this.fwd[k]);
          break;
        }
      }
    }
  }

  /** Take the external port for a new dynamic mapping: `port` if free and in range, else the next free; -1 if none. */
  private allocPort(p: number, port: number): number {
    if (this.freePorts[p] === 0) return -1;
    const lo = this.portMin, hi = this.portMax;
    const start = port >= lo && port <= hi ? port : lo + (port % (hi - lo + 1));
    let x = scanFree(this.portBits, p << 11, start, hi);
    if (x < 0) x = scanFree(this.portBits, p << 11, lo, start - 1);
    // freePorts > 0 guarantees a hit
    this.portBits[(p << 11) + (x >>> 5)] |= 1 << (x & 31);
    this.freePorts[p]--;
    return x;
  }

  private growBindings(cap: number): void {
    const bd = new Int32Array(cap << 2);
    bd.set(this.bind);
    this.bind = bd;
    this.bcap = cap;
    let count = 16;
    while (count < cap * 2) count *= 2;
    this.ebuckets = rehash(this.ebuckets, count);
    this.emask = count - 1;
  }
}

/** First clear bit in [from, to] of the bitmap block at word base, or -1. */
function scanFree(bits: Uint32Array, base: number, from: number, to: number): number {
  if (from > to) return -1;
  const last = to >>> 5;
  for (let k = from >>> 5; k <= last; k++) {
    let w = ~bits[base + k];
    if (k === from >>> 5) w &= -1 << (from & 31);
    if (k === last) w &= -1 >>> (31 - (to & 31));
    if (w !== 0) return (k << 5) + (31 - Math.clz32(w & -w));
  }
  return -1;
}

/** Insert [h | v] into a pair-bucket index (there is room: load ≤ 1/2). */
function insertPair(b: Int32Array, mask: number, h: number, v: number): void {
  let i = h & mask;
  while (b[(i << 1) + 1] !== EMPTY) i = (i + 1) & mask;
  b[i << 1] = h; b[(i << 1) + 1] = v;
}

/** Delete the bucket [h | v] with backward shift: no tombstones. */
function deleteShift(b: Int32Array, mask: number, h: number, v: number): void {
  let i = h & mask;
  while (b[(i << 1) + 1] !== v) i = (i + 1) & mask;
  let j = i;
  for (;;) {
    j = (j + 1) & mask;
    const wj = j << 1;
    if (b[wj + 1] === EMPTY) break;
    const home = b[wj] & mask;
    // the bucket at j may move into the hole at i if its home is not in (i, j] (cyclically)
    if (i <= j ? home <= i || home > j : home <= i && home > j) {
      b[i << 1] = b[wj]; b[(i << 1) + 1] = b[wj + 1];
      i = j;
    }
  }
  b[(i << 1) + 1] = EMPTY;
}

/** A pair-bucket index of `count` buckets holding the old one's entries. */
function rehash(old: Int32Array, count: number): Int32Array {
  const b = new Int32Array(count * 2);
  for (let w = 1; w < b.length; w += 2) b[w] = EMPTY;
  const mask = count - 1;
  for (let w = 0; w < old.length; w += 2) if (old[w + 1] !== EMPTY) insertPair(b, mask, old[w], old[w + 1]);
  return b;
}

// MurmurHash3 (x86_32) rounds over the key words, seeded by the key kind and proto.
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** original tuple: (proto, inside ip, remote ip, inside port << 16 | remote port) */
function hashOut(proto: number, a: number, c: number, ports: number): number {
  return fmix(mix(mix(mix(proto, a), c), ports));
}

/** reply tuple: (proto, remote ip, remote port << 16 | ext port) */
function hashIn(proto: number, c: number, ports: number): number {
  return fmix(mix(mix(proto | 0x100, c), ports));
}

/** inside endpoint: (proto, ip, port) */
function hashEp(proto: number, ip: number, port: number): number {
  return fmix(mix(mix(proto | 0x200, ip), port));
}
