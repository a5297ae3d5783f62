/**
 * Devices in `<webrtc-room>`, in real Chromium with fake devices (three fake cameras, Chromium's
 * three fake microphones and three fake speakers; the tests pick `fake_device_2`, since
 * `fake_device_1` delivers Y16 depth frames that WebRTC sends no frame of) against the real
 * server: the pre-join screen of `/r/<room>` decodes its camera preview, meters the microphone, lists the devices, publishes the
 * preview's own tracks and remembers the choices across a reload; the devices dialog switches
 * camera and microphone while joined on the same peer connection (the other page keeps decoding),
 * sets the speaker, falls back to the default camera when the one in use goes away, and turns on a
 * camera allowed after a denial; a device plugged in (`devicechange`) appears in the pickers;
 * axe-core finds no violation on either screen.
 */
import type { Page } from "playwright-core";
import { describe, expect, test } from "vitest";
import { CHROMIUM_INSTALL, CHROMIUM_PATH, axeViolations, joinRoomPage, unblockCamera, waitForRoomState } from "../support/chromium.ts";
import { requireBinary } from "../support/system-binary.ts";
import { useBrowserSuite } from "../support/browser-suite.ts";

const hasChromium = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL);

/** Generous bounds: Chromium pages encoding and decoding video share two CPU cores. */
const DEADLINE_MS = 90_000;
const TEST_TIMEOUT_MS = 240_000;
const POLL = { timeout: DEADLINE_MS, interval: 250 };

/** Runs in a page before its scripts: counts `getUserMedia` calls in `window.__getUserMediaCalls`. */
function countGetUserMedia(): void {
  const devices = navigator.mediaDevices;
  const getUserMedia = devices.getUserMedia.bind(devices);
  const counter = { calls: 0 };
  Object.defineProperty(window, "__getUserMediaCalls", { get: () => counter.calls });
  devices.getUserMedia = (constraints) => {
    counter.calls += 1;
    return getUserMedia(constraints);
  };
}

/** Runs in a page before its scripts: keeps every `device-change` detail in `window.__deviceChanges`. */
function recordDeviceChanges(): void {
  const changes: unknown[] = [];
  Object.defineProperty(window, "__deviceChanges", { value: changes });
  document.addEventListener("device-change", (event) => changes.push((event as CustomEvent).detail));
}

const getUserMediaCalls = (page: Page): Promise<number> => page.evaluate(() => (window as unknown as { __getUserMediaCalls: number }).__getUserMediaCalls);
const deviceChanges = (page: Page): Promise<Array<{ kind: string; deviceId: string; label: string; reason: string }>> =>
  page.evaluate(() => (window as unknown as { __deviceChanges: Array<{ kind: string; deviceId: string; label: string; reason: string }> }).__deviceChanges);

const control = (page: Page, name: string) => page.locator(`[data-control="${name}"]`);

/** The labels a picker (`select[data-device=kind]`) offers. */
const pickerLabels = (page: Page, kind: string): Promise<string[]> =>
  page.locator(`select[data-device="${kind}"] option`).allTextContents();

/** The device the page's own `kind` track (in the local preview or tile) captures from. */
function localDeviceId(page: Page, kind: "audio" | "video"): Promise<string | undefined> {
  return page.evaluate((trackKind) => {
    const video = document.querySelector("webrtc-room")?.shadowRoot?.querySelector<HTMLVideoElement>('[part="preview"], [part~="tile-local"] video');
    const stream = video?.srcObject;
    const [track] = stream instanceof MediaStream ? (trackKind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks()) : [];
    return track?.getSettings().deviceId;
  }, kind);
}

/** The device each of the page's peer connections sends `kind` from (`RTCRtpSender.track`). */
function sentDeviceIds(page: Page, kind: "audio" | "video"): Promise<Array<string | undefined>> {
  return page.evaluate((trackKind) => {
    const connections = (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections;
    return connections.flatMap((connection) => connection.getSenders())
      .filter((sender) => sender.track?.kind === trackKind)
      .map((sender) => sender.track?.getSettings().deviceId);
  }, kind);
}

/** The page's peer connections, and the id and `framesDecoded` of the one inbound video stream. */
function inboundVideo(page: Page): Promise<{ connections: number; id: string | undefined; framesDecoded: number }> {
  return page.evaluate(async () => {
    const connections = (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections;
    for (const connection of connections) {
      for (const report of (await connection.getStats()).values()) {
        if (report.type === "inbound-rtp" && report.kind === "video") {
          return { connections: connections.length, id: report.id as string, framesDecoded: (report.framesDecoded as number | undefined) ?? 0 };
        }
      }
    }
    return { connections: connections.length, id: undefined, framesDecoded: 0 };
  });
}

/** Resolves once `page`'s video keeps decoding: `framesDecoded` rose by `frames` past its value now. */
async function keepsDecoding(page: Page, frames = 10): Promise<void> {
  const before = (await inboundVideo(page)).framesDecoded;
  await expect.poll(async () => (await inboundVideo(page)).framesDecoded, POLL).toBeGreaterThan(before + frames);
}

describe.skipIf(!hasChromium)("<webrtc-room> devices in Chromium", () => {
  const suite = useBrowserSuite({ setupTimeoutMs: TEST_TIMEOUT_MS, fakeCameras: 3 });

  test("the pre-join screen previews the camera, meters the microphone, lists the fake devices, publishes the preview's tracks and remembers the choices across a reload", async () => {
    const page = await suite.newPage();
    await page.addInitScript(countGetUserMedia);
    await page.goto(`${suite.baseUrl}/r/prejoin`);

    // The preview decodes frames: a size, and a clock that moves.
    const preview = page.locator('[part="preview"]');
    await expect.poll(() => preview.evaluate((video: HTMLVideoElement) => video.videoWidth), POLL).toBeGreaterThan(0);
    const shownAt = await preview.evaluate((video: HTMLVideoElement) => video.currentTime);
    await expect.poll(() => preview.evaluate((video: HTMLVideoElement) => video.currentTime), POLL).toBeGreaterThan(shownAt);
    // The fake microphone beeps: the meter moves.
    await expect.poll(async () => Number(await page.locator('[part="level"]').getAttribute("aria-valuenow")), POLL).toBeGreaterThan(0);

    await expect.poll(() => pickerLabels(page, "camera"), POLL).toEqual(["fake_device_0", "fake_device_1", "fake_device_2"]);
    await expect(pickerLabels(page, "microphone")).resolves.toEqual(["Fake Default Audio Input", "Fake Audio Input 1", "Fake Audio Input 2"]);
    await expect(pickerLabels(page, "speaker")).resolves.toEqual(["Fake Default Audio Output", "Fake Audio Output 1", "Fake Audio Output 2"]);
    await expect(axeViolations(page)).resolves.toEqual([]);
    await page.emulateMedia({ colorScheme: "light" });
    await expect(axeViolations(page)).resolves.toEqual([]);

    // Pick the second camera, the second microphone and the second speaker.
    const cameraId = await page.locator('select[data-device="camera"] option', { hasText: "fake_device_2" }).getAttribute("value");
    const microphoneId = await page.locator('select[data-device="microphone"] option', { hasText: "Fake Audio Input 2" }).getAttribute("value");
    const speakerId = await page.locator('select[data-device="speaker"] option', { hasText: "Fake Audio Output 1" }).getAttribute("value");
    await page.getByLabel("Camera", { exact: true }).selectOption({ label: "fake_device_2" });
    await expect.poll(() => localDeviceId(page, "video"), POLL).toBe(cameraId);
    await page.getByLabel("Microphone", { exact: true }).selectOption({ label: "Fake Audio Input 2" });
    await expect.poll(() => localDeviceId(page, "audio"), POLL).toBe(microphoneId);
    await page.getByLabel("Speaker", { exact: true }).selectOption({ label: "Fake Audio Output 1" });

    // The camera switch works before joining too.
    const cameraSwitch = page.locator('[data-prejoin-control="video"]');
    await cameraSwitch.click();
    await expect.poll(() => cameraSwitch.getAttribute("aria-pressed"), POLL).toBe("true");
    await expect(page.getByText("Camera is off").isVisible()).resolves.toBe(true);
    await cameraSwitch.click();
    await expect.poll(() => cameraSwitch.getAttribute("aria-pressed"), POLL).toBe("false");

    // Join: the preview's own tracks go into the room, with no second getUserMedia.
    const previewTrack = await preview.evaluate((video: HTMLVideoElement) => (video.srcObject as MediaStream).getVideoTracks()[0]?.id);
    const calls = await getUserMediaCalls(page);
    await page.locator("#name").fill("Ada");
    await page.getByRole("button", { name: "Join room" }).click();
    await waitForRoomState(page, "joined");
    const tileVideo = page.locator('[part~="tile-local"] video');
    await expect.poll(() => tileVideo.evaluate((video: HTMLVideoElement) => (video.srcObject as MediaStream).getVideoTracks()[0]?.id), POLL).toBe(previewTrack);
    await expect(getUserMediaCalls(page)).resolves.toBe(calls);

    // Reloaded: the same devices are opened and picked, the name is filled in.
    await page.reload();
    await expect.poll(() => page.locator('select[data-device="camera"]').inputValue(), POLL).toBe(cameraId);
    await expect(page.locator('select[data-device="microphone"]').inputValue()).resolves.toBe(microphoneId);
    await expect(page.locator('select[data-device="speaker"]').inputValue()).resolves.toBe(speakerId);
    await expect.poll(() => localDeviceId(page, "video"), POLL).toBe(cameraId);
    await expect(localDeviceId(page, "audio")).resolves.toBe(microphoneId);
    await expect(page.locator("#name").inputValue()).resolves.toBe("Ada");
  }, TEST_TIMEOUT_MS);

  test("while joined, the devices dialog switches camera and microphone on the same peer connection (the other page keeps decoding), sets the speaker, and falls back to the default camera when the one in use goes away", async () => {
    const ada = await suite.newPage();
    const grace = await suite.newPage();
    await ada.addInitScript(recordDeviceChanges);
    await joinRoomPage(ada, suite.baseUrl, "switch", "Ada");
    await joinRoomPage(grace, suite.baseUrl, "switch", "Grace");
    await expect.poll(async () => (await inboundVideo(grace)).framesDecoded, POLL).toBeGreaterThan(0);
    const before = await inboundVideo(grace);
    const adaConnections = (await inboundVideo(ada)).connections;

    // The dialog is modal, labelled, and clean in both themes.
    await control(ada, "devices").click();
    await expect.poll(() => ada.locator("dialog[open]").count(), POLL).toBe(1);
    await expect(ada.getByRole("dialog", { name: "Camera, microphone and speaker" }).isVisible()).resolves.toBe(true);
    await expect(axeViolations(ada)).resolves.toEqual([]);
    await ada.emulateMedia({ colorScheme: "light" });
    await expect(axeViolations(ada)).resolves.toEqual([]);

    const cameraId = await ada.locator('select[data-device="camera"] option', { hasText: "fake_device_2" }).getAttribute("value");
    await ada.getByLabel("Camera", { exact: true }).selectOption({ label: "fake_device_2" });
    await expect.poll(() => sentDeviceIds(ada, "video"), POLL).toEqual([cameraId]);
    await keepsDecoding(grace);
    const microphoneId = await ada.locator('select[data-device="microphone"] option', { hasText: "Fake Audio Input 1" }).getAttribute("value");
    await ada.getByLabel("Microphone", { exact: true }).selectOption({ label: "Fake Audio Input 1" });
    await expect.poll(() => sentDeviceIds(ada, "audio"), POLL).toEqual([microphoneId]);
    await expect.poll(() => deviceChanges(ada), POLL).toEqual([
      { kind: "camera", deviceId: cameraId, label: "fake_device_2", reason: "chosen" },
      { kind: "microphone", deviceId: microphoneId, label: "Fake Audio Input 1", reason: "chosen" },
    ]);

    // The camera in use goes away (as when unplugged): the default one takes over, and the
    // dialog and the live region say so.
    await ada.evaluate(() => {
      const connections = (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections;
      connections.flatMap((connection) => connection.getSenders()).find((sender) => sender.track?.kind === "video")?.track?.stop();
      navigator.mediaDevices.dispatchEvent(new Event("devicechange"));
    });
    const defaultCameraId = await ada.locator('select[data-device="camera"] option', { hasText: "fake_device_0" }).getAttribute("value");
    await expect.poll(() => sentDeviceIds(ada, "video"), POLL).toEqual([defaultCameraId]);
    const lostNotice = 'Camera "fake_device_2" was disconnected. Using "fake_device_0" instead.';
    await expect.poll(() => ada.locator("dialog .device-notice").textContent(), POLL).toBe(lostNotice);
    await expect.poll(() => ada.locator("[data-live-region]").textContent(), POLL).toContain(lostNotice);
    await expect.poll(async () => (await deviceChanges(ada)).at(-1)?.reason, POLL).toBe("lost");
    await keepsDecoding(grace);

    // Escape closes the dialog and gives the focus back to its button.
    await ada.keyboard.press("Escape");
    await expect.poll(() => ada.locator("dialog").count(), POLL).toBe(0);
    await expect.poll(() => control(ada, "devices").evaluate((button) => button.matches(":focus")), POLL).toBe(true);

    // The same connections all along, on both sides.
    const after = await inboundVideo(grace);
    expect(after.connections).toBe(before.connections);
    expect(after.id).toBe(before.id);
    await expect(inboundVideo(ada).then((stats) => stats.connections)).resolves.toBe(adaConnections);

    // Grace sends everyone's sound to another speaker.
    await control(grace, "devices").click();
    const speakerId = await grace.locator('select[data-device="speaker"] option', { hasText: "Fake Audio Output 2" }).getAttribute("value");
    await grace.getByLabel("Speaker", { exact: true }).selectOption({ label: "Fake Audio Output 2" });
    await expect.poll(() => grace.locator('[part~="tile-remote"] video').evaluate((video: HTMLVideoElement) => video.sinkId), POLL).toBe(speakerId);
  }, TEST_TIMEOUT_MS);

  test("a microphone plugged in before joining appears in the picker; a camera denied before joining is turned on from the devices dialog once allowed, without rejoining", async () => {
    const page = await suite.newPage({ denyCamera: true });
    await page.goto(`${suite.baseUrl}/r/allowed-later`);
    await expect.poll(() => page.getByText("Camera unavailable (access blocked)").count(), POLL).toBe(1);

    // A headset plugged in (the browser lists one more microphone and says so) appears in the picker.
    await expect.poll(() => pickerLabels(page, "microphone"), POLL).toHaveLength(3);
    await page.evaluate(() => {
      const devices = navigator.mediaDevices;
      const enumerate = devices.enumerateDevices.bind(devices);
      const headset = { deviceId: "usb-headset", groupId: "usb", kind: "audioinput", label: "USB Headset", toJSON: () => ({}) } as MediaDeviceInfo;
      devices.enumerateDevices = async () => [...(await enumerate()), headset];
      devices.dispatchEvent(new Event("devicechange"));
    });
    await expect.poll(() => pickerLabels(page, "microphone"), POLL).toContain("USB Headset");

    await page.locator("#name").fill("Ada");
    await page.getByRole("button", { name: "Join room" }).click();
    await waitForRoomState(page, "joined");
    await expect.poll(() => page.locator('[part~="tile-local"]').getAttribute("data-video"), POLL).toBe("off");

    await control(page, "devices").click();
    const retry = page.locator("dialog").getByRole("button", { name: "Try the camera again" });
    await expect(retry.isVisible()).resolves.toBe(true);
    await expect(axeViolations(page)).resolves.toEqual([]);
    await unblockCamera(page);
    await retry.click();
    await expect.poll(() => page.locator('[part~="tile-local"]').getAttribute("data-video"), POLL).toBe("on");
    await expect(retry.count()).resolves.toBe(0);
    await expect(waitForRoomState(page, "joined")).resolves.toBeUndefined();
  }, TEST_TIMEOUT_MS);
});
