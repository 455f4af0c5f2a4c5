// leases.ts — the DHCP lease table of one network. Pure data: it knows nothing of packets,
// files or clocks (every time is a number the caller passes, in one clock of its choice; the
// server uses epoch milliseconds so that leases can be written down and read back).
//
// A *binding* ties a client to an address: `offered` for the lifetime of an offer, then
// `bound` (or `static`, when the address is the client's reservation) until the lease
// expires or the client releases it. `declined` entries hold an address a client found in
// use (DHCPDECLINE) out of the pool for a quarantine period (RFC 2131 4.3.3).
//
// A client is known by its client identifier (option 61) when it sends one, else by its MAC
// (RFC 2131 4.2). Reservations are by MAC: a reserved address is never given to anyone else,
// and a client with a reservation always gets it (unless it is in quarantine).
//
// Choosing an address follows RFC 2131 4.3.1: the client's current binding, else its previous
// address (from an expired or released binding) if still free, else the address it asks
// for if free, else the lowest free address of the range.
//
// Layout: two maps (address -> entry, client -> binding) and a bounded map of previous
// addresses. Lookups are O(1). Finding the lowest free address scans up from a "lowest
// possibly free" mark that only moves back when an address is freed, so handing out the
// whole range costs O(range) in total, not per allocation. About 200 bytes per lease.
// An entry past its time counts as gone at once for every lookup, but its address rejoins
// the lowest-free scan when expire() removes it (the server does every second); if the scan
// finds nothing, choose() runs expire() itself, so a pool is never reported exhausted early.

export type LeaseState = 'offered' | 'bound' | 'static' | 'declined';

export interface Lease {
  ip: number;
  /** the client's MAC (for a declined entry: the client that declined it) */
  mac: number;
  /** the client identifier as hex bytes "01:52:54:...", or null when the client sent none */
  clientId: string | null;
  hostname: string | null;
  state: LeaseState;
  /** when the entry ends, in the caller's clock */
  expiresAt: number;
}

export interface LeaseTableOptions {
  /** first and last address of the dynamic pool, inclusive */
  range: [number, number];
  /** reservations by MAC (inside or outside the range) */
  reserved: { mac: number; ip: number }[];
  /** addresses never handed out (the server's own, network, broadcast) */
  exclude?: number[];
}

/** The key a client is known by. */
export function clientKey(mac: number, clientId: string | null): string {
  return clientId !== null ? `id:${clientId}` : `hw:${mac}`;
}

export class LeaseTable {
  readonly first: number;
  readonly last: number;
  private readonly byIp = new Map<number, Lease>();
  private readonly byClient = new Map<string, Lease>();
  /** previous address of clients whose binding ended, oldest first */
  private readonly previous = new Map<string, number>();
  private readonly previousMax: number;
  private readonly reservedByMac = new Map<number, number>();
  private readonly reservedByIp = new Map<number, number>();
  private readonly excluded = new Set<number>();
  /** every address of the range below this one is taken (or was, until a tick frees it) */
  private lowFree: number;

  constructor(opts: LeaseTableOptions) {
    this.first = opts.range[0] >>> 0;
    this.last = opts.range[1] >>> 0;
    if (this.last < this.first) throw new RangeError('lease range is reversed');
    for (const r of opts.reserved) {
      this.reservedByMac.set(r.mac, r.ip >>> 0);
      this.reservedByIp.set(r.ip >>> 0, r.mac);
    }
    for (const ip of opts.exclude ?? []) this.excluded.add(ip >>> 0);
    this.previousMax = Math.max(1024, Math.min(this.last - this.first + 1, 1 << 20));
    this.lowFree = this.first;
  }

  /** The address reserved for this MAC, or 0. */
  reservedFor(mac: number): number { return this.reservedByMac.get(mac) ?? 0; }

  /** Is this address someone's reservation? */
  isReserved(ip: number): boolean { return this.reservedByIp.has(ip >>> 0); }

  inRange(ip: number): boolean { return ip >= this.first && ip <= this.last; }

  /** The client's live binding (offered, bound or static), or undefined. Expired ones are dropped here. */
  binding(mac: number, clientId: string | null, now: number): Lease | undefined {
    const l = this.byClient.get(clientKey(mac, clientId));
    if (l === undefined) return undefined;
    if (l.expiresAt <= now) { this.remove(l, l.state !== 'offered'); return undefined; }
    return l;
  }

  /** The live entry holding this address, if any. */
  at(ip: number, now: number): Lease | undefined {
    const l = this.byIp.get(ip >>> 0);
    return l !== undefined && l.expiresAt > now ? l : undefined;
  }

  /**
   * May this address be bound to this client now? Its own reservation, or an address of the
   * range that is not excluded, not reserved for another MAC, and not held by a live entry of
   * another client (a declined address is held by nobody's binding but is not free either).
   */
  isFreeFor(ip: number, mac: number, clientId: string | null, now: number): boolean {
    ip >>>= 0;
    const owner = this.reservedByIp.get(ip);
    if (owner !== undefined && owner !== mac) return false;
    if (owner === undefined && (!this.inRange(ip) || this.excluded.has(ip))) return false;
    const l = this.at(ip, now);
    if (l === undefined) return true;
    return l.state !== 'declined' && clientKey(l.mac, l.clientId) === clientKey(mac, clientId);
  }

  /** RFC 2131 4.3.1: the address to offer this client, or 0 when the pool is exhausted. */
  choose(mac: number, clientId: string | null, requested: number, now: number): number {
    const cur = this.binding(mac, clientId, now);
    const res = this.reservedFor(mac);
    if (res !== 0 && this.isFreeFor(res, mac, clientId, now)) return res;
    if (cur !== undefined) return cur.ip;
    const prev = this.previous.get(clientKey(mac, clientId));
    if (prev !== undefined && this.isFreeFor(prev, mac, clientId, now)) return prev;
    if (requested !== 0 && this.isFreeFor(requested, mac, clientId, now)) return requested >>> 0;
    let ip = this.lowestFree(mac, clientId, now);
    if (ip === 0) { this.expire(now); ip = this.lowestFree(mac, clientId, now); }
    return ip;
  }

  private lowestFree(mac: number, clientId: string | null, now: number): number {
    for (let ip = this.lowFree; ip <= this.last; ip++) {
      if (this.isFreeFor(ip, mac, clientId, now)) return ip;
      if (ip === this.lowFree && (this.byIp.has(ip) || this.excluded.has(ip) || this.reservedByIp.has(ip))) this.lowFree = ip + 1;
    }
    return 0;
  }

  /** Hold `ip` for the client until `until` (an offer). Replaces the client's other binding. */
  offer(ip: number, mac: number, clientId: string | null, hostname: string | null, until: number): Lease {
    return this.put(ip, mac, clientId, hostname, 'offered', until);
  }

  /** Bind `ip` to the client until `until`. Check isFreeFor() first. */
  bind(ip: number, mac: number, clientId: string | null, hostname: string | null, until: number): Lease {
    const state: LeaseState = this.reservedFor(mac) === ip >>> 0 ? 'static' : 'bound';
    return this.put(ip, mac, clientId, hostname, state, until);
  }

  private put(ip: number, mac: number, clientId: string | null, hostname: string | null, state: LeaseState, until: number): Lease {
    ip >>>= 0;
    const key = clientKey(mac, clientId);
    const old = this.byClient.get(key);
    if (old !== undefined && old.ip !== ip) this.remove(old, false);
    const other = this.byIp.get(ip);
    if (other !== undefined && other !== old) this.remove(other, other.state !== 'offered' && other.state !== 'declined');
    const keepName = old !== undefined && old.ip === ip ? old.hostname : null;
    const l: Lease = { ip, mac, clientId, hostname: hostname ?? keepName, state, expiresAt: until };
    this.byIp.set(ip, l);
    this.byClient.set(key, l);
    return l;
  }

  /** End the client's binding (DHCPRELEASE); its address is remembered as its previous one. */
  release(l: Lease): void { this.remove(l, l.state !== 'offered'); }

  /** Drop an offer (the client chose another server). */
  withdraw(l: Lease): void { if (l.state === 'offered') this.remove(l, false); }

  /** Take `ip` out of the pool until `until`: a client found it in use (DHCPDECLINE). */
  decline(ip: number, mac: number, until: number): Lease {
    ip >>>= 0;
    const old = this.byIp.get(ip);
    if (old !== undefined) this.remove(old, false);
    const l: Lease = { ip, mac, clientId: null, hostname: null, state: 'declined', expiresAt: until };
    this.byIp.set(ip, l);
    return l;
  }

  /** Remove every entry that ended at or before `now`. Returns how many bound/static/declined entries went. */
  expire(now: number): number {
    let n = 0;
    for (const l of this.byIp.values()) {
      if (l.expiresAt > now) continue;
      if (l.state !== 'offered') n++;
      this.remove(l, l.state === 'bound' || l.state === 'static');
    }
    return n;
  }

  /**
   * Put back an entry read from the state file (bound, static or declined). Returns null, or
   * why it was not taken (the configuration changed under it, or two entries conflict).
   */
  restore(l: Lease, now: number): string | null {
    if (l.expiresAt <= now) return 'expired';
    if (l.state === 'offered') return 'an offer';
    if (l.state === 'declined') {
      if (!this.inRange(l.ip) && !this.reservedByIp.has(l.ip)) return 'outside the range';
      if (this.byIp.has(l.ip)) return 'address already taken';
      this.byIp.set(l.ip, { ...l });
      return null;
    }
    const res = this.reservedFor(l.mac);
    if (res !== 0 && res !== l.ip) return 'the MAC now has another reserved address';
    if (!this.isFreeFor(l.ip, l.mac, l.clientId, now)) {
      return this.reservedByIp.has(l.ip) ? 'address reserved for another MAC'
        : this.byIp.has(l.ip) ? 'address already taken' : 'outside the range';
    }
    if (this.byClient.has(clientKey(l.mac, l.clientId))) return 'client already has a lease';
    this.bind(l.ip, l.mac, l.clientId, l.hostname, l.expiresAt);
    return null;
  }

  /** Every entry, live or not yet expired by a tick, by address. */
  list(): Lease[] {
    return [...this.byIp.values()].sort((a, b) => a.ip - b.ip);
  }

  get size(): number { return this.byIp.size; }

  private remove(l: Lease, remember: boolean): void {
    if (this.byIp.get(l.ip) === l) this.byIp.delete(l.ip);
    if (l.state !== 'declined') {
      const key = clientKey(l.mac, l.clientId);
      if (this.byClient.get(key) === l) this.byClient.delete(key);
      if (remember) {
        this.previous.delete(key);
        this.previous.set(key, l.ip);
        if (this.previous.size > this.previousMax) this.previous.delete(this.previous.keys().next().value!);
      }
    }
    if (l.ip >= this.first && l.ip < this.lowFree) this.lowFree = l.ip;
  }
}
