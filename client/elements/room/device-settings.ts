/**
 * Camera, microphone and speaker of `<webrtc-room>`, on the pre-join screen and while joined:
 * {@link RoomDevices} lists the devices, switches the one in use (a new track on the same
 * senders: `RTCRtpSender.replaceTrack`, no renegotiation, no rejoin), follows `devicechange`
 * (a device plugged in appears; the device in use unplugged falls back to the default, and says
 * so), meters the microphone and remembers the choices per server. {@link renderDeviceSettings}
 * draws the pickers, shared by the pre-join screen and the in-room settings dialog.
 */
import { html, nothing, type TemplateResult } from "lit";
import type { LocalPublications } from "../../core/index.ts";
import {
  LevelMeter,
  NO_DEVICES,
  listDevices,
  loadDeviceChoice,
  saveDeviceChoice,
  trackDeviceId,
  type DeviceChoice,
  type DeviceLists,
  type DeviceOption,
} from "../shared/devices.ts";
import { acquireOneKind, type LocalMediaControls, type MediaSwitches, type PreferredDevices } from "../shared/local-media.ts";
import type { DeviceChangeDetail, DeviceKind } from "./room-events.ts";
import { deviceLostNotice, deviceRefusedNotice } from "./room-text.ts";

/** What {@link RoomDevices} needs from the room around it. */
export interface RoomDevicesOptions {
  /** The camera and microphone in use (the preview's, then the published ones). */
  local: LocalMediaControls;
  /** The publications of the current stay, once joined with the `publish` grant. */
  publications: () => LocalPublications | undefined;
  /** The origin the choices are remembered under (see `serverOrigin`); undefined: not remembered. */
  origin: () => string | undefined;
  /** Something shown changed: re-render. */
  onChange: () => void;
  /** The device in use changed (the element's `device-change` event). */
  onDeviceChange: (detail: DeviceChangeDetail) => void;
  /** A sentence for the live region (a lost device, a refused one). */
  onAnnounce: (text: string) => void;
}

/** The source a media kind is published as. */
const SOURCE_OF = { audio: "microphone", video: "camera" } as const;

/** The device kind each media kind is. */
const DEVICE_KIND_OF: Record<keyof MediaSwitches, Exclude<DeviceKind, "speaker">> = { audio: "microphone", video: "camera" };

/** The devices of one `<webrtc-room>`, while it shows a preview or is in a room. */
export class RoomDevices {
  readonly #options: RoomDevicesOptions;
  #lists: DeviceLists = NO_DEVICES;
  #speakerId = "";
  #meter: LevelMeter | undefined;
  #level = 0;
  #notice: string | undefined;
  /** Live while watching: aborts the `devicechange` listener and makes pending switches stale. */
  #watch: AbortController | undefined;
  /** Kinds whose lost device is being replaced, so that two `devicechange`s in a row replace it once. */
  readonly #fallingBack = new Set<keyof MediaSwitches>();

  constructor(options: RoomDevicesOptions) {
    this.#options = options;
  }

  /** The cameras, microphones and speakers the pickers offer. */
  get lists(): DeviceLists {
    return this.#lists;
  }

  /** The chosen speaker (`setSinkId`); empty for the browser's default. */
  get speakerId(): string {
    return this.#speakerId;
  }

  /** The microphone's level, 0 to 1, while metering (see {@link meter}). */
  get level(): number {
    return this.#level;
  }

  /** What happened to a device ("… was unplugged, using … instead"), until dismissed or the next change. */
  get notice(): string | undefined {
    return this.#notice;
  }

  /** The camera in use, if any. */
  get cameraId(): string | undefined {
    return trackDeviceId(this.#options.local.stream?.getVideoTracks()[0]);
  }

  /** The microphone in use, if any. */
  get microphoneId(): string | undefined {
    return trackDeviceId(this.#options.local.stream?.getAudioTracks()[0]);
  }

  /** What this browser remembers for the server: the devices to open first, and the name. */
  get remembered(): DeviceChoice {
    const origin = this.#options.origin();
    return origin === undefined ? {} : loadDeviceChoice(origin);
  }

  /** The remembered camera and microphone, to open them rather than the defaults. */
  preferred(): PreferredDevices {
    const { cameraId, microphoneId } = this.remembered;
    return { cameraId, microphoneId };
  }

  /**
   * Starts following the devices: lists them now and on every `devicechange`, takes the
   * remembered speaker. Safe to call again (a second call does nothing).
   */
  watch(): void {
    if (this.#watch) {
      return;
    }
    this.#watch = new AbortController();
    this.#speakerId = this.remembered.speakerId ?? "";
    globalThis.navigator?.mediaDevices?.addEventListener("devicechange", () => void this.refresh(), { signal: this.#watch.signal });
    void this.refresh();
  }

  /** Stops following the devices and metering; a switch still pending is dropped. Safe to call twice. */
  unwatch(): void {
    this.#watch?.abort();
    this.#watch = undefined;
    this.meter(false);
    this.#notice = undefined;
  }

  /** Meters the current microphone (`on`) or stops (`off`). Re-attaches to a new microphone when called again. */
  meter(on: boolean): void {
    this.#meter?.close();
    this.#meter = undefined;
    this.#level = 0;
    const [track] = this.#options.local.stream?.getAudioTracks() ?? [];
    if (on && track && typeof AudioContext !== "undefined") {
      this.#meter = new LevelMeter(track, (level) => {
        // Redraw only when the bar would visibly move: a few percent.
        if (Math.abs(level - this.#level) >= 0.02) {
          this.#level = level;
          this.#options.onChange();
        }
      });
    }
  }

  /** True while the microphone is metered. */
  get metering(): boolean {
    return this.#meter !== undefined;
  }

  /**
   * Lists the devices again, then replaces a camera or microphone in use that went away (its track
   * ended, or its device is no longer listed) with the default one, saying so.
   */
  async refresh(): Promise<void> {
    const watch = this.#watch?.signal;
    const lists = await listDevices();
    if (!watch || watch.aborted) {
      return;
    }
    this.#lists = lists;
    this.#options.onChange();
    for (const kind of ["video", "audio"] as const) {
      const [track] = kind === "video" ? this.#options.local.stream?.getVideoTracks() ?? [] : this.#options.local.stream?.getAudioTracks() ?? [];
      const listed = kind === "video" ? lists.cameras : lists.microphones;
      const deviceId = trackDeviceId(track);
      // An empty list says nothing (the browser could not list); an unplugged last device also ends its track.
      const unlisted = listed.length > 0 && deviceId !== undefined && !listed.some((device) => device.id === deviceId);
      if (track && !this.#fallingBack.has(kind) && (track.readyState === "ended" || unlisted)) {
        this.#fallingBack.add(kind);
        try {
          await this.#fallBack(kind, track.label || labelOf(listed, deviceId) || DEVICE_KIND_OF[kind]);
        } finally {
          this.#fallingBack.delete(kind);
        }
      }
    }
  }

  /** Uses camera `deviceId` (picked by the user) instead of the current one, and remembers it. */
  useCamera(deviceId: string): Promise<boolean> {
    return this.#switchTo("video", deviceId, "chosen");
  }

  /** Uses microphone `deviceId` (picked by the user) instead of the current one, and remembers it. */
  useMicrophone(deviceId: string): Promise<boolean> {
    return this.#switchTo("audio", deviceId, "chosen");
  }

  /** Plays everyone's sound on speaker `deviceId` (the element applies it with `setSinkId`), and remembers it. */
  useSpeaker(deviceId: string): void {
    this.#speakerId = deviceId;
    this.#notice = undefined;
    this.remember({ speakerId: deviceId });
    this.#options.onDeviceChange({ kind: "speaker", deviceId, label: labelOf(this.#lists.speakers, deviceId) ?? "Default", reason: "chosen" });
    this.#options.onChange();
  }

  /** Remembers the devices in use (and `extra`, e.g. the name) for this server. */
  remember(extra: DeviceChoice = {}): void {
    const origin = this.#options.origin();
    if (origin === undefined) {
      return;
    }
    const { cameraId, microphoneId } = this;
    saveDeviceChoice(origin, {
      ...(cameraId !== undefined ? { cameraId } : {}),
      ...(microphoneId !== undefined ? { microphoneId } : {}),
      ...extra,
    });
  }

  /** Hides the notice. */
  dismissNotice(): void {
    this.#notice = undefined;
    this.#options.onChange();
  }

  /** The device in use went away: open the default of its kind instead and say so. */
  async #fallBack(kind: keyof MediaSwitches, lostLabel: string): Promise<void> {
    const switched = await this.#switchTo(kind, undefined, "lost");
    if (!this.#watch) {
      return;
    }
    const now = kind === "video" ? this.#options.local.stream?.getVideoTracks()[0] : this.#options.local.stream?.getAudioTracks()[0];
    this.#notice = deviceLostNotice(DEVICE_KIND_OF[kind], lostLabel, switched ? now?.label : undefined);
    this.#options.onAnnounce(this.#notice);
    this.#options.onChange();
  }

  /**
   * Opens `deviceId` (undefined: the default) for `kind` and puts it in place of the current
   * track: in the preview, and on every connection's sender when published. The old track stops
   * only once every sender has the new one, so the others see at most the switch itself.
   */
  async #switchTo(kind: keyof MediaSwitches, deviceId: string | undefined, reason: DeviceChangeDetail["reason"]): Promise<boolean> {
    const watch = this.#watch?.signal;
    const result = await acquireOneKind(kind, deviceId);
    if (!watch || watch.aborted) {
      if ("track" in result) {
        result.track.stop();
      }
      return false;
    }
    if ("problem" in result) {
      if (reason === "chosen") {
        this.#notice = deviceRefusedNotice(DEVICE_KIND_OF[kind], result.problem);
        this.#options.onAnnounce(this.#notice);
        this.#options.onChange();
      }
      return false;
    }
    const { track } = result;
    const old = this.#options.local.replaceTrack(track);
    const publications = this.#options.publications();
    try {
      if (publications?.allowed) {
        await publications.replace(SOURCE_OF[kind], track);
      }
    } finally {
      // Only now: until every sender has the new track, the old one keeps the others' picture moving.
      old?.stop();
    }
    if (kind === "audio" && this.#meter) {
      this.meter(true);
    }
    if (reason === "chosen") {
      this.#notice = undefined;
      this.remember();
    }
    const listed = kind === "video" ? this.#lists.cameras : this.#lists.microphones;
    const id = trackDeviceId(track) ?? "";
    this.#options.onDeviceChange({ kind: DEVICE_KIND_OF[kind], deviceId: id, label: labelOf(listed, id) ?? track.label, reason });
    this.#options.onChange();
    return true;
  }
}

/** The label of device `id` in `list`, if listed. */
function labelOf(list: readonly DeviceOption[], id: string | undefined): string | undefined {
  return list.find((device) => device.id === id)?.label;
}

/** What the device pickers show and do. */
export interface DevicePickersView {
  lists: DeviceLists;
  cameraId: string | undefined;
  microphoneId: string | undefined;
  speakerId: string;
  /** Microphone level 0–1, or undefined when not metered. */
  level: number | undefined;
  /** Ids prefix, so that two sets of pickers never share an id. */
  idPrefix: string;
  onCamera: (deviceId: string) => void;
  onMicrophone: (deviceId: string) => void;
  onSpeaker: (deviceId: string) => void;
}

/**
 * The camera, microphone and speaker pickers (labelled `<select>`s) with the microphone's level
 * under its picker. A kind without a device shows no picker; the speaker picker shows only where
 * the browser can choose an output.
 */
export function renderDevicePickers(view: DevicePickersView): TemplateResult {
  const picker = (name: string, kind: string, devices: readonly DeviceOption[], current: string | undefined, onPick: (id: string) => void): TemplateResult | typeof nothing => {
    if (devices.length === 0) {
      return nothing;
    }
    const id = `${view.idPrefix}-${kind}`;
    return html`<div class="picker">
      <label for=${id}>${name}</label>
      <select id=${id} data-device=${kind} @change=${(event: Event) => {
        const select = event.currentTarget;
        if (select instanceof HTMLSelectElement) {
          onPick(select.value);
        }
      }}>
        ${devices.map((device) => html`<option value=${device.id} ?selected=${device.id === current}>${device.label}</option>`)}
      </select>
    </div>`;
  };
  const level = view.level;
  return html`<div class="pickers">
    ${picker("Camera", "camera", view.lists.cameras, view.cameraId, view.onCamera)}
    ${picker("Microphone", "microphone", view.lists.microphones, view.microphoneId, view.onMicrophone)}
    ${level === undefined || view.lists.microphones.length === 0
      ? nothing
      : html`<div class="level" part="level" role="meter" aria-label="Microphone level" aria-valuemin="0" aria-valuemax="100"
          aria-valuenow=${Math.round(level * 100)} style="--level: ${level.toFixed(2)}"><span></span></div>`}
    ${picker("Speaker", "speaker", view.lists.speakers, view.speakerId || view.lists.speakers[0]?.id, view.onSpeaker)}
  </div>`;
}

/** What the in-room settings dialog shows and does. */
export interface DeviceSettingsView extends DevicePickersView {
  /** "… was unplugged, using … instead", if anything happened. */
  notice: string | undefined;
  /** A camera or microphone that is missing but may be asked for again (denied, busy, missing). */
  retry: { audio: boolean; video: boolean };
  onRetry: (kind: keyof MediaSwitches) => void;
  onClose: () => void;
}

/** The contents of the settings `<dialog>` (the element supplies the dialog itself, modal). */
export function renderDeviceSettings(view: DeviceSettingsView): TemplateResult {
  return html`<h2 id="dialog-title">Camera, microphone and speaker</h2>
    ${view.notice ? html`<p class="device-notice" role="status">${view.notice}</p>` : nothing}
    ${renderDevicePickers(view)}
    ${view.retry.video ? html`<button data-retry="video" @click=${() => view.onRetry("video")}>Try the camera again</button>` : nothing}
    ${view.retry.audio ? html`<button data-retry="audio" @click=${() => view.onRetry("audio")}>Try the microphone again</button>` : nothing}
    <div class="actions"><button class="primary" autofocus @click=${view.onClose}>Done</button></div>`;
}
