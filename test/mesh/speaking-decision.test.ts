/**
 * The active-speaker decision (`nextSpeakerState`): table-driven, each row a sequence of level
 * readings and the active speaker expected after the last one.
 */
import { describe, expect, test } from "vitest";
import { NO_SPEAKER, nextSpeakerState, type SpeakerRules, type SpeakerState } from "../../client/core/speaking.ts";

const RULES: SpeakerRules = { speakingLevel: 0.05, switchAfterMs: 750 };

/** One reading: when (ms) and each present peer's level. */
type Reading = [atMs: number, levels: Record<string, number>];

/** The state after feeding `readings` in order, from `start`. */
function run(readings: readonly Reading[], start: SpeakerState = NO_SPEAKER): SpeakerState {
  return readings.reduce((state, [atMs, levels]) => nextSpeakerState(state, new Map(Object.entries(levels)), atMs, RULES), start);
}

describe("nextSpeakerState", () => {
  test.each<[string, Reading[], string | undefined]>([
    ["nobody is active while everyone is silent", [[0, { a: 0.01, b: 0 }], [1_000, { a: 0.02, b: 0.04 }]], undefined],
    ["a first speaker is not active before leading for 750 ms", [[0, { a: 0.3, b: 0 }], [500, { a: 0.3, b: 0 }]], undefined],
    ["a first speaker is active after leading for 750 ms", [[0, { a: 0.3, b: 0 }], [250, { a: 0.3, b: 0 }], [750, { a: 0.3, b: 0 }]], "a"],
    ["a cough (one loud reading) does not take the stage", [[0, { a: 0.3, b: 0 }], [250, { a: 0, b: 0 }], [1_000, { a: 0, b: 0 }]], undefined],
    ["the active speaker stays through silence", [[0, { a: 0.3 }], [750, { a: 0.3 }], [5_000, { a: 0 }]], "a"],
    [
      "a challenger takes over only after leading 750 ms without interruption",
      [[0, { a: 0.3, b: 0 }], [750, { a: 0.3, b: 0 }], [1_000, { a: 0.1, b: 0.4 }], [1_500, { a: 0.5, b: 0.4 }], [1_750, { a: 0.1, b: 0.4 }], [2_250, { a: 0.1, b: 0.4 }]],
      "a",
    ],
    [
      "a challenger that leads long enough takes over",
      [[0, { a: 0.3, b: 0 }], [750, { a: 0.3, b: 0 }], [1_000, { a: 0.1, b: 0.4 }], [1_500, { a: 0.1, b: 0.4 }], [1_750, { a: 0.1, b: 0.4 }]],
      "b",
    ],
    ["a tie keeps the active speaker", [[0, { a: 0.3, b: 0 }], [750, { a: 0.3, b: 0 }], [1_000, { a: 0.3, b: 0.3 }], [2_000, { a: 0.3, b: 0.3 }]], "a"],
    ["an active speaker that left is dropped", [[0, { a: 0.3, b: 0 }], [750, { a: 0.3, b: 0 }], [1_000, { b: 0 }]], undefined],
    ["a level exactly at the threshold counts as speaking", [[0, { a: 0.05 }], [750, { a: 0.05 }]], "a"],
  ])("%s", (_case, readings, expected) => {
    expect(run(readings).activeId).toBe(expected);
  });

  test("the challenger and since when it leads are kept between readings, and cleared by silence", () => {
    const challenged = run([[0, { a: 0.3, b: 0 }], [750, { a: 0.3, b: 0 }], [1_000, { a: 0, b: 0.4 }]]);
    expect(challenged).toEqual({ activeId: "a", challengerId: "b", challengerSinceMs: 1_000 });
    expect(run([[1_250, { a: 0, b: 0 }]], challenged)).toEqual({ activeId: "a", challengerId: undefined, challengerSinceMs: undefined });
  });
});
