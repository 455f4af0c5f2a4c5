// clock.ts — where the engine reads time: the real monotonic clock, or a fake one that
// tests move by hand (aging, timeouts and retries are then tested without sleeping).

export interface Clock {
  /** Milliseconds on a monotonic scale (fractional). */
  nowMs(): number;
}

export const realClock: Clock = { nowMs: () => performance.now() };

export class FakeClock implements Clock {
  ms = 0;
  nowMs(): number { return this.ms; }
  advance(seconds: number): void { this.ms += seconds * 1000; }
}
