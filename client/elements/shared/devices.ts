/**
 * Cameras, microphones and speakers for the elements: what the browser lists
 * (`enumerateDevices`), the choices a browser remembers per server (`localStorage`), and a cheap
 * microphone level meter (a Web Audio `AnalyserNode` read ten times a second).
 */

/** One device a picker offers. */
export interface DeviceOption {
  /** `MediaDeviceInfo.deviceId`. */
  id: string;
  /** The browser's label, or "Camera 2" when the browser hides labels (before permission). */
  label: string;
}

/** The devices of each kind the pickers offer. */
export interface DeviceLists {
  cameras: DeviceOption[];
  microphones: DeviceOption[];
  /** Audio outputs; empty where the browser cannot choose one (no `setSinkId`). */
  speakers: DeviceOption[];
}

/** Nothing listed yet. */
export const NO_DEVICES: DeviceLists = { cameras: [], microphones: [], speakers: [] };

/** What a browser remembers for one server: the devices picked last and the name typed last. */
export interface DeviceChoice {
  cameraId?: string;
  microphoneId?: string;
  speakerId?: string;
  name?: string;
}

/** Prefix of the `localStorage` key of the choices; the server's origin follows it. */
export const DEVICE_CHOICE_STORAGE_PREFIX = "webrtc-room.devices:";

/** How often the level meter reads its analyser (10 Hz: enough for a meter, little CPU). */
export const LEVEL_METER_INTERVAL_MS = 100;

/** True where the browser can send a media element's sound to a chosen output (`setSinkId`). */
export function canChooseSpeaker(): boolean {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}

/**
 * The browser's cameras, microphones and (where {@link canChooseSpeaker}) speakers. Labels are
 * empty until the page was granted a device; those get a numbered name instead. Never rejects:
 * a browser without `enumerateDevices` lists nothing.
 */
export async function listDevices(): Promise<DeviceLists> {
  const devices = globalThis.navigator?.mediaDevices;
  let infos: MediaDeviceInfo[];
  try {
    infos = (await devices?.enumerateDevices()) ?? [];
  } catch {
    return NO_DEVICES;
  }
  const options = (kind: MediaDeviceKind, fallback: string): DeviceOption[] =>
    infos
      .filter((info) => info.kind === kind && info.deviceId !== "")
      .map((info, index) => ({ id: info.deviceId, label: info.label || `${fallback} ${index + 1}` }));
  return {
    cameras: options("videoinput", "Camera"),
    microphones: options("audioinput", "Microphone"),
    speakers: canChooseSpeaker() ? options("audiooutput", "Speaker") : [],
  };
}

/** The device a live track captures from, if the browser says. */
export function trackDeviceId(track: MediaStreamTrack | undefined): string | undefined {
  return track?.getSettings().deviceId || undefined;
}

/**
 * The origin that keys the remembered choices: the `server` attribute (an `http(s)` or `ws(s)`
 * URL, or empty for the page's own) resolved against `base`, with `ws(s)` spelled `http(s)` so
 * that both spellings of one server share their choices. Undefined for an unusable `server`.
 */
export function serverOrigin(server: string, base: string): string | undefined {
  try {
    const url = new URL(server.trim() || "/", base);
    const scheme = url.protocol === "wss:" ? "https:" : url.protocol === "ws:" ? "http:" : url.protocol;
    return `${scheme}//${url.host}`;
  } catch {
    return undefined;
  }
}

/** Reads remembered choices from their stored text, keeping only string fields. Never throws. */
export function parseDeviceChoice(text: string | null): DeviceChoice {
  let value: unknown;
  try {
    value = text === null ? undefined : JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof value !== "object" || value === null) {
    return {};
  }
  const choice: DeviceChoice = {};
  for (const field of ["cameraId", "microphoneId", "speakerId", "name"] as const) {
    const entry: unknown = Reflect.get(value, field);
    if (typeof entry === "string" && entry.length <= 256) {
      choice[field] = entry;
    }
  }
  return choice;
}

/** The choices this browser remembers for `origin` (see {@link serverOrigin}); empty without storage. */
export function loadDeviceChoice(origin: string): DeviceChoice {
  try {
    return parseDeviceChoice(globalThis.localStorage?.getItem(DEVICE_CHOICE_STORAGE_PREFIX + origin) ?? null);
  } catch {
    // Storage blocked (a sandboxed frame, a privacy setting): nothing is remembered.
    return {};
  }
}

/** Remembers `choice` for `origin`, merged over what was remembered. Does nothing without storage. */
export function saveDeviceChoice(origin: string, choice: DeviceChoice): void {
  try {
    const merged = { ...loadDeviceChoice(origin), ...choice };
    globalThis.localStorage?.setItem(DEVICE_CHOICE_STORAGE_PREFIX + origin, JSON.stringify(merged));
  } catch {
    // As in loadDeviceChoice: without storage the choice lasts as long as the page.
  }
}

/**
 * The level of one microphone track, 0 (silence) to 1 (full scale), read from an `AnalyserNode`
 * every {@link LEVEL_METER_INTERVAL_MS}. The analyser taps a clone of the track, so the meter never
 * holds the published track (and a muted microphone still shows whether it hears something).
 */
export class LevelMeter {
  readonly #context: AudioContext;
  readonly #track: MediaStreamTrack;
  readonly #timer: ReturnType<typeof setInterval>;
  #level = 0;
  #closed = false;

  /** Starts metering `track`; `onLevel` runs after every reading. */
  constructor(track: MediaStreamTrack, onLevel: (level: number) => void) {
    this.#track = track.clone();
    this.#track.enabled = true;
    this.#context = new AudioContext();
    const analyser = this.#context.createAnalyser();
    analyser.fftSize = 512;
    this.#context.createMediaStreamSource(new MediaStream([this.#track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.#timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sumOfSquares = 0;
      for (const sample of samples) {
        sumOfSquares += sample * sample;
      }
      // RMS scaled so that speech at a normal distance fills about half the meter.
      this.#level = Math.min(1, Math.sqrt(sumOfSquares / samples.length) * 4);
      onLevel(this.#level);
    }, LEVEL_METER_INTERVAL_MS);
    // A context made before any click may start suspended; it resumes once the page may play sound.
    void this.#context.resume().catch(() => undefined);
  }

  /** The last reading, 0 to 1. */
  get level(): number {
    return this.#level;
  }

  /** Stops reading and releases the analyser and its clone of the track. Safe to call twice. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearInterval(this.#timer);
    this.#track.stop();
    void this.#context.close().catch(() => undefined);
  }
}
