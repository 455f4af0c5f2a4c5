// arp-request.ts — builds the switch's own ARP requests into fresh pool slots: broadcast
// while resolving, unicast to the known MAC while re-verifying a stale entry. Used by
// ip4-rewrite (first request) and the neighbour timers (retries). Off the per-packet path:
// one request per address to resolve, not per packet.
import type { PacketPool } from '../engine/pool.js';
import { writeArpRequest } from '../wire/arp.js';
import type { Ip4Context } from './ip4-context.js';

/** A request for target on port in a new slot (txPort set), or -1 when the pool is empty. */
export function arpRequestSlot(pool: PacketPool, ctx: Ip4Context, port: number, target: number, unicastHi = -1, unicastLo = 0): number {
  const s = pool.alloc();
  if (s < 0) return -1;
  const o = pool.start[s];
  const b = pool.bytes;
  pool.length[s] = writeArpRequest(b, o, { srcMac: ctx.macHi[port] * 4294967296 + ctx.macLo[port], srcIp: ctx.addr[port], targetIp: target });
  if (unicastHi >= 0) {
    b[o] = unicastHi >>> 8; b[o + 1] = unicastHi & 255;
    b[o + 2] = unicastLo >>> 24; b[o + 3] = (unicastLo >>> 16) & 255; b[o + 4] = (unicastLo >>> 8) & 255; b[o + 5] = unicastLo & 255;
  }
  pool.txPort[s] = port;
  pool.rxPort[s] = port;
  return s;
}
