/**
 * The pure parts of the stage: which tile is featured (pin, screen share, speaker layout) and when
 * a tile's new size is worth a new video hint. The stage itself runs in Chromium
 * (test/browser/stage.test.ts).
 */
import { describe, expect, test } from "vitest";
import { RoomLayout, screenTileKey } from "../../client/elements/room/stage-controller.ts";
import { featuredTile, type StageInput } from "../../client/elements/room/stage-layout.ts";
import { hintChanged } from "../../client/elements/room/video-hints.ts";

describe("featuredTile", () => {
  const keys = ["local", "ada", "grace", screenTileKey("ada")];
  const base: StageInput = { keys, layout: RoomLayout.grid, pinnedKey: undefined, screenKey: undefined, speakerKey: undefined };
  const cases: Array<[string, Partial<StageInput>, string | undefined]> = [
    ["a grid without a pin or a screen features nothing", {}, undefined],
    ["a screen share is featured in the grid layout", { screenKey: screenTileKey("ada") }, screenTileKey("ada")],
    ["a pin wins over a screen share", { screenKey: screenTileKey("ada"), pinnedKey: "grace" }, "grace"],
    ["a pin wins over the active speaker", { layout: RoomLayout.speaker, speakerKey: "ada", pinnedKey: "local" }, "local"],
    ["a pin of a tile that is gone is ignored", { pinnedKey: "linus" }, undefined],
    ["the speaker layout features the active speaker", { layout: RoomLayout.speaker, speakerKey: "grace" }, "grace"],
    ["the speaker layout without a speaker features the first other participant", { layout: RoomLayout.speaker }, "ada"],
    ["the speaker layout with a speaker who left features the first other participant", { layout: RoomLayout.speaker, speakerKey: "linus" }, "ada"],
    ["the speaker layout alone features oneself", { layout: RoomLayout.speaker, keys: ["local"] }, "local"],
    ["a screen share wins over the active speaker", { layout: RoomLayout.speaker, speakerKey: "grace", screenKey: screenTileKey("ada") }, screenTileKey("ada")],
  ];
  test.each(cases)("%s", (_name, input, featured) => {
    expect(featuredTile({ ...base, ...input })).toBe(featured);
  });
});

describe("hintChanged", () => {
  const cases: Array<[string, { width: number; height: number } | undefined, { width: number; height: number }, boolean]> = [
    ["the first size is always sent", undefined, { width: 320, height: 180 }, true],
    ["the same size is not sent again", { width: 320, height: 180 }, { width: 320, height: 180 }, false],
    ["a change within 10% is not sent", { width: 320, height: 180 }, { width: 345, height: 190 }, false],
    ["a wider tile is sent", { width: 320, height: 180 }, { width: 640, height: 180 }, true],
    ["a shorter tile is sent", { width: 320, height: 180 }, { width: 320, height: 90 }, true],
  ];
  test.each(cases)("%s", (_name, sent, next, changed) => {
    expect(hintChanged(sent, next)).toBe(changed);
  });
});
