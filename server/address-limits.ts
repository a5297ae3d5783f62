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

/** A count of failures per key within a sliding window, e.g. wrong room passwords per address and room. */
export interface FailureWindowOptions {
  /** Failures a key may have within `windowMs`; with that many, it is blocked. */
  maxFailures: number;
  windowMs: number;
}

/**
 * Failures per key within a sliding window: a key with `maxFailures` failures in the last
 * `windowMs` is blocked until the oldest of them is `windowMs` old. Unlike a token bucket, which
 * lets a burst through and then refills, this never lets more than `maxFailures` through in any
 * window. A key holds at most `maxFailures` timestamps and is dropped once they have all aged out.
 */
export class FailureWindow {
  readonly #options: FailureWindowOptions;
  /** key → times of its failures within the window, oldest first. */
  readonly #failures = new Map<string, number[]>();
  readonly #maxTracked: number;

  constructor(options: FailureWindowOptions, maxTracked = MAX_TRACKED_ADDRESSES) {
    this.#options = options;
    this.#maxTracked = maxTracked;
  }

  /** Number of keys with failures in the window (for tests). */
  get trackedCount(): number {
    return this.#failures.size;
  }

  /** How long `key` is still blocked at `nowMs`, in milliseconds; 0 when it may try. */
  blockedForMs(key: string, nowMs: number): number {
    const times = this.#recent(key, nowMs);
    if (times.length < this.#options.maxFailures) {
      return 0;
    }
    return Math.max(1, Math.ceil((times[0] ?? nowMs) + this.#options.windowMs - nowMs));
  }

  /** Records one failure of `key` at `nowMs`. */
  fail(key: string, nowMs: number): void {
    const times = this.#recent(key, nowMs);
    if (times.length === 0 && this.#failures.size >= this.#maxTracked) {
      this.sweep(nowMs);
    }
    times.push(nowMs);
    // Only the newest `maxFailures` matter: they alone decide when the key is free again.
    while (times.length > this.#options.maxFailures) {
      times.shift();
    }
    this.#failures.set(key, times);
  }

  /** Forgets every key whose failures have all left the window at `nowMs`. */
  sweep(nowMs: number): void {
    for (const key of [...this.#failures.keys()]) {
      this.#recent(key, nowMs);
    }
  }

  /** The failures of `key` still within the window at `nowMs`; the key is dropped when there are none. */
  #recent(key: string, nowMs: number): number[] {
    const times = this.#failures.get(key);
    if (times === undefined) {
      return [];
    }
    const since = nowMs - this.#options.windowMs;
    while (times.length > 0 && (times[0] ?? 0) <= since) {
      times.shift();
    }
    if (times.length === 0) {
      this.#failures.delete(key);
    }
    return times;
  }
}
