/**
 * Unit tests of the one-number token bucket, against the two-number definition it replaces.
 */
import { describe, expect, it } from "vitest";
import { FULL_BUCKET, TokenBucket, type BucketState } from "../server/token-bucket.ts";

/** Takes at `times` from a fresh bucket; true per accepted take. */
function takes(bucket: TokenBucket, times: number[]): boolean[] {
  let state: BucketState = FULL_BUCKET;
  return times.map((nowMs) => {
    const next = bucket.take(state, nowMs);
    if (next === undefined) {
      return false;
    }
    state = next;
    return true;
  });
}

/** The classic definition: tokens and a timestamp, refilled continuously, capped at capacity. */
function reference(capacity: number, refillPerSecond: number, times: number[]): boolean[] {
  let tokens = capacity;
  let updatedAtMs = -Infinity;
  return times.map((nowMs) => {
    tokens = Math.min(capacity, tokens + (Math.max(0, nowMs - updatedAtMs) * refillPerSecond) / 1000);
    updatedAtMs = nowMs;
    if (tokens < 1) {
      return false;
    }
    tokens -= 1;
    return true;
  });
}

describe("TokenBucket (happy path)", () => {
  it("allows a full burst at once, then refuses", () => {
    expect(takes(new TokenBucket(3, 1), [100, 100, 100, 100])).toEqual([true, true, true, false]);
  });

  it("refills continuously at its rate", () => {
    expect(takes(new TokenBucket(1, 2), [0, 100, 499, 500, 999, 1000])).toEqual([true, false, false, true, false, true]);
  });

  it("never holds more than its capacity after a long quiet time", () => {
    expect(takes(new TokenBucket(2, 10), [0, 1e9, 1e9, 1e9])).toEqual([true, true, true, false]);
  });

  it.each([
    { capacity: 200, refillPerSecond: 50 },
    { capacity: 20, refillPerSecond: 1 },
    { capacity: 7, refillPerSecond: 3 },
    { capacity: 1_000_000, refillPerSecond: 1_000_000 },
  ])("agrees with the two-number definition (capacity $capacity, $refillPerSecond/s)", ({ capacity, refillPerSecond }) => {
    // Bursts and pauses on a clock far from zero, as after days of uptime.
    const times: number[] = [];
    let nowMs = 5e8;
    for (let index = 0; index < 3 * capacity && index < 3000; index += 1) {
      nowMs += index % 50 === 0 ? 997 : index % 7 === 0 ? 13.7 : 0;
      times.push(nowMs);
    }
    expect(takes(new TokenBucket(capacity, refillPerSecond), times)).toEqual(reference(capacity, refillPerSecond, times));
  });
});

describe("TokenBucket (failure cases)", () => {
  it("leaves the state unchanged when it refuses", () => {
    const bucket = new TokenBucket(1, 1);
    const state = bucket.take(FULL_BUCKET, 0) as BucketState;
    expect(bucket.take(state, 10)).toBeUndefined();
    expect(bucket.take(state, 1000)).toBe(2000);
  });

  it.each([[0, 1], [1, 0], [Number.NaN, 1]])("rejects capacity %d with refill %d", (capacity, refillPerSecond) => {
    expect(() => new TokenBucket(capacity, refillPerSecond)).toThrow(RangeError);
  });
});
