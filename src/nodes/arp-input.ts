// arp-input — ARP on the ports of routed networks: proxy ARP and neighbour learning.
//
// SYNOPSIS   arp-input -> port-output (replies, in place), ip4-rewrite (packets that were
//            waiting for the sender's address)
// ANSWERS    on an uplink: for the switch's own address there and for every VM address
//            published on it (seed 004: the LAN sees the uplink interface's own MAC);
//            on the router interface of a nat/isolated segment: for the switch's address;
//            on a VM port: for the network's gateway (169.255.30.1 by default) and for any
//            address routed through a different port (seeds 000/001, 003 proxy_arp).
// MANNERS    (RFC 826, RFC 5227) an announcement (sender IP = target IP) is never answered;
//            a probe (sender IP 0.0.0.0) is never answered on a VM port for that port's own
//            VM address, so duplicate address detection in guests keeps working; a
//            gratuitous ARP only refreshes an entry that exists; a request creates an entry
//            for its sender only when it asks for us; a sender is learned only on a port its
//            address is routed to (the neighbour table is keyed by address alone: a LAN host
//            claiming a VM's address on the uplink must not redirect that VM's traffic).
// DROPS      arp-malformed: not Ethernet/IPv4 ARP or cut short
//            arp-spoofed: on a VM port with anti-spoofing, a sender address that is not
//              that port's VM (it would poison the neighbour table)
// COUNTERS   replies, ignored (well-formed ARP that needs no answer)
import { Ip4Node } from './ip4-node.js';
import { checkArp, ArpCheck, ArpOp, arpReplyInPlace } from '../wire/arp.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { Role, type Ip4Context } from './ip4-context.js';

const NEXT_OUT = 0, NEXT_REWRITE = 1;
const D_MALFORMED = 0, D_SPOOFED = 1;
const C_REPLIES = 0, C_IGNORED = 1;

export class ArpInput extends Ip4Node {
  readonly name = 'arp-input';
  readonly nextNames = ['port-output', 'ip4-rewrite'] as const;
  readonly dropNames = ['arp-malformed', 'arp-spoofed'] as const;
  override readonly counterNames = ['arp-replies', 'arp-ignored'] as const;
  private readonly released = new Int32Array(256);

  process(v: Uint32Array, n: number): void {
    const pool = this.pool;
    const b = pool.bytes;
    const dv = pool.view;
    const ctx = this.ip;
    const neigh = ctx.neighbors;
    const now = this.ctx.nowMs;
    const out = this.nextQueues[NEXT_OUT], rewrite = this.nextQueues[NEXT_REWRITE];
    for (let i = 0; i < n; i++) {
      const s = v[i];
      const o = pool.start[s];
      const a = o + ETH_HLEN;
      if (checkArp(b, a, pool.length[s] - ETH_HLEN) !== ArpCheck.ok) { this.drop(s, D_MALFORMED); continue; }
      const port = pool.rxPort[s];
      const op = dv.getUint16(a + 6);
      const shaHi = dv.getUint16(a + 8), shaLo = dv.getUint32(a + 10);
      const spa = dv.getUint32(a + 14), tpa = dv.getUint32(a + 24);
      const role = ctx.role[port];
      if (role === Role.vm && ctx.antiSpoof[port] === 1 && spa !== 0) {
        const own = ctx.tables[0].lookup(spa);
        if (own === 0 || ctx.nhPort[own] !== port || ctx.nhGateway[own] !== 0) { this.drop(s, D_SPOOFED); continue; }
      }
      let answer = false;
      if (op === ArpOp.request && spa !== tpa) {
        if (role === Role.uplink || role === Role.inside) {
          answer = tpa === ctx.addr[port] || ctx.publishedOn(tpa) === port;
        } else if (role === Role.vm) {
          if (tpa === ctx.gateway[port]) {
            answer = true;
          } else {
            const nh = ctx.route(port, tpa);
            // a probe for the asking VM's own address is never answered: its route is this port
            answer = nh !== 0 && ctx.nhPort[nh] !== port;
          }
        }
      }
      // learn the sender: refresh a known entry always, create one only when asked for us;
      // and only a sender this port leads to (see reachedVia)
      if (spa !== 0 && (shaHi & 0x100) === 0 && reachedVia(ctx, spa, port)) {
        const forUs = tpa === ctx.addr[port] || answer;
        const k = neigh.update(spa, shaHi, shaLo, port, now, forUs, this.released);
        for (let j = 0; j < k; j++) {
          const w = this.released[j];
          rewrite.slots[rewrite.count++] = w;
        }
      }
      if (answer) {
        arpReplyInPlace(b, o, ctx.macHi[port] * 4294967296 + ctx.macLo[port]);
        pool.txPort[s] = port;
        out.slots[out.count++] = s;
        this.counters[C_REPLIES]++;
      } else {
        this.counters[C_IGNORED]++;
        pool.free(s);
      }
    }
  }
}

/**
 * Is ip reached through port: does its longest match in some routing table leave by port?
 * ip4-rewrite sends to the MAC of the neighbour entry of a next hop out of the port its route
 * names, and the entry is found by address alone, so an ARP heard on any other port must
 * neither create nor move it. Every next hop ip4-rewrite resolves passes this test. Off the
 * fast path (ARP only); a handful of tables at most.
 */
function reachedVia(ctx: Ip4Context, ip: number, port: number): boolean {
  const tables = ctx.tables;
  for (let t = 0; t < tables.length; t++) {
    const nh = tables[t].lookup(ip);
    if (nh !== 0 && ctx.nhPort[nh] === port) return true;
  }
  return false;
}
