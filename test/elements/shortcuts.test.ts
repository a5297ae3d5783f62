/**
 * The keyboard shortcuts of `<webrtc-room>` (`client/elements/room/shortcuts.ts`): which keydown
 * is which action, and which keydowns are never shortcuts.
 */
import { describe, expect, test } from "vitest";
import { ROOM_SHORTCUTS, shortcutFor, shortcutKey, type ShortcutKey } from "../../client/elements/room/shortcuts.ts";

const press = (key: string, extra: Partial<ShortcutKey> = {}): ShortcutKey => ({
  key,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  typing: false,
  ...extra,
});

describe("shortcutFor", () => {
  test.each([
    ["m", "microphone"],
    ["M", "microphone"],
    ["v", "camera"],
    ["c", "chat"],
    ["l", "leave"],
    ["?", "help"],
  ] as const)("%s is %s", (key, action) => {
    expect(shortcutFor(press(key))).toBe(action);
  });

  test.each([
    ["another key", press("x")],
    ["Ctrl+M (a browser or page shortcut)", press("m", { ctrlKey: true })],
    ["Meta+V (paste)", press("v", { metaKey: true })],
    ["Alt+L", press("l", { altKey: true })],
    ["M typed into a text field", press("m", { typing: true })],
  ])("%s is no shortcut", (_name, key) => {
    expect(shortcutFor(key)).toBeUndefined();
  });

  test("shortcutKey names each action's key as shown to the user", () => {
    expect([shortcutKey("microphone"), shortcutKey("camera"), shortcutKey("chat"), shortcutKey("leave"), shortcutKey("help")]).toEqual(["M", "V", "C", "L", "?"]);
  });

  test("every action has exactly one key, listed for the help panel", () => {
    const actions = ROOM_SHORTCUTS.map((shortcut) => shortcut.action);
    expect(new Set(actions).size).toBe(actions.length);
    expect(ROOM_SHORTCUTS.every((shortcut) => shortcut.description.length > 0)).toBe(true);
  });
});
