/**
 * Local camera and microphone, for both elements: {@link acquireLocalMedia} asks for both and falls
 * back to what the browser grants, so that a participant whose camera is denied, missing or busy
 * still joins (and receives) with whatever is left; {@link LocalMediaControls} holds what was
 * granted and switches it on and off.
 */

/** Why a kind of local media is not available. */
export const MediaProblem = {
  /** The user or a policy refused the permission. */
  denied: "denied",
  /** No such device. */
  missing: "missing",
  /** The device exists but cannot be opened (another application holds it, hardware error). */
  busy: "busy",
  /** No `getUserMedia` here: an insecure (`http:` but not localhost) page or an old browser. */
  unsupported: "unsupported",
} as const;

/** A value of {@link MediaProblem}. */
export type MediaProblem = (typeof MediaProblem)[keyof typeof MediaProblem];

/** What {@link acquireLocalMedia} obtained. */
export interface LocalMedia {
  /** The granted tracks, or `undefined` when nothing was granted (join to receive only). */
  stream: MediaStream | undefined;
  /** Set when the microphone is unavailable. */
  audioProblem: MediaProblem | undefined;
  /** Set when the camera is unavailable. */
  videoProblem: MediaProblem | undefined;
}

/**
 * Capture size for the camera. In a full mesh every participant encodes once per other
 * participant, so a modest resolution keeps an 8-person room within a laptop's CPU.
 */
const VIDEO_CONSTRAINTS: MediaTrackConstraints = {
  width: { ideal: 640 },
  height: { ideal: 360 },
  frameRate: { ideal: 24, max: 30 },
  facingMode: "user",
};

/** Devices to prefer when opening media (remembered or picked); absent for the browser's default. */
export interface PreferredDevices {
  microphoneId?: string | undefined;
  cameraId?: string | undefined;
}

/**
 * The constraints for `kind`, on exactly `deviceId` when given. An `ideal` device id would not do:
 * browsers weigh it against the ideal size and frame rate, and may open another camera that fits
 * those better.
 */
function constraintsFor(kind: keyof MediaSwitches, deviceId: string | undefined): MediaTrackConstraints {
  const base = kind === "video" ? VIDEO_CONSTRAINTS : {};
  if (deviceId === undefined) {
    return base;
  }
  // A chosen camera is not necessarily user-facing: drop facingMode so it cannot overrule the id.
  const { facingMode: _facingMode, ...rest } = base;
  return { ...rest, deviceId: { exact: deviceId } };
}

/**
 * `getUserMedia` for `kinds` on the `preferred` devices, and when one of those is gone (unplugged
 * since it was remembered), once more on the browser's defaults.
 */
async function openPreferring(devices: MediaDevices, kinds: MediaSwitches, preferred: PreferredDevices): Promise<MediaStream> {
  const open = (ids: PreferredDevices): Promise<MediaStream> => devices.getUserMedia({
    audio: kinds.audio ? (ids.microphoneId === undefined ? true : constraintsFor("audio", ids.microphoneId)) : false,
    video: kinds.video ? constraintsFor("video", ids.cameraId) : false,
  });
  const prefers = (kinds.audio && preferred.microphoneId !== undefined) || (kinds.video && preferred.cameraId !== undefined);
  try {
    return await open(preferred);
  } catch (error) {
    if (prefers && classifyMediaError(error) === MediaProblem.missing) {
      return open({});
    }
    throw error;
  }
}

/** Maps a `getUserMedia` rejection to a {@link MediaProblem}. */
export function classifyMediaError(error: unknown): MediaProblem {
  const name = error instanceof Error || error instanceof DOMException ? error.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return MediaProblem.denied;
    case "NotFoundError":
    case "OverconstrainedError":
      return MediaProblem.missing;
    case "TypeError":
      return MediaProblem.unsupported;
    default:
      // NotReadableError, AbortError and anything browser-specific: the device did not open.
      return MediaProblem.busy;
  }
}

/** Which kinds of input device the browser lists (before permission, only kinds are visible). */
async function availableKinds(devices: MediaDevices): Promise<{ audio: boolean; video: boolean }> {
  try {
    const list = await devices.enumerateDevices();
    return {
      audio: list.some((device) => device.kind === "audioinput"),
      video: list.some((device) => device.kind === "videoinput"),
    };
  } catch {
    // Cannot tell: ask for both and let getUserMedia say what is missing.
    return { audio: true, video: true };
  }
}

/**
 * Asks for microphone and camera together (one permission prompt), then for the camera alone and
 * the microphone alone, and returns the first stream granted together with why each missing kind
 * is missing. Kinds the browser lists no device for are not asked for at all.
 */
export async function acquireLocalMedia(preferred: PreferredDevices = {}): Promise<LocalMedia> {
  const devices = globalThis.navigator?.mediaDevices;
  if (!devices?.getUserMedia) {
    return { stream: undefined, audioProblem: MediaProblem.unsupported, videoProblem: MediaProblem.unsupported };
  }
  const kinds = await availableKinds(devices);
  let audioProblem: MediaProblem | undefined = kinds.audio ? undefined : MediaProblem.missing;
  let videoProblem: MediaProblem | undefined = kinds.video ? undefined : MediaProblem.missing;

  const attempts: Array<{ audio: boolean; video: boolean }> = [];
  if (kinds.audio && kinds.video) {
    attempts.push({ audio: true, video: true });
  }
  if (kinds.video) {
    attempts.push({ audio: false, video: true });
  }
  if (kinds.audio) {
    attempts.push({ audio: true, video: false });
  }
  let combinedProblem: MediaProblem | undefined;
  for (const attempt of attempts) {
    try {
      const stream = await openPreferring(devices, attempt, preferred);
      return {
        stream,
        audioProblem: stream.getAudioTracks().length > 0 ? undefined : audioProblem ?? combinedProblem ?? MediaProblem.missing,
        videoProblem: stream.getVideoTracks().length > 0 ? undefined : videoProblem ?? combinedProblem ?? MediaProblem.missing,
      };
    } catch (error) {
      const problem = classifyMediaError(error);
      if (attempt.audio && attempt.video) {
        // Either kind may be the culprit; the single-kind attempts below tell which.
        combinedProblem = problem;
      } else if (attempt.video) {
        videoProblem = problem;
      } else {
        audioProblem = problem;
      }
    }
  }
  return {
    stream: undefined,
    audioProblem: audioProblem ?? combinedProblem ?? MediaProblem.missing,
    videoProblem: videoProblem ?? combinedProblem ?? MediaProblem.missing,
  };
}

/**
 * Asks again for one kind that was missing (`video`: the camera, `audio`: the microphone), after
 * the user unblocked it or plugged it in, or for the device `deviceId` the user picked: the
 * granted track, or why it is still missing.
 */
export async function acquireOneKind(kind: keyof MediaSwitches, deviceId?: string): Promise<{ track: MediaStreamTrack } | { problem: MediaProblem }> {
  const devices = globalThis.navigator?.mediaDevices;
  if (!devices?.getUserMedia) {
    return { problem: MediaProblem.unsupported };
  }
  try {
    const constraints = constraintsFor(kind, deviceId);
    const stream = await devices.getUserMedia(kind === "video" ? { video: constraints } : { audio: deviceId === undefined ? true : constraints });
    const [track] = kind === "video" ? stream.getVideoTracks() : stream.getAudioTracks();
    return track ? { track } : { problem: MediaProblem.missing };
  } catch (error) {
    return { problem: classifyMediaError(error) };
  }
}

/** Stops every track of `stream` (turns the camera light off). */
export function stopStream(stream: MediaStream | undefined): void {
  for (const track of stream?.getTracks() ?? []) {
    track.stop();
  }
}

/** Nothing granted, nothing missing: before media is opened and after it is released. */
const NO_MEDIA: LocalMedia = { stream: undefined, audioProblem: undefined, videoProblem: undefined };

/** Which kinds are switched on: the microphone sends, the camera shows. */
export interface MediaSwitches {
  audio: boolean;
  video: boolean;
}

/**
 * Why each missing kind is missing, as the `media_unavailable` messages spell it:
 * `"camera: denied, microphone: missing"`; empty when nothing is missing.
 */
export function describeMissingMedia(media: LocalMedia): string {
  const kinds = [media.videoProblem && `camera: ${media.videoProblem}`, media.audioProblem && `microphone: ${media.audioProblem}`];
  return kinds.filter(Boolean).join(", ");
}

/**
 * The local media of one element and its microphone and camera switches. Switching sets
 * `track.enabled`, so a muted microphone or a camera turned off keeps its sender and needs no
 * renegotiation. The owner opens media with {@link acquireLocalMedia} and decides when it is used
 * and released (a room: per stay; a phone: per call), and what else a switch does (`onSwitch`).
 */
export class LocalMediaControls {
  readonly #onSwitch: () => void;
  #media: LocalMedia = NO_MEDIA;
  #switches: MediaSwitches = { audio: true, video: true };

  /** `onSwitch` runs after the user switched the microphone or the camera. */
  constructor(onSwitch: () => void) {
    this.#onSwitch = onSwitch;
  }

  /** What was granted and why a kind is missing. */
  get media(): LocalMedia {
    return this.#media;
  }

  /** The local camera/microphone stream, if any was granted. */
  get stream(): MediaStream | undefined {
    return this.#media.stream;
  }

  /** Which kinds are switched on, whether or not their track exists (kept across a restart of the same stay). */
  get switches(): MediaSwitches {
    return { ...this.#switches };
  }

  /**
   * True when kind `kind` has no track but asking again may help: it was denied, missing or busy
   * (not `unsupported`, which no retry fixes). See {@link adopt}.
   */
  canRetry(kind: keyof MediaSwitches): boolean {
    const problem = kind === "audio" ? this.#media.audioProblem : this.#media.videoProblem;
    return problem !== undefined && problem !== MediaProblem.unsupported;
  }

  /**
   * Takes `track`, granted by a later retry of its kind, into the current media, switched on: the
   * kind's problem is cleared. Returns false (and stops the track) when that kind already has one.
   */
  adopt(track: MediaStreamTrack): boolean {
    const kind = track.kind === "audio" ? "audio" : "video";
    if (kind === "audio" ? this.hasAudio : this.hasVideo) {
      track.stop();
      return false;
    }
    const stream = this.#media.stream ?? new MediaStream();
    stream.addTrack(track);
    this.#media = { ...this.#media, stream, [kind === "audio" ? "audioProblem" : "videoProblem"]: undefined };
    this.#switches[kind] = true;
    this.#applySwitches();
    return true;
  }

  /** Records why a retry of kind `kind` failed again. */
  setProblem(kind: keyof MediaSwitches, problem: MediaProblem): void {
    this.#media = { ...this.#media, [kind === "audio" ? "audioProblem" : "videoProblem"]: problem };
  }

  /** True when a microphone track exists (its switch can do something). */
  get hasAudio(): boolean {
    return (this.#media.stream?.getAudioTracks().length ?? 0) > 0;
  }

  /** True when a camera track exists. */
  get hasVideo(): boolean {
    return (this.#media.stream?.getVideoTracks().length ?? 0) > 0;
  }

  /** True when the microphone is sending (exists and switched on). */
  get audioOn(): boolean {
    return this.hasAudio && this.#switches.audio;
  }

  /** True when the camera is sending. */
  get videoOn(): boolean {
    return this.hasVideo && this.#switches.video;
  }

  /** Releases the current media and uses `media` instead, switched as `switches` says. */
  use(media: LocalMedia, switches: MediaSwitches): void {
    this.release();
    this.#media = media;
    this.#switches = { ...switches };
    this.#applySwitches();
  }

  /** Stops every track (the camera light goes off) and forgets them. Safe to call twice. */
  release(): void {
    stopStream(this.#media.stream);
    this.#media = NO_MEDIA;
  }

  /** Mutes or unmutes the microphone. Does nothing without one. */
  toggleAudio(): void {
    if (this.hasAudio) {
      this.#switches.audio = !this.#switches.audio;
      this.#applySwitches();
      this.#onSwitch();
    }
  }

  /** Turns the camera off or on. Does nothing without one. */
  toggleVideo(): void {
    if (this.hasVideo) {
      this.#switches.video = !this.#switches.video;
      this.#applySwitches();
      this.#onSwitch();
    }
  }

  /**
   * Switches the microphone (`audio`) or camera (`video`) off for someone else (a host's mute
   * request), so that the switch shows it; the user can switch it back on. No `onSwitch`: the
   * caller announces the change.
   */
  switchOff(kind: keyof MediaSwitches): void {
    this.#switches[kind] = false;
    this.#applySwitches();
  }

  /**
   * Uses `track` (another device of its kind) instead of the current track of that kind, switched
   * as before. The stream is a new `MediaStream` with the same tracks otherwise, so that a preview
   * playing the old one picks the change up. Returns the old track, for the caller to stop once no
   * sender uses it any more.
   */
  replaceTrack(track: MediaStreamTrack): MediaStreamTrack | undefined {
    const kind = track.kind === "audio" ? "audio" : "video";
    const current = this.#media.stream?.getTracks() ?? [];
    const old = current.find((candidate) => candidate.kind === track.kind);
    const stream = new MediaStream([...current.filter((candidate) => candidate !== old), track]);
    this.#media = { ...this.#media, stream, [kind === "audio" ? "audioProblem" : "videoProblem"]: undefined };
    this.#applySwitches();
    return old;
  }

  #applySwitches(): void {
    for (const track of this.#media.stream?.getAudioTracks() ?? []) {
      track.enabled = this.#switches.audio;
    }
    for (const track of this.#media.stream?.getVideoTracks() ?? []) {
      track.enabled = this.#switches.video;
    }
  }
}
