// server.ts — the DHCP server of one nat or isolated network (RFC 2131, options RFC 2132).
//
// SYNOPSIS
//   const srv = new DhcpServer({ network: 'lab', serverMac, serverIp, subnet: { net, len },
//     range: [first, last], leaseSeconds: 3600, dns: [serverIp], domain: null, static: [],
//     store: new LeaseStore({ dir: stateDir, network: 'lab', log }), log });
//   const n = srv.handle(b, o, len, nowMs);   // a frame to UDP port 67 -> reply written in place, or 0
//   srv.tick(nowMs);                          // from the timer wheel, e.g. once a second
//   srv.leases(nowMs);                        // `show leases`
//   await srv.close();                        // flushes the lease file
//
// MESSAGES
//   DISCOVER  -> OFFER; the address is held for the offer's lifetime (60 s)
//   REQUEST   selecting (server id ours)   -> ACK, or NAK if it is not what we offered / not free
//             selecting (server id other)  -> nothing; our offer is withdrawn
//             init-reboot (requested IP, no ciaddr), renewing / rebinding (ciaddr):
//                 ACK if the address is the client's or free in the range, NAK if it is on
//                 another subnet or someone else's, nothing if it is not ours to judge
//                 (on our subnet, outside the range, nobody's reservation: RFC 2131 4.3.2)
//   DECLINE   -> the address is quarantined (10 min) and the binding dropped; no reply
//   RELEASE   -> the binding ends (the address stays the client's "previous" one); no reply
//   INFORM    -> ACK with the configuration options, no address, no lease time
//
// WHERE REPLIES GO (RFC 2131 4.1; relayed requests, giaddr != 0, are dropped: the pool is
// this segment's): NAK broadcast; else ciaddr != 0 -> unicast to ciaddr; else broadcast flag
// -> broadcast; else unicast to chaddr / yiaddr (we write the Ethernet header ourselves, so a
// client without an address yet, such as udhcpc with the flag clear, still receives it).
//
// TIME: handle/tick/leases take a monotonic ms clock. Leases are kept in epoch ms (they are
// written to disk): the server takes wallClock() - nowMs once, at the first call, and adds it
// to nowMs from then on, so a wall-clock step while running moves no timer.
//
// COUNTERS: discover/request/decline/release/inform received, offer/ack/nak sent, and
// `dropped` by reason (DhcpDrop) for every frame that got no reply it should have had.

import { ETH_HLEN, ETHERTYPE_IPV4 } from '../wire/ethernet.js';
import { Ip4Check, check4, dstAddr, headerLength, protocol, srcAddr, totalLength } from '../wire/ip4.js';
import { IpProto, L4Check, UDP_HLEN, checkUdp, dstPort, udpChecksum, udpLength } from '../wire/l4.js';
import { l4ChecksumValid4 } from '../wire/checksum.js';
import { ip4ToString, macToString, parseIp4, parseMac } from '../wire/addr.js';
import {
  BootpOp, DHCP_CLIENT_PORT, DHCP_FLAG_BROADCAST, DHCP_MAX_OPTIONS, DHCP_MSG_NAMES, DHCP_SERVER_PORT, DhcpCheck, DhcpMsg,
  DhcpOpt, HTYPE_ETHERNET, checkDhcp, chaddrMac, ciaddr as getCiaddr, findOption, flags as getFlags, giaddr as getGiaddr,
  hlen, htype, messageType, op, optionIp4, putOptBytes, putOptIp4s, putOptText, putOptU32, putOptU8, writeDhcpReply,
  xid as getXid, type DhcpReplyFields,
} from '../wire/dhcp.js';
import { LeaseTable, type Lease, type LeaseState } from './leases.js';
import type { LeaseStore, StoredLease } from './lease-store.js';

export interface DhcpServerOptions {
  network: string;
  /** 48-bit MAC the replies come from */
  serverMac: number;
  /** the switch's address on the segment: server identifier, default router */
  serverIp: number;
  subnet: { net: number; len: number };
  /** dynamic pool, inclusive */
  range: [number, number];
  leaseSeconds: number;
  dns: number[];
  domain: string | null;
  static: { mac: number; ip: number }[];
  store?: LeaseStore;
  log?: (m: string) => void;
  /** epoch ms (default Date.now); tests fake it */
  wallClock?: () => number;
  /** router option (3); default serverIp, null to send none (a host-only network) */
  router?: number | null;
  /** how long an offer holds its address, s (default 60) */
  offerSeconds?: number;
  /** how long a declined address stays out of the pool, s (default 600) */
  declineSeconds?: number;
}

export interface DhcpLeaseView {
  mac: string;
  ip: string;
  hostname: string | null;
  clientId: string | null;
  /** epoch ms */
  expiresAt: number;
  state: LeaseState;
}

/** Reasons a frame got no reply (keys of DhcpCounters.dropped). */
export const DhcpDrop = {
  notIp4: 'notIp4',
  badIp4: 'badIp4',
  notUdp: 'notUdp',
  fragment: 'fragment',
  badUdp: 'badUdp',
  notServerPort: 'notServerPort',
  badChecksum: 'badChecksum',
  truncated: 'truncated',
  notDhcp: 'notDhcp',
  badOptions: 'badOptions',
  notRequest: 'notRequest',
  badHardware: 'badHardware',
  relayed: 'relayed',
  bootp: 'bootp',
  badType: 'badType',
  poolExhausted: 'poolExhausted',
  otherServer: 'otherServer',
  badRequest: 'badRequest',
  unknownClient: 'unknownClient',
  releaseUnknown: 'releaseUnknown',
  declineUnknown: 'declineUnknown',
  informOffSubnet: 'informOffSubnet',
} as const;
export type DhcpDropReason = keyof typeof DhcpDrop;

export interface DhcpCounters {
  discover: number;
  offer: number;
  request: number;
  ack: number;
  nak: number;
  release: number;
  decline: number;
  inform: number;
  dropped: Record<DhcpDropReason, number>;
}

const BROADCAST_MAC = 0xffffffffffff;
const BROADCAST_IP = 0xffffffff;
/** Options we can send, in the order we send them when the client did not ask (or asked for fewer). */
const CONFIG_OPTIONS = [DhcpOpt.subnetMask, DhcpOpt.router, DhcpOpt.broadcast, DhcpOpt.dns, DhcpOpt.domainName] as const;

export class DhcpServer {
  readonly network: string;
  readonly counters: DhcpCounters;
  private readonly serverMac: number;
  private readonly serverIp: number;
  private readonly net: number;
  private readonly mask: number;
  private readonly bcast: number;
  private readonly router: number | null;
  private readonly dns: number[];
  private readonly domain: string | null;
  private readonly leaseSeconds: number;
  private readonly offerMs: number;
  private readonly declineMs: number;
  private readonly table: LeaseTable;
  private readonly store: LeaseStore | null;
  private readonly log: (m: string) => void;
  private readonly wallClock: () => number;
  private offset: number | null = null;
  private lastExpire = -Infinity;

  // Scratch: the request is read into these before the reply overwrites it in place.
  private readonly prl = new Uint8Array(255);
  private prlLen = 0;
  private readonly cid = new Uint8Array(255);
  private cidLen = 0;
  private readonly opts = new Uint8Array(DHCP_MAX_OPTIONS);
  private readonly fields: DhcpReplyFields;

  constructor(o: DhcpServerOptions) {
    this.network = o.network;
    this.serverMac = o.serverMac;
    this.serverIp = o.serverIp >>> 0;
    const len = o.subnet.len;
    if (!Number.isInteger(len) || len < 0 || len > 30) throw new RangeError(`dhcp: subnet length ${len} leaves no hosts`);
    this.mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    this.net = (o.subnet.net & this.mask) >>> 0;
    this.bcast = (this.net | ~this.mask) >>> 0;
    for (const [what, ip] of [['server address', o.serverIp], ['range start', o.range[0]], ['range end', o.range[1]]] as const) {
      if (!this.inSubnet(ip)) throw new RangeError(`dhcp: ${what} ${ip4ToString(ip)} is outside the subnet`);
    }
    for (const s of o.static) {
      if (!this.inSubnet(s.ip)) throw new RangeError(`dhcp: static ${ip4ToString(s.ip)} is outside the subnet`);
    }
    this.router = o.router === undefined ? this.serverIp : o.router;
    this.dns = o.dns.map((d) => d >>> 0);
    this.domain = o.domain;
    this.leaseSeconds = o.leaseSeconds;
    this.offerMs = (o.offerSeconds ?? 60) * 1000;
    this.declineMs = (o.declineSeconds ?? 600) * 1000;
    this.store = o.store ?? null;
    this.log = o.log ?? (() => {});
    this.wallClock = o.wallClock ?? Date.now;
    this.table = new LeaseTable({ range: o.range, reserved: o.static, exclude: [this.serverIp, this.net, this.bcast] });
    const dropped = {} as Record<DhcpDropReason, number>;
    for (const k of Object.keys(DhcpDrop) as DhcpDropReason[]) dropped[k] = 0;
    this.counters = { discover: 0, offer: 0, request: 0, ack: 0, nak: 0, release: 0, decline: 0, inform: 0, dropped };
    this.fields = {
      srcMac: this.serverMac, dstMac: 0, srcIp: this.serverIp, dstIp: 0, dstPort: DHCP_CLIENT_PORT, op: BootpOp.reply,
      xid: 0, flags: 0, ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr: 0, options: this.opts, optionsLen: 0,
    };
    if (this.store !== null) this.restore(this.store);
  }

  // ---- the packet path ----

  /**
   * The frame b[o..o+len) (Ethernet + IPv4 + UDP to port 67). Writes the reply frame in place at
   * b[o..] (at most 590 bytes) and returns its length, or 0 when there is no reply.
   */
  handle(b: Uint8Array, o: number, len: number, nowMs: number): number {
    const now = this.epoch(nowMs);
    if (len < ETH_HLEN + 20 || ((b[o + 12] << 8) | b[o + 13]) !== ETHERTYPE_IPV4) return this.drop('notIp4');
    const ip = o + ETH_HLEN;
    if (check4(b, ip, len - ETH_HLEN) !== Ip4Check.ok) return this.drop('badIp4');
    if (protocol(b, ip) !== IpProto.udp) return this.drop('notUdp');
    if ((((b[ip + 6] << 8) | b[ip + 7]) & 0x3fff) !== 0) return this.drop('fragment');
    const hl = headerLength(b, ip);
    const udp = ip + hl;
    if (checkUdp(b, udp, totalLength(b, ip) - hl) !== L4Check.ok) return this.drop('badUdp');
    if (dstPort(b, udp) !== DHCP_SERVER_PORT) return this.drop('notServerPort');
    if (udpChecksum(b, udp) !== 0 && !l4ChecksumValid4(b, ip)) return this.drop('badChecksum');
    const m = udp + UDP_HLEN;
    const avail = udpLength(b, udp) - UDP_HLEN;
    const c = checkDhcp(b, m, avail);
    if (c !== DhcpCheck.ok) return this.drop(c === DhcpCheck.truncated ? 'truncated' : c === DhcpCheck.badCookie ? 'notDhcp' : 'badOptions');
    if (op(b, m) !== BootpOp.request) return this.drop('notRequest');
    if (htype(b, m) !== HTYPE_ETHERNET || hlen(b, m) !== 6) return this.drop('badHardware');
    if (getGiaddr(b, m) !== 0) return this.drop('relayed');
    const type = messageType(b, m, avail);
    if (type === 0) return this.drop('bootp');

    // Everything the reply needs, read before the reply overwrites the request.
    const mac = chaddrMac(b, m);
    const req: Req = {
      type, mac, xid: getXid(b, m), flags: getFlags(b, m), ciaddr: getCiaddr(b, m),
      requested: optionIp4(b, m, avail, DhcpOpt.requestedIp), serverId: optionIp4(b, m, avail, DhcpOpt.serverId),
      srcIp: srcAddr(b, ip), dstIp: dstAddr(b, ip), clientId: null, hostname: null,
    };
    this.prlLen = 0;
    let p = findOption(b, m, avail, DhcpOpt.paramList);
    if (p >= 0) { this.prlLen = b[p + 1]; this.prl.set(b.subarray(p + 2, p + 2 + this.prlLen)); }
    this.cidLen = 0;
    p = findOption(b, m, avail, DhcpOpt.clientId);
    if (p >= 0 && b[p + 1] > 0) {
      this.cidLen = b[p + 1];
      this.cid.set(b.subarray(p + 2, p + 2 + this.cidLen));
      req.clientId = hexBytes(b, p + 2, this.cidLen);
    }
    p = findOption(b, m, avail, DhcpOpt.hostname);
    if (p >= 0) req.hostname = cleanHostname(b, p + 2, b[p + 1]);

    switch (type) {
      case DhcpMsg.discover: this.counters.discover++; return this.discover(b, o, req, now);
      case DhcpMsg.request: this.counters.request++; return this.request(b, o, req, now);
      case DhcpMsg.decline: this.counters.decline++; return this.decline(req, now);
      case DhcpMsg.release: this.counters.release++; return this.release(req, now);
      case DhcpMsg.inform: this.counters.inform++; return this.inform(b, o, req);
      default: return this.drop('badType');
    }
  }

  private discover(b: Uint8Array, o: number, r: Req, now: number): number {
    this.log(`DHCPDISCOVER from ${this.who(r)} via ${this.network}`);
    const cur = this.table.binding(r.mac, r.clientId, now);
    const ip = this.table.choose(r.mac, r.clientId, r.requested, now);
    if (ip === 0) {
      this.log(`dhcp: no free address for ${this.who(r)} in ${this.network}`);
      return this.drop('poolExhausted');
    }
    // A bound client that lost its mind keeps its lease; anyone else gets a held offer.
    if (cur === undefined || cur.ip !== ip || cur.state === 'offered') {
      this.table.offer(ip, r.mac, r.clientId, r.hostname, now + this.offerMs);
    }
    this.counters.offer++;
    this.log(`DHCPOFFER on ${ip4ToString(ip)} to ${this.who(r)} via ${this.network}`);
    return this.reply(b, o, r, DhcpMsg.offer, ip, true);
  }

  private request(b: Uint8Array, o: number, r: Req, now: number): number {
    const cur = this.table.binding(r.mac, r.clientId, now);
    if (r.serverId !== 0) {
      // SELECTING: the client answers an offer.
      if (r.serverId !== this.serverIp) {
        if (cur !== undefined && cur.state === 'offered') this.table.withdraw(cur);
        return this.drop('otherServer');
      }
      const want = r.requested !== 0 ? r.requested : r.ciaddr;
      this.log(`DHCPREQUEST for ${ip4ToString(want)} (${ip4ToString(r.serverId)}) from ${this.who(r)} via ${this.network}`);
      if (want === 0) return this.nak(b, o, r, 'no address requested');
      if (cur !== undefined && cur.ip !== want) return this.nak(b, o, r, 'not the offered address');
      if (!this.table.isFreeFor(want, r.mac, r.clientId, now)) return this.nak(b, o, r, 'address not available');
      return this.ack(b, o, r, want, now);
    }
    // INIT-REBOOT (requested IP, no ciaddr) or RENEWING/REBINDING (ciaddr): is the address right?
    const want = r.ciaddr !== 0 ? r.ciaddr : r.requested;
    if (want === 0) return this.drop('badRequest');
    this.log(`DHCPREQUEST for ${ip4ToString(want)} from ${this.who(r)} via ${this.network}`);
    if (!this.inSubnet(want)) return this.nak(b, o, r, 'wrong network');
    const res = this.table.reservedFor(r.mac);
    if (res !== 0 && res !== want && this.table.isFreeFor(res, r.mac, r.clientId, now)) return this.nak(b, o, r, 'address reserved elsewhere');
    // (an offer made meanwhile does not count: the client chose to keep its old address)
    if (cur !== undefined && cur.ip !== want && cur.state !== 'offered') return this.nak(b, o, r, 'wrong address');
    if (this.table.isFreeFor(want, r.mac, r.clientId, now)) return this.ack(b, o, r, want, now);
    if (this.table.at(want, now) !== undefined || this.table.inRange(want) || want === this.serverIp ||
      want === this.net || want === this.bcast || this.table.isReserved(want)) {
      return this.nak(b, o, r, 'address not available');
    }
    return this.drop('unknownClient');
  }

  private decline(r: Req, now: number): number {
    if (r.serverId !== 0 && r.serverId !== this.serverIp) return this.drop('otherServer');
    const cur = this.table.binding(r.mac, r.clientId, now);
    const ip = r.requested !== 0 ? r.requested : r.ciaddr;
    this.log(`DHCPDECLINE of ${ip4ToString(ip)} from ${this.who(r)} via ${this.network}`);
    if (cur === undefined || cur.ip !== ip) return this.drop('declineUnknown');
    this.table.decline(ip, r.mac, now + this.declineMs);
    this.log(`dhcp: ${ip4ToString(ip)} is in use by someone else; out of the pool for ${this.declineMs / 1000} s`);
    this.persist();
    return 0;
  }

  private release(r: Req, now: number): number {
    if (r.serverId !== 0 && r.serverId !== this.serverIp) return this.drop('otherServer');
    const cur = this.table.binding(r.mac, r.clientId, now);
    this.log(`DHCPRELEASE of ${ip4ToString(r.ciaddr)} from ${this.who(r)} via ${this.network}`);
    if (cur === undefined || cur.ip !== r.ciaddr || cur.state === 'offered') return this.drop('releaseUnknown');
    this.table.release(cur);
    this.persist();
    return 0;
  }

  private inform(b: Uint8Array, o: number, r: Req): number {
    const addr = r.ciaddr !== 0 ? r.ciaddr : r.srcIp;
    this.log(`DHCPINFORM from ${ip4ToString(addr)} ${this.who(r)} via ${this.network}`);
    if (addr === 0 || !this.inSubnet(addr)) return this.drop('informOffSubnet');
    if (r.ciaddr === 0) r.ciaddr = addr; // a client that forgot ciaddr: answer the address it sent from
    this.counters.ack++;
    this.log(`DHCPACK to ${ip4ToString(addr)} ${this.who(r)} via ${this.network}`);
    return this.reply(b, o, r, DhcpMsg.ack, 0, false);
  }

  private ack(b: Uint8Array, o: number, r: Req, ip: number, now: number): number {
    this.table.bind(ip, r.mac, r.clientId, r.hostname, now + this.leaseSeconds * 1000);
    this.persist();
    this.counters.ack++;
    this.log(`DHCPACK on ${ip4ToString(ip)} to ${this.who(r)} via ${this.network}`);
    return this.reply(b, o, r, DhcpMsg.ack, ip, true);
  }

  private nak(b: Uint8Array, o: number, r: Req, why: string): number {
    this.counters.nak++;
    this.log(`DHCPNAK to ${this.who(r)} via ${this.network}: ${why}`);
    const lim = this.opts.length;
    let p = putOptU8(this.opts, 0, lim, DhcpOpt.messageType, DhcpMsg.nak);
    p = putOptU32(this.opts, p, lim, DhcpOpt.serverId, this.serverIp);
    p = putOptText(this.opts, p, lim, DhcpOpt.message, why);
    if (this.cidLen > 0) p = putOptBytes(this.opts, p, lim, DhcpOpt.clientId, this.cid, 0, this.cidLen);
    // RFC 2131 4.1: with giaddr 0, a NAK is always broadcast.
    return this.write(b, o, r, BROADCAST_MAC, BROADCAST_IP, 0, 0, p);
  }

  /** OFFER or ACK (`lease` false: an answer to INFORM, no address, no lease time). */
  private reply(b: Uint8Array, o: number, r: Req, type: number, yiaddr: number, lease: boolean): number {
    const lim = this.opts.length;
    const out = this.opts;
    let p = putOptU8(out, 0, lim, DhcpOpt.messageType, type);
    p = putOptU32(out, p, lim, DhcpOpt.serverId, this.serverIp);
    if (lease) {
      const l = this.leaseSeconds;
      p = putOptU32(out, p, lim, DhcpOpt.leaseTime, l);
      p = putOptU32(out, p, lim, DhcpOpt.t1, Math.floor(l / 2));
      p = putOptU32(out, p, lim, DhcpOpt.t2, Math.floor((l * 7) / 8));
    }
    // Configuration options: first those the client asked for, in its order, then the rest.
    let sent = 0;
    for (let i = 0; i < this.prlLen; i++) {
      const k = CONFIG_OPTIONS.indexOf(this.prl[i] as (typeof CONFIG_OPTIONS)[number]);
      if (k < 0 || (sent & (1 << k)) !== 0) continue;
      sent |= 1 << k;
      p = this.putConfig(out, p, lim, this.prl[i]);
    }
    for (let k = 0; k < CONFIG_OPTIONS.length; k++) {
      if ((sent & (1 << k)) === 0) p = this.putConfig(out, p, lim, CONFIG_OPTIONS[k]);
    }
    if (this.cidLen > 0) p = putOptBytes(out, p, lim, DhcpOpt.clientId, this.cid, 0, this.cidLen); // RFC 6842
    // RFC 2131 4.1 (giaddr is 0 here).
    let dstMac: number, dstIp: number;
    if (r.ciaddr !== 0) { dstMac = r.mac; dstIp = r.ciaddr; }
    else if ((r.flags & DHCP_FLAG_BROADCAST) !== 0) { dstMac = BROADCAST_MAC; dstIp = BROADCAST_IP; }
    else { dstMac = r.mac; dstIp = yiaddr; }
    return this.write(b, o, r, dstMac, dstIp, type === DhcpMsg.offer ? 0 : r.ciaddr, yiaddr, p);
  }

  private putConfig(out: Uint8Array, p: number, lim: number, code: number): number {
    switch (code) {
      case DhcpOpt.subnetMask: return putOptU32(out, p, lim, code, this.mask);
      case DhcpOpt.router: return this.router === null ? p : putOptU32(out, p, lim, code, this.router);
      case DhcpOpt.broadcast: return putOptU32(out, p, lim, code, this.bcast);
      case DhcpOpt.dns: return putOptIp4s(out, p, lim, code, this.dns);
      case DhcpOpt.domainName: return this.domain === null ? p : putOptText(out, p, lim, code, this.domain);
      default: return p;
    }
  }

  private write(b: Uint8Array, o: number, r: Req, dstMac: number, dstIp: number, ciaddr: number, yiaddr: number, optLen: number): number {
    const f = this.fields;
    f.dstMac = dstMac; f.dstIp = dstIp;
    f.xid = r.xid; f.flags = r.flags; f.ciaddr = ciaddr; f.yiaddr = yiaddr; f.chaddr = r.mac;
    f.optionsLen = optLen;
    return writeDhcpReply(b, o, f);
  }

  // ---- timers, views, persistence ----

  /**
   * Expire offers, leases and quarantines: a walk over the table, done at most once a second
   * however often it is called (entries past their time already count as gone before that).
   */
  tick(nowMs: number): void {
    if (nowMs - this.lastExpire < 1000) return;
    this.lastExpire = nowMs;
    if (this.table.expire(this.epoch(nowMs)) > 0) this.persist();
  }

  /** Live entries by address (`show leases`). */
  leases(nowMs: number): DhcpLeaseView[] {
    const now = this.epoch(nowMs);
    const out: DhcpLeaseView[] = [];
    for (const l of this.table.list()) {
      if (l.expiresAt <= now) continue;
      out.push({ mac: macToString(l.mac), ip: ip4ToString(l.ip), hostname: l.hostname, clientId: l.clientId, expiresAt: l.expiresAt, state: l.state });
    }
    return out;
  }

  /** Write the lease file now and stop writing. */
  async close(): Promise<void> {
    if (this.store !== null) {
      this.persist();
      await this.store.close();
    }
  }

  private persist(): void {
    if (this.store === null) return;
    const out: StoredLease[] = [];
    for (const l of this.table.list()) {
      if (l.state === 'offered') continue;
      out.push({ ip: ip4ToString(l.ip), mac: macToString(l.mac), clientId: l.clientId, hostname: l.hostname, expiresAt: l.expiresAt, state: l.state });
    }
    this.store.save(out);
  }

  private restore(store: LeaseStore): void {
    const now = this.wallClock();
    let n = 0;
    for (const s of store.load(now)) {
      const ip = parseIp4(s.ip);
      const l: Lease = { ip, mac: parseMac(s.mac), clientId: s.clientId, hostname: s.hostname, state: s.state, expiresAt: s.expiresAt };
      const why = this.inSubnet(ip) ? this.table.restore(l, now) : 'outside the subnet';
      if (why === null) n++;
      else this.log(`leases: ${this.network}: dropped ${s.state} ${s.ip} of ${s.mac}: ${why}`);
    }
    if (n > 0) this.log(`leases: ${this.network}: ${n} lease(s) restored`);
  }

  // ---- helpers ----

  private epoch(nowMs: number): number {
    if (this.offset === null) this.offset = this.wallClock() - nowMs;
    return nowMs + this.offset;
  }

  private inSubnet(ip: number): boolean { return ((ip & this.mask) >>> 0) === this.net; }

  private drop(reason: DhcpDropReason): number {
    this.counters.dropped[reason]++;
    return 0;
  }

  private who(r: Req): string {
    return r.hostname !== null ? `${macToString(r.mac)} (${r.hostname})` : macToString(r.mac);
  }
}

/** The parts of a request the server acts on. */
interface Req {
  type: number;
  mac: number;
  xid: number;
  flags: number;
  ciaddr: number;
  requested: number;
  serverId: number;
  srcIp: number;
  dstIp: number;
  clientId: string | null;
  hostname: string | null;
}

function hexBytes(b: Uint8Array, o: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += (i ? ':' : '') + (b[o + i] < 16 ? '0' : '') + b[o + i].toString(16);
  return s;
}

/** Printable ASCII, no spaces, at most 63 characters; null when nothing is left. */
function cleanHostname(b: Uint8Array, o: number, n: number): string | null {
  let s = '';
  for (let i = 0; i < n && s.length < 63; i++) {
    const c = b[o + i];
    if (c === 0) break;
    if (c > 0x20 && c < 0x7f) s += String.fromCharCode(c);
  }
  return s === '' ? null : s;
}
