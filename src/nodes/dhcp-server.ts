// dhcp-server — hands DHCP requests that reach the switch's router interface on a nat or
// isolated segment to that network's DHCP server, and sends its replies back into the
// segment.
//
// SYNOPSIS   dhcp-server -> port-output (the reply, written in place, out of the router
//            interface; the segment delivers it to the client's port or floods it)
// ip4-input sends here every UDP datagram to port 67 that arrives on a router interface
// with a server, before its own checks: a DISCOVER comes from 0.0.0.0 to 255.255.255.255.
// The server (src/dhcp/server.ts) parses, decides and writes the whole reply frame.
// DROPS      dhcp-no-reply: the server had nothing to say (not for us, malformed, pool
//            exhausted: its own counters say which)
import { Ip4Node } from './ip4-node.js';

const NEXT_OUT = 0;
const D_NO_REPLY = 0;

export class DhcpServerNode extends Ip4Node {
  readonly name = 'dhcp-server';
  readonly nextNames = ['port-output'] as const;
  readonly dropNames = ['dhcp-no-reply'] as const;
  override readonly counterNames = ['dhcp-replies'] as const;

  process(v: Uint32Array, n: number): void {
    const pool = this.pool;
    const ctx = this.ip;
    const out = this.nextQueues[NEXT_OUT];
    for (let i = 0; i < n; i++) {
      const s = v[i];
      const port = pool.rxPort[s];
      const server = ctx.dhcp[ctx.dhcpOfPort[port]];
      let len = 0;
      try {
        len = server ? server.handle(pool.bytes, pool.start[s], pool.length[s], this.ctx.nowMs) : 0;
      } catch {
        len = 0; // a server bug must not stop forwarding; counted as no reply
      }
      if (len <= 0) { this.drop(s, D_NO_REPLY); continue; }
      pool.length[s] = len;
      pool.txPort[s] = port;
      out.slots[out.count++] = s;
      this.counters[0]++;
    }
  }
}
