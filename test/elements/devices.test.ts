/**
 * The pure parts of the device choices of `<webrtc-room>`: the origin that keys the remembered
 * choices, reading them back from storage (never throwing on what another version or a user left
 * there), and what the room says about a lost or refused device. The pickers, the meter and the
 * switching run in Chromium (test/browser/room-devices.test.ts).
 */
import { describe, expect, test } from "vitest";
import { deviceLostNotice, deviceRefusedNotice } from "../../client/elements/room/room-text.ts";
import { parseDeviceChoice, serverOrigin } from "../../client/elements/shared/devices.ts";

const PAGE = "https://rooms.example.org/r/standup";

describe("serverOrigin", () => {
  test.each([
    ["", "https://rooms.example.org"],
    ["https://video.example.com/prefix/", "https://video.example.com"],
    ["wss://video.example.com/ws", "https://video.example.com"],
    ["ws://localhost:8080/ws", "http://localhost:8080"],
    ["http://localhost:8080", "http://localhost:8080"],
  ])("server %j on the page keys its choices under %s", (server, origin) => {
    expect(serverOrigin(server, PAGE)).toBe(origin);
  });

  test("is undefined for a server that is not a URL", () => {
    expect(serverOrigin("http://[", PAGE)).toBeUndefined();
  });
});

describe("parseDeviceChoice", () => {
  test("reads back every remembered field", () => {
    const choice = { cameraId: "c", microphoneId: "m", speakerId: "s", name: "Ada" };
    expect(parseDeviceChoice(JSON.stringify(choice))).toEqual(choice);
  });

  test.each([
    ["nothing stored", null],
    ["not JSON", "{"],
    ["not an object", "42"],
    ["null", "null"],
  ])("is empty for %s", (_what, text) => {
    expect(parseDeviceChoice(text)).toEqual({});
  });

  test("drops fields that are not strings or are too long, and unknown fields", () => {
    const text = JSON.stringify({ cameraId: 7, microphoneId: "m", speakerId: "x".repeat(300), other: "y" });
    expect(parseDeviceChoice(text)).toEqual({ microphoneId: "m" });
  });
});

describe("device notices", () => {
  test("a lost device names the one that took over, or says that none could", () => {
    expect(deviceLostNotice("camera", "USB Camera", "FaceTime HD")).toBe('Camera "USB Camera" was disconnected. Using "FaceTime HD" instead.');
    expect(deviceLostNotice("microphone", "Headset", undefined)).toBe('Microphone "Headset" was disconnected, and no other microphone could be opened.');
  });

  test("a refused pick says why and that nothing changed", () => {
    expect(deviceRefusedNotice("camera", "busy")).toBe("That camera could not be used (in use by another app). The previous one stays on.");
  });
});
