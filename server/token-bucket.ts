/**
 * Token buckets for per-connection message rates and error budgets: `capacity` tokens at most,
 * refilled continuously at `refillPerSecond`. Pure: the caller passes the clock.
 *
 * A bucket's whole state is one number, the time at which it is full again (the "generic cell
 * rate algorithm" form of a token bucket): with `capacity` C and `refillPerSecond` r, a bucket
 * whose state is `fullAtMs` holds `C - max(0, fullAtMs - now) · r / 1000` tokens. One number per
 * bucket, kept in the connection's own record, costs a few bytes per idle connection where two
 * objects with two fields each cost over a hundred.
 */

/** State of one bucket: the time (ms, on the caller's clock) at which it is full. */
export type BucketState = number;

/** The state of a bucket that is full now (any time in the past will do). */
export const FULL_BUCKET: BucketState = 0;

/** Capacity and refill rate shared by every bucket of one kind; the states live with their owners. */
export class TokenBucket {
  readonly #msPerToken: number;
  /** How far `fullAtMs` may run ahead of now with a token still left to take. */
  readonly #toleranceMs: number;

  constructor(capacity: number, refillPerSecond: number) {
    if (!(capacity >= 1) || !(refillPerSecond > 0)) {
      throw new RangeError(`a token bucket needs capacity >= 1 and refillPerSecond > 0, got ${capacity} and ${refillPerSecond}`);
    }
    this.#msPerToken = 1000 / refillPerSecond;
    // A thousandth of a token of slack absorbs the rounding of adding `#msPerToken` over and over,
    // so that the last token of a burst is never lost to floating point.
    this.#toleranceMs = (capacity - 1 + 1 / 1024) * this.#msPerToken;
  }

  /**
   * Takes one token from the bucket in `state` at `nowMs`. Returns the bucket's new state, or
   * `undefined` when no token is left (the caller is over its rate; the state is unchanged).
   */
  take(state: BucketState, nowMs: number): BucketState | undefined {
    const fullAtMs = state > nowMs ? state : nowMs;
    // Compare against the tolerance instead of counting tokens, so no division per message.
    if (fullAtMs - nowMs > this.#toleranceMs) {
      return undefined;
    }
    return fullAtMs + this.#msPerToken;
  }
}
