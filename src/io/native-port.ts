// native-port.ts — a PortIo backed by the addon: an AF_PACKET socket pair with PACKET_MMAP
// rings on an existing interface, or a TAP device the switch creates or opens.
//
// The one shared pool: the addon holds one registered pool per process, so every Switch in
// a process (a test lab can start several) shares it; the first one sizes it.
import { native, type NativeAddon, type NativePortStats } from './native.js';
import { PacketPool } from '../engine/pool.js';
import type { PortIo } from '../engine/ports.js';
import type { AfPacketPortConfig, TapPortConfig } from '../types.js';

let sharedPool: PacketPool | null = null;

/** The process-wide pool registered with the addon (created on first use with `slots`). */
export function processPool(slots: number): PacketPool {
  if (!sharedPool) {
    const pool = new PacketPool(slots);
    native().attachPool(pool.buffer, pool.slotSize, pool.headroom, pool.start, pool.length);
    sharedPool = pool;
  }
  return sharedPool;
}

export class NativePort implements PortIo {
  readonly handle: number;
  readonly kind: 'afpacket' | 'tap';
  readonly ifname: string;
  /** the TAP did not exist and the switch created it (it goes away on close) */
  readonly created: boolean;
  readonly mtu: number;
  readonly mac: string | null;
  private readonly addon: NativeAddon;
  private closed = false;

  constructor(cfg: AfPacketPortConfig | TapPortConfig) {
    this.addon = native();
    this.kind = cfg.kind;
    this.ifname = cfg.ifname;
    if (cfg.kind === 'afpacket') {
      const link = this.addon.linkInfo(cfg.ifname);
      this.handle = this.addon.openAfPacket(cfg.ifname, { promiscuous: cfg.promiscuous, qdiscBypass: true, rxFrames: cfg.ring });
      this.created = false;
      this.mtu = cfg.mtu ?? link.mtu;
      this.mac = link.mac;
    } else {
      const t = this.addon.openTap(cfg.ifname);
      this.handle = t.handle;
      this.created = t.created;
      let mac: string | null = null;
      let mtu = 1500;
      try { const link = this.addon.linkInfo(cfg.ifname); mac = link.mac; mtu = link.mtu; } catch { /* fine: facts are cosmetic */ }
      this.mtu = cfg.mtu ?? mtu;
      this.mac = mac;
    }
  }

  rx(slots: Uint32Array, n: number): number { return this.addon.rx(this.handle, slots, n); }
  tx(slots: Uint32Array, n: number): number { return this.addon.tx(this.handle, slots, n); }

  /** Start calling onReadable whenever frames wait; null stops. */
  poll(onReadable: (() => void) | null): void { this.addon.poll(this.handle, onReadable); }

  stats(): NativePortStats { return this.addon.stats(this.handle); }

  send(frame: Uint8Array): number { return this.addon.send(this.handle, frame); }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.close(this.handle);
  }
}
