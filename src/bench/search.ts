// search.ts — the NDR/PDR search of `switchyard bench`, after FD.io CSIT's MLRsearch: the
// highest rate that loses nothing (NDR: RFC 2544 "throughput") and the highest rate that
// loses at most pdrLoss (PDR, 0.5 % by default), found together, each as an interval
// [lo = highest passing rate, hi = lowest failing rate] narrowed to `precision`.
//
// MRR (maximum receive rate) needs no search: it is the received rate of the flat-out trial
// the harness runs first; that trial's offered rate is maxPps and it seeds both intervals.
//
// The rules:
//  - every trial updates both intervals: loss <= ndrLoss passes NDR, loss <= pdrLoss passes PDR
//    (so every NDR pass is a PDR pass, every PDR failure an NDR failure);
//  - a failed trial marked `disturbed` (another process took the CPU) moves no bound and the
//    same rate is tried again; a disturbed pass counts (the device coped anyway);
//  - the latest trial wins a contradiction: a pass at or above hi makes it lo, and hi becomes
//    the lowest earlier failure above it (or none); a failure at or below lo likewise;
//  - PDR is narrowed first, then NDR: the PDR trials from above are mostly failures that also
//    bound NDR from above, and the NDR step-down then starts from just under PDR;
//  - with no pass yet: step down from hi to 0.98 x the received rate of the trial at hi (what
//    the device delivered is where it saturates; hi/2 if nothing came through), at least
//    precision below hi; after a step that failed, twice as far (ratio squared, but no further
//    than hi/2 unless the received rate points lower), so a small loss that says little about
//    where it starts costs a few trials, not dozens;
//  - with both ends known: the geometric middle sqrt(lo * hi); but if lo is where the received
//    rate pointed, it is likely just under the answer: steps up from lo start at 1 + precision
//    and double (ratio squared) after each pass, so one failure there ends the search where
//    bisection up from lo to a far hi (the flat-out rate) would take five or six trials;
//  - no rate below minPps: if hi is already at minPps the bound gives up with lo = null;
//  - stop when both intervals are precise (hi / lo - 1 <= precision, or lo = maxPps), when
//    both gave up, or after maxTrials trials. A flat-out trial that lost nothing ends it at once.

export interface TrialOutcome {
  offeredPps: number;
  receivedPps: number;
  sent: number;
  received: number;
  /** fraction 0..1 */
  loss: number;
  disturbed?: boolean;
}

export interface SearchOptions {
  /** a paced trial at this rate */
  trial(pps: number): Promise<TrialOutcome>;
  /** upper bound: the offered rate of the flat-out (maximum receive rate) trial */
  maxPps: number;
  /** that flat-out trial, if already run: it seeds the bounds */
  mrr?: TrialOutcome;
  /** default 0.005 */
  pdrLoss?: number;
  /** default 0 (strictly no loss) */
  ndrLoss?: number;
  /** stop when hi/lo - 1 <= precision for both NDR and PDR; default 0.02 */
  precision?: number;
  /** default 12 */
  maxTrials?: number;
  /** don't search below (default maxPps / 1000) */
  minPps?: number;
  /** progress */
  onTrial?(pps: number, t: TrialOutcome, state: SearchState): void;
}

export interface Bound {
  /** highest passing rate */
  lo: number | null;
  /** lowest failing rate */
  hi: number | null;
  loTrial?: TrialOutcome;
}

export interface SearchState { ndr: Bound; pdr: Bound; trials: number }

export interface SearchResult { ndr: Bound; pdr: Bound; trials: { pps: number; outcome: TrialOutcome }[] }

/** what a trial at a rate said for one loss limit */
interface Verdict { pps: number; pass: boolean; outcome: TrialOutcome }

/** One interval being narrowed, with its trial history and its step memory. */
class Interval {
  readonly bound: Bound = { lo: null, hi: null };
  readonly limit: number;
  /** set when no rate >= minPps passes */
  gaveUp = false;
  private readonly seen: Verdict[] = [];
  private hiOutcome: TrialOutcome | null = null;
  /** the last step down from hi (no pass yet) and up from lo (far from hi): from where, by what ratio */
  private down: { from: number; ratio: number } | null = null;
  private up: { from: number; ratio: number } | null = null;
  /** the last step down that went where the received rate pointed */
  private hinted: number | null = null;

  constructor(limit: number) { this.limit = limit; }

  record(pps: number, t: TrialOutcome): void {
    const pass = t.loss <= this.limit;
    if (!pass && t.disturbed) return;
    const b = this.bound;
    this.seen.push({ pps, pass, outcome: t });
    if (pass) {
      if (b.lo === null || pps >= b.lo) { b.lo = pps; b.loTrial = t; }
      if (b.hi !== null && b.hi <= pps) this.setHi(this.lowest((v) => !v.pass && v.pps > pps));
    } else {
      if (b.hi === null || pps <= b.hi) { b.hi = pps; this.hiOutcome = t; }
      if (b.lo !== null && b.lo >= pps) {
        const v = this.highest((w) => w.pass && w.pps < pps);
        b.lo = v ? v.pps : null;
        if (v) b.loTrial = v.outcome; else delete b.loTrial;
      }
    }
  }

  precise(maxPps: number, precision: number): boolean {
    const { lo, hi } = this.bound;
    if (this.gaveUp || (lo !== null && lo >= maxPps)) return true;
    return lo !== null && hi !== null && hi / lo - 1 <= precision * (1 + 1e-9);
  }

  /** The rate to try next for this interval, or null after giving up below minPps. */
  next(maxPps: number, minPps: number, precision: number): number | null {
    const { lo, hi } = this.bound;
    if (hi === null) return maxPps;
    if (lo !== null) return this.above(lo, hi, precision);
    const pps = this.below(hi, precision);
    if (pps >= minPps) return pps;
    if (hi > minPps) return minPps;
    this.gaveUp = true;
    return null;
  }

  /** Between lo and hi: the geometric middle, or growing steps if lo came from the received-rate hint. */
  private above(lo: number, hi: number, precision: number): number {
    const mid = Math.sqrt(lo * hi);
    if (!this.up) {
      if (lo !== this.hinted) return mid;
      this.up = { from: lo, ratio: 1 + precision };
    } else if (lo > this.up.from) {
      this.up = { from: lo, ratio: this.up.ratio ** 2 };
    } else if (lo < this.up.from) {
      this.up = null; // a contradiction took lo back down: plain bisection from here
      return mid;
    }
    return Math.min(mid, lo * this.up.ratio);
  }

  /** Under hi with no pass yet: to the received-rate hint, farther after each failed step. */
  private below(hi: number, precision: number): number {
    if (this.down && hi === this.down.from) return hi * this.down.ratio; // the step was disturbed: again
    const received = this.hiOutcome?.receivedPps ?? 0;
    const hint = Math.min(received > 0 ? (received * 0.98) / hi : 0.5, 1 / (1 + precision));
    let ratio = hint;
    if (this.down && hi < this.down.from) ratio = Math.min(ratio, Math.max(this.down.ratio ** 2, 0.5));
    this.down = { from: hi, ratio };
    this.hinted = received > 0 && ratio === hint ? hi * ratio : null;
    return hi * ratio;
  }

  private setHi(v: Verdict | undefined): void {
    this.bound.hi = v ? v.pps : null;
    this.hiOutcome = v ? v.outcome : null;
  }

  private lowest(f: (v: Verdict) => boolean): Verdict | undefined {
    return this.seen.filter(f).sort((a, b) => a.pps - b.pps)[0];
  }

  private highest(f: (v: Verdict) => boolean): Verdict | undefined {
    return this.seen.filter(f).sort((a, b) => b.pps - a.pps)[0];
  }
}

export async function searchNdrPdr(o: SearchOptions): Promise<SearchResult> {
  const precision = o.precision ?? 0.02;
  const maxTrials = o.maxTrials ?? 12;
  const minPps = o.minPps ?? o.maxPps / 1000;
  const ndr = new Interval(o.ndrLoss ?? 0);
  const pdr = new Interval(o.pdrLoss ?? 0.005);
  const trials: { pps: number; outcome: TrialOutcome }[] = [];
  const state = (): SearchState => ({ ndr: { ...ndr.bound }, pdr: { ...pdr.bound }, trials: trials.length });
  if (o.mrr) { ndr.record(o.maxPps, o.mrr); pdr.record(o.maxPps, o.mrr); }

  while (trials.length < maxTrials) {
    const work = !pdr.precise(o.maxPps, precision) ? pdr : !ndr.precise(o.maxPps, precision) ? ndr : null;
    if (!work) break;
    const pps = work.next(o.maxPps, minPps, precision);
    if (pps === null) continue; // gave up below minPps: the other interval (or the end) next
    const t = await o.trial(pps);
    trials.push({ pps, outcome: t });
    // a generator that fell short of the target (descheduled on a shared core) tested the
    // rate it really offered: bounds move there, never to a rate nobody sent
    const at = t.offeredPps > 0 && t.offeredPps < pps ? t.offeredPps : pps;
    ndr.record(at, t);
    pdr.record(at, t);
    o.onTrial?.(at, t, state());
  }
  return { ndr: { ...ndr.bound }, pdr: { ...pdr.bound }, trials };
}
