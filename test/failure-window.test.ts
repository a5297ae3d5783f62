/**
 * Unit tests of the sliding failure window behind the room-password limit (server/address-limits.ts).
 */
import { describe, expect, it } from "vitest";
import { FailureWindow } from "../server/address-limits.ts";

describe("FailureWindow", () => {
  it("blocks a key at its 5th failure within the window, until the oldest one is a window old", () => {
    const window = new FailureWindow({ maxFailures: 5, windowMs: 60_000 });
    for (const atMs of [0, 1_000, 2_000, 3_000]) {
      window.fail("a", atMs);
      expect(window.blockedForMs("a", atMs)).toBe(0);
    }
    window.fail("a", 4_000);
    expect(window.blockedForMs("a", 4_000)).toBe(56_000);
    expect(window.blockedForMs("a", 59_999)).toBe(1);
    expect(window.blockedForMs("a", 60_000)).toBe(0);
    expect(window.blockedForMs("b", 4_000)).toBe(0);
  });

  it("never lets more than the maximum through in any window, unlike a refilling bucket", () => {
    const window = new FailureWindow({ maxFailures: 5, windowMs: 60_000 });
    let allowed = 0;
    for (let atMs = 0; atMs < 60_000; atMs += 1_000) {
      if (window.blockedForMs("a", atMs) === 0) {
        window.fail("a", atMs);
        allowed += 1;
      }
    }
    expect(allowed).toBe(5);
  });

  it("forgets keys whose failures all left the window", () => {
    const window = new FailureWindow({ maxFailures: 5, windowMs: 60_000 });
    window.fail("a", 0);
    window.fail("b", 30_000);
    window.sweep(60_000);
    expect(window.trackedCount).toBe(1);
    window.sweep(90_000);
    expect(window.trackedCount).toBe(0);
  });
});
