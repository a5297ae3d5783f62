/**
 * The timer service with real timers: keyed one-shot timers that replace, cancel, run inside the
 * failure boundary and all stop at close.
 */
import { describe, expect, it } from "vitest";
import { TimerService, type Guard } from "../server/timers.ts";

/** A guard that records failures by place instead of reporting them. */
function recordingGuard(): { guard: Guard; failures: string[] } {
  const failures: string[] = [];
  const guard: Guard = (place, body) => {
    try {
      body();
    } catch (error) {
      failures.push(`${place}: ${(error as Error).message}`);
    }
  };
  return { guard, failures };
}

/** Resolves after `ms` plus a turn, long after timers of at most `ms` ran. */
function after(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(() => setImmediate(resolve), ms));
}

describe("TimerService (happy path)", () => {
  it("runs a started timer once and forgets it", async () => {
    const timers = new TimerService(recordingGuard().guard);
    const fired: string[] = [];
    await new Promise<void>((resolve) => {
      timers.start("ring:1", 5, "call timer", () => {
        fired.push("ring:1");
        resolve();
      });
      expect(timers.has("ring:1")).toBe(true);
    });
    expect(fired).toEqual(["ring:1"]);
    expect(timers.has("ring:1")).toBe(false);
    expect(timers.size).toBe(0);
  });

  it("runs a zero delay at the end of the event-loop turn, not synchronously", async () => {
    const timers = new TimerService(recordingGuard().guard);
    let fired = false;
    const done = new Promise<void>((resolve) => timers.start("presence:window", 0, "presence window", () => {
      fired = true;
      resolve();
    }));
    expect(fired).toBe(false);
    await done;
    expect(fired).toBe(true);
  });

  it("replaces the timer of a key that is started again", async () => {
    const timers = new TimerService(recordingGuard().guard);
    const fired: string[] = [];
    timers.start("grace:p", 5, "grace timer", () => fired.push("first"));
    await new Promise<void>((resolve) => timers.start("grace:p", 10, "grace timer", () => {
      fired.push("second");
      resolve();
    }));
    await after(10);
    expect(fired).toEqual(["second"]);
  });
});

describe("TimerService (failure cases)", () => {
  it("does not run a cancelled timer", async () => {
    const timers = new TimerService(recordingGuard().guard);
    const fired: string[] = [];
    timers.start("ring:1", 5, "call timer", () => fired.push("ring:1"));
    timers.start("ending:1", 0, "call timer", () => fired.push("ending:1"));
    timers.cancel("ring:1");
    timers.cancel("ending:1");
    timers.cancel("never-started");
    await after(10);
    expect(fired).toEqual([]);
    expect(timers.size).toBe(0);
  });

  it("reports a throwing callback under its place and keeps running the others", async () => {
    const { guard, failures } = recordingGuard();
    const timers = new TimerService(guard);
    timers.start("ring:1", 1, "call timer", () => {
      throw new Error("boom");
    });
    await new Promise<void>((resolve) => timers.start("ring:2", 5, "call timer", resolve));
    expect(failures).toEqual(["call timer: boom"]);
  });

  it("clears every pending timer at close and ignores later starts", async () => {
    const timers = new TimerService(recordingGuard().guard);
    const fired: string[] = [];
    timers.start("ring:1", 5, "call timer", () => fired.push("ring:1"));
    timers.start("presence:window", 0, "presence window", () => fired.push("presence"));
    timers.close();
    timers.close();
    timers.start("grace:p", 1, "grace timer", () => fired.push("grace"));
    expect(timers.size).toBe(0);
    await after(10);
    expect(fired).toEqual([]);
  });
});
