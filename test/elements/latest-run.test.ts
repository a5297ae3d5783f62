/**
 * `LatestRun`, the stale-async guard of both element controllers.
 */
import { describe, expect, test } from "vitest";
import { LatestRun } from "../../client/elements/shared/latest-run.ts";

describe("LatestRun", () => {
  test("a run stays current until the next start", () => {
    const runs = new LatestRun();
    const first = runs.start();
    expect(first.aborted).toBe(false);
    expect(runs.signal).toBe(first);
    const second = runs.start();
    expect(first.aborted).toBe(true);
    expect(second.aborted).toBe(false);
  });

  test("cancel makes the current run stale and removes the listeners added with its signal", () => {
    const runs = new LatestRun();
    const run = runs.start();
    const target = new EventTarget();
    let heard = 0;
    target.addEventListener("ping", () => (heard += 1), { signal: run });
    target.dispatchEvent(new Event("ping"));
    runs.cancel();
    runs.cancel();
    target.dispatchEvent(new Event("ping"));
    expect(run.aborted).toBe(true);
    expect(heard).toBe(1);
    expect(runs.signal.aborted).toBe(false);
  });

  test("an await that resumes after a newer start sees its run as stale", async () => {
    const runs = new LatestRun();
    const outcomes: string[] = [];
    const step = async (name: string, delayMs: number): Promise<void> => {
      const run = runs.start();
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      outcomes.push(run.aborted ? `${name}: stale` : `${name}: applied`);
    };
    await Promise.all([step("slow", 20), step("fast", 1)]);
    expect(outcomes).toEqual(["fast: applied", "slow: stale"]);
  });
});
