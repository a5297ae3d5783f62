/**
 * The active-speaker decision (`nextSpeakerState`): table-driven, each row a sequence of level
 * readings and the active speaker expected after the last one.
 */
import { describe, expect, test } from "vitest";
import { NO_SPEAKER, levelBetween, nextSpeakerState, type SpeakerRules, type SpeakerState } from "../../client/core/speaking.ts";

const RULES: SpeakerRules = { speakingLevel: 0.05, switchAfterMs: 750, maxGapMs: 500 };

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
    ["a pause of up to 500 ms keeps a challenger's lead", [[0, { a: 0.3 }], [250, { a: 0 }], [500, { a: 0.3 }], [750, { a: 0.3 }]], "a"],
    ["a longer pause starts the lead again", [[0, { a: 0.3 }], [250, { a: 0 }], [1_000, { a: 0 }], [1_250, { a: 0.3 }], [1_750, { a: 0.3 }]], undefined],
  ])("%s", (_case, readings, expected) => {
    expect(run(readings).activeId).toBe(expected);
  });

  test("the challenger and since when it leads are kept between readings, and cleared by silence", () => {
    const challenged = run([[0, { a: 0.3, b: 0 }], [750, { a: 0.3, b: 0 }], [1_000, { a: 0, b: 0.4 }]]);
    expect(challenged).toEqual({ activeId: "a", challengerId: "b", challengerSinceMs: 1_000, challengerHeardMs: 1_000 });
    expect(run([[1_250, { a: 0, b: 0 }]], challenged)).toEqual(challenged);
    expect(run([[1_600, { a: 0, b: 0 }]], challenged)).toEqual({ activeId: "a", challengerId: undefined, challengerSinceMs: undefined, challengerHeardMs: undefined });
  });
});

describe("levelBetween", () => {
  test.each([
    ["the RMS over the interval from the energy totals", { level: 0, totalEnergy: 1, totalSeconds: 10 }, { level: 0, totalEnergy: 1.0625, totalSeconds: 10.25 }, 0.5],
    ["a short burst inside a quiet interval still shows", { level: 0, totalEnergy: 0, totalSeconds: 0 }, { level: 0, totalEnergy: 0.25 * 0.02, totalSeconds: 0.25 }, Math.sqrt(0.02)],
    ["the last frame's level without an earlier reading", undefined, { level: 0.3, totalEnergy: 5, totalSeconds: 20 }, 0.3],
    ["the last frame's level without energy totals", { level: 0.1, totalEnergy: undefined, totalSeconds: undefined }, { level: 0.3, totalEnergy: undefined, totalSeconds: undefined }, 0.3],
    ["the last frame's level when the totals went back (a new connection)", { level: 0, totalEnergy: 9, totalSeconds: 90 }, { level: 0.2, totalEnergy: 0.1, totalSeconds: 1 }, 0.2],
  ])("%s", (_case, previous, current, expected) => {
    expect(levelBetween(previous, current)).toBeCloseTo(expected, 6);
  });
});
