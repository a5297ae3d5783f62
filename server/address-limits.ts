/**
 * Limits per client address: how many WebSockets one address holds at once, and how often it may
 * upgrade, log in, place a call or fail a `resume`.
 *
 * Per-connection limits cannot stop a client that opens a new connection for every attempt; these
 * can. Pure apart from the caller's clock: each rate is a {@link TokenBucket} whose state lives in a
 * map keyed by {@link addressLimitKey}, and an entry is dropped as soon as its bucket is full again,
 * so the maps hold only addresses that were active within the last burst's refill time.
 */
import { FULL_BUCKET, TokenBucket, type BucketState } from "./token-bucket.ts";

/**
 * Most addresses one rate keeps state for. A flood from more distinct addresses than this (a
 * botnet, or IPv6 /64s) makes the limiter sweep early; past the bound it refuses new addresses
 * rather than grow without limit.
 */
export const MAX_TRACKED_ADDRESSES = 100_000;

/** A rate of attempts per address: `burst` at once, refilled at `perSecond`. */
export interface AddressRate {
  perSecond: number;
  burst: number;
}

/** One rate, applied per address. */
export class AddressRateLimiter {
  readonly #bucket: TokenBucket;
  readonly #states = new Map<string, BucketState>();
  readonly #maxTracked: number;

  constructor(rate: AddressRate, maxTracked = MAX_TRACKED_ADDRESSES) {
    this.#bucket = new TokenBucket(rate.burst, rate.perSecond);
    this.#maxTracked = maxTracked;
  }

  /** Number of addresses with state (for tests and metrics). */
  get trackedCount(): number {
    return this.#states.size;
  }

  /** True when `key` may make one more attempt at `nowMs`, without taking it. */
  allows(key: string, nowMs: number): boolean {
    return this.#bucket.take(this.#states.get(key) ?? FULL_BUCKET, nowMs) !== undefined;
  }

  /** Takes one attempt for `key` at `nowMs`; false when it is over its rate (nothing changes). */
  take(key: string, nowMs: number): boolean {
    const next = this.#bucket.take(this.#states.get(key) ?? FULL_BUCKET, nowMs);
    if (next === undefined) {
      return false;
    }
    if (!this.#states.has(key) && this.#states.size >= this.#maxTracked) {
      this.sweep(nowMs);
      if (this.#states.size >= this.#maxTracked) {
        return false;
      }
    }
    this.#states.set(key, next);
    return true;
  }

  /** Forgets every address whose bucket is full again at `nowMs`. */
  sweep(nowMs: number): void {
    for (const [key, fullAtMs] of this.#states) {
      if (fullAtMs <= nowMs) {
        this.#states.delete(key);
      }
    }
  }
}

/** Open WebSockets per address, against a ceiling. */
export class ConnectionsPerAddress {
  readonly #counts = new Map<string, number>();
  readonly #max: number;

  constructor(maxPerAddress: number) {
    this.#max = maxPerAddress;
  }

  /** Number of addresses holding at least one connection. */
  get addressCount(): number {
    return this.#counts.size;
  }

  /** Connections `key` holds now. */
  countOf(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  /** Counts one more connection for `key`; false (nothing counted) when it holds the maximum. */
  acquire(key: string): boolean {
    const count = this.#counts.get(key) ?? 0;
    if (count >= this.#max) {
      return false;
    }
    this.#counts.set(key, count + 1);
    return true;
  }

  /** Counts one connection of `key` as closed. */
  release(key: string): void {
    const count = this.#counts.get(key) ?? 0;
    if (count <= 1) {
      this.#counts.delete(key);
    } else {
      this.#counts.set(key, count - 1);
    }
  }
}
