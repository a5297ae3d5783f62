/**
 * The pure parts of `<webrtc-room>`: attribute parsing, signaling URL, display names, grid shape,
 * media-error classification and the notices shown to the user. The element itself runs in
 * Chromium (test/browser).
 */
import { describe, expect, test } from "vitest";
import { startOnConverter } from "../../client/elements/room/attributes.ts";
import {
  NOT_ALLOWED_TITLE,
  INVALID_ROOM_MESSAGE,
  failureText,
  hostMuteNotice,
  lobbyAnnouncement,
  mediaNotice,
  type FailureAction,
} from "../../client/elements/room/room-text.ts";
import { gridShape, portraitShape } from "../../client/elements/room/tile.ts";
import { hueOf, initials } from "../../client/elements/shared/avatar.ts";
import { DEFAULT_DISPLAY_NAME, displayName } from "../../client/elements/shared/display-name.ts";
import { MediaProblem, acquireLocalMedia, classifyMediaError } from "../../client/elements/shared/local-media.ts";
import { signalingUrl } from "../../client/elements/shared/signaling-url.ts";

const PAGE = "https://rooms.example.org/r/standup?x=1";

describe("signalingUrl", () => {
  test.each([
    ["", "wss://rooms.example.org/ws"],
    ["https://video.example.com", "wss://video.example.com/ws"],
    ["http://localhost:8080/", "ws://localhost:8080/ws"],
    ["https://example.com/video/", "wss://example.com/video/ws"],
    ["https://example.com/video?debug#x", "wss://example.com/video/ws"],
    ["wss://signal.example.com/custom", "wss://signal.example.com/custom"],
    ["/", "wss://rooms.example.org/ws"],
  ])("server %j on %s resolves to %s", (server, expected) => {
    expect(signalingUrl(server, PAGE)).toBe(expected);
  });

  test("refuses a scheme that is neither http(s) nor ws(s)", () => {
    expect(() => signalingUrl("ftp://example.com", PAGE)).toThrow(TypeError);
  });
});

describe("startOnConverter (audio / video attributes)", () => {
  test.each([
    [null, true],
    ["", true],
    ["on", true],
    ["true", true],
    ["off", false],
    ["OFF", false],
    [" false ", false],
    ["no", false],
    ["0", false],
  ])("attribute %j reads as %j", (value, expected) => {
    expect(startOnConverter.fromAttribute?.(value, Boolean)).toBe(expected);
  });
});

describe("displayName", () => {
  test.each([
    ["Ada", "Ada"],
    ["  Grace Hopper  ", "Grace Hopper"],
    ["", DEFAULT_DISPLAY_NAME],
    ["   ", DEFAULT_DISPLAY_NAME],
    ["Li\u0000nus\n", "Linus"],
    ["x".repeat(80), "x".repeat(64)],
    ["Ada\u009b[31m", "Ada[31m"],
    ["\u202Egnp.exe", "gnp.exe"],
    ["Ada\uD800", "Ada"],
    ["\u200B\u200D", DEFAULT_DISPLAY_NAME],
    [`${"x".repeat(63)}😀`, "x".repeat(63)],
    ["👨‍👩‍👧", "👨‍👩‍👧"],
  ])("%j becomes %j", (name, expected) => {
    expect(displayName(name)).toBe(expected);
  });
});

describe("gridShape", () => {
  test.each([
    [1, 1, 1],
    [2, 2, 1],
    [3, 2, 2],
    [4, 2, 2],
    [5, 3, 2],
    [6, 3, 2],
    [7, 3, 3],
    [8, 3, 3],
  ])("%i participants fill %i columns × %i rows", (count, cols, rows) => {
    expect(gridShape(count)).toEqual({ cols, rows });
  });
});

describe("portraitShape", () => {
  test.each([
    [1, 1, 1],
    [2, 1, 2],
    [3, 1, 3],
    [4, 2, 2],
    [5, 2, 3],
    [8, 2, 4],
  ])("%i participants on a portrait stage fill %i columns × %i rows", (count, cols, rows) => {
    expect(portraitShape(count)).toEqual({ cols, rows });
  });
});

describe("tile avatars", () => {
  test.each([
    ["Ada Lovelace", "AL"],
    ["grace", "G"],
    ["Jean-Luc van Picard", "JP"],
    ["  ", "?"],
    ["Émile Zola", "ÉZ"],
  ])("initials of %j are %j", (name, expected) => {
    expect(initials(name)).toBe(expected);
  });

  test("a name always gets the same hue, within 0–359", () => {
    expect(hueOf("Ada")).toBe(hueOf("Ada"));
    expect(hueOf("Ada")).toBeGreaterThanOrEqual(0);
    expect(hueOf("Ada")).toBeLessThan(360);
  });
});

describe("local media problems", () => {
  test.each([
    ["NotAllowedError", MediaProblem.denied],
    ["SecurityError", MediaProblem.denied],
    ["NotFoundError", MediaProblem.missing],
    ["OverconstrainedError", MediaProblem.missing],
    ["NotReadableError", MediaProblem.busy],
    ["AbortError", MediaProblem.busy],
  ])("a getUserMedia %s means %s", (name, expected) => {
    expect(classifyMediaError(new DOMException("refused", name))).toBe(expected);
  });

  test("acquireLocalMedia resolves without a stream where there is no getUserMedia (Node)", async () => {
    await expect(acquireLocalMedia()).resolves.toEqual({
      stream: undefined,
      audioProblem: MediaProblem.unsupported,
      videoProblem: MediaProblem.unsupported,
    });
  });

  test.each([
    [{ videoProblem: MediaProblem.denied }, "Camera unavailable (access blocked). Others can hear you, and you can see them."],
    [{ audioProblem: MediaProblem.missing }, "Microphone unavailable (not found). Others can see you, and you can hear them."],
    [
      { audioProblem: MediaProblem.denied, videoProblem: MediaProblem.denied },
      "No camera or microphone (camera and microphone: access blocked). You can still see and hear everyone.",
    ],
    [
      { audioProblem: MediaProblem.missing, videoProblem: MediaProblem.busy },
      "No camera or microphone (camera: in use by another app; microphone: not found). You can still see and hear everyone.",
    ],
    [{}, undefined],
  ])("notice for %j", (problems, expected) => {
    expect(mediaNotice({ stream: undefined, audioProblem: undefined, videoProblem: undefined, ...problems })).toBe(expected);
  });
});

describe("failureText", () => {
  test("names a full room and a lost connection plainly", () => {
    expect(failureText({ code: "room_full", message: "room is full" }).title).toBe("This room is full");
    expect(failureText({ code: "signaling_closed", message: "closed" }).title).toBe("Connection lost");
  });

  test("falls back to the error's message for codes without their own sentence", () => {
    expect(failureText({ code: "internal_error", message: "details" })).toEqual({ title: "Could not join", detail: "details", action: "retry", reason: "internal_error" });
  });

  test("an invalid room name and a refused request say so in words, never with the server's schema text", () => {
    const invalid = failureText({ code: "invalid_room", message: INVALID_ROOM_MESSAGE });
    expect(invalid).toMatchObject({ title: "This room name cannot be used", action: "none", reason: "invalid_room" });
    expect(invalid.detail).toContain("letters, digits");
    const refused = failureText({ code: "bad_message", message: "room must match [A-Za-z0-9_-]{1,64}" });
    expect(refused).toMatchObject({ title: "Could not join", action: "retry" });
    expect(refused.detail).not.toContain("[");
  });

  test.each([
    ["token_missing", "none", "invitation"],
    ["token_expired", "none", "expired. Ask for a new link"],
    ["token_not_yet_valid", "retry", "not valid yet"],
    ["token_wrong_room", "none", "another room"],
    ["token_invalid", "none", "not valid for this server"],
    ["token_algorithm", "none", "not valid for this server"],
  ] as const)("a refused join token (%s) shows the 'not allowed to join' panel, offering %s", (code, action, words) => {
    const view = failureText({ code, message: "the server's words" });
    expect(view).toMatchObject({ title: NOT_ALLOWED_TITLE, action, reason: "not_allowed" });
    expect(view.detail).toContain(words);
  });

  // The room-protection codes arrive from newer servers; the failure carries them as the server sent them.
  const protectionCodes: Array<[string, FailureAction, string]> = [
    ["password_required", "password", "This room has a password"],
    ["wrong_password", "password", "Wrong password"],
    ["password_rate_limited", "retry", "Too many wrong passwords"],
    ["room_locked", "retry", "This room is locked"],
    ["lobby_denied", "retry", "You were not let in"],
    ["removed", "rejoin", "A host removed you from the room"],
  ];
  test.each(protectionCodes)("a join refused (or a stay ended) with %s offers %s under '%s'", (code, action, title) => {
    expect(failureText({ code, message: "" })).toMatchObject({ title, action, reason: code });
  });
});

describe("host notices", () => {
  const ada = { id: "a", username: "Ada" };
  const grace = { id: "g", username: "Grace" };
  const linus = { id: "l", username: "Linus" };

  test.each([
    ["one arrival", [], [ada], "Ada is waiting in the lobby"],
    ["an arrival next to someone already waiting", [ada], [ada, grace], "Grace is waiting in the lobby"],
    ["two arrivals at once", [], [ada, grace], "Ada and Grace are waiting in the lobby"],
    ["three arrivals at once", [], [ada, grace, linus], "3 people are waiting in the lobby"],
    ["someone admitted or gone", [ada, grace], [grace], undefined],
    ["the lobby emptied", [ada], [], undefined],
    ["the same list again", [ada], [ada], undefined],
  ])("lobbyAnnouncement for %s is %j", (_case, previous, next, expected) => {
    expect(lobbyAnnouncement(previous, next)).toBe(expected);
  });

  test("a mute request names what the host turned off and says the user may turn it on again", () => {
    expect(hostMuteNotice("audio")).toMatch(/^A host muted your microphone\. You can unmute it/);
    expect(hostMuteNotice("video")).toMatch(/^A host turned off your camera\. You can turn it back on/);
  });
});
