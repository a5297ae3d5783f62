/**
 * Token bucket used for per-connection message rates and error budgets: `capacity` tokens at most,
 * refilled continuously at `refillPerSecond`. Pure: the caller passes the clock.
 */
export class TokenBucket {
  #tokens: number;
  #updatedAtMs: number;

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    nowMs: number,
  ) {
    this.#tokens = capacity;
    this.#updatedAtMs = nowMs;
  }

  /** Takes one token if one is available at `nowMs`; false means the caller is over its rate. */
  take(nowMs: number): boolean {
    const elapsedMs = Math.max(0, nowMs - this.#updatedAtMs);
    this.#tokens = Math.min(this.capacity, this.#tokens + (elapsedMs * this.refillPerSecond) / 1000);
    this.#updatedAtMs = nowMs;
    if (this.#tokens < 1) {
      return false;
    }
    this.#tokens -= 1;
    return true;
  }
}
