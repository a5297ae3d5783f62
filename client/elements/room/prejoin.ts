/**
 * The pre-join screen of `<webrtc-room prejoin>`: a live preview of the camera, the microphone's
 * level, camera / microphone / speaker pickers, camera and microphone switches, the name, and
 * Join. The camera and microphone opened here are the ones published on joining.
 */
import { css, html, nothing, type TemplateResult } from "lit";
import { initials, hueOf } from "../shared/avatar.ts";
import { cameraIcon, cameraOffIcon, micIcon, micOffIcon, warningIcon } from "../shared/icons.ts";
import type { MediaSwitches } from "../shared/local-media.ts";
import { attachStream } from "../shared/stream-directive.ts";
import { renderDevicePickers, type DevicePickersView } from "./device-settings.ts";

/** What the pre-join screen shows and does. */
export interface PrejoinView {
  room: string;
  /** The name the field starts with (the `name` attribute, else the one remembered). */
  name: string;
  stream: MediaStream | undefined;
  /** Which kinds have a track, and which of those are switched on. */
  has: MediaSwitches;
  on: MediaSwitches;
  /** A kind that is missing but may be asked for again (denied, busy, missing). */
  retry: MediaSwitches;
  /** Why camera or microphone are missing, or what happened to a device. */
  notice: string | undefined;
  /** True until the first attempt to open camera and microphone settled. */
  opening: boolean;
  pickers: DevicePickersView;
  onToggle: (kind: keyof MediaSwitches) => void;
  onRetry: (kind: keyof MediaSwitches) => void;
  /** Join under `name` (the field's value, trimmed and not empty). */
  onJoin: (name: string) => void;
}

/** The pre-join screen. */
export function renderPrejoin(view: PrejoinView): TemplateResult {
  const showVideo = view.has.video && view.on.video && view.stream !== undefined;
  const onSubmit = (event: SubmitEvent): void => {
    event.preventDefault();
    const form = event.currentTarget;
    const field = form instanceof HTMLFormElement ? form.elements.namedItem("name") : null;
    const name = field instanceof HTMLInputElement ? field.value.trim() : "";
    if (name) {
      view.onJoin(name);
    }
  };
  return html`<div class="prejoin" part="prejoin">
    <div class="preview" style="--hue: ${hueOf(view.name || view.room)}">
      ${view.stream
        ? html`<video part="preview" class=${showVideo ? "" : "hidden"} aria-label="Your camera preview" autoplay playsinline muted
            ${attachStream(view.stream, { muted: true })}></video>`
        : nothing}
      ${showVideo
        ? nothing
        : html`<div class="preview-off">${view.opening
          ? html`<span class="spinner large" aria-hidden="true"></span><span>Opening camera…</span>`
          : html`<span class="avatar" aria-hidden="true">${initials(view.name || "?")}</span><span>${view.has.video ? "Camera is off" : "No camera"}</span>`}</div>`}
      <div class="preview-controls">
        ${renderSwitch(view, "audio")}${renderSwitch(view, "video")}
      </div>
    </div>
    <form class="prejoin-form" @submit=${onSubmit}>
      <h2>Ready to join?</h2>
      <p>You are about to join <b>${view.room}</b>.</p>
      ${view.notice ? html`<p class="prejoin-notice" role="status">${warningIcon}<span>${view.notice}</span></p>` : nothing}
      <label class="name-field">Your name
        <input id="name" name="name" autocomplete="nickname" maxlength="64" required placeholder="e.g. Ada" .value=${view.name}>
      </label>
      ${renderDevicePickers(view.pickers)}
      <button class="primary" type="submit">Join room</button>
    </form>
  </div>`;
}

/** The preview's microphone or camera switch: on/off, or "try again" for a kind that is missing. */
function renderSwitch(view: PrejoinView, kind: keyof MediaSwitches): TemplateResult {
  const name = kind === "audio" ? "microphone" : "camera";
  const present = view.has[kind];
  const on = present && view.on[kind];
  const retry = !present && view.retry[kind];
  const label = present ? (kind === "audio" ? "Mute microphone" : "Turn camera off") : retry ? `Try the ${name} again` : `No ${name}`;
  const icon = kind === "audio" ? (on ? micIcon : micOffIcon) : on ? cameraIcon : cameraOffIcon;
  return html`<button type="button" class="control ${on ? "" : "off"}" data-prejoin-control=${kind}
    aria-label=${label} title=${label} aria-pressed=${present ? (on ? "false" : "true") : nothing}
    ?disabled=${!present && !retry || view.opening}
    @click=${() => (present ? view.onToggle(kind) : view.onRetry(kind))}>${icon}</button>`;
}

/** Styles of the pre-join screen and of the device pickers (also in the settings dialog). */
export const prejoinStyles = css`
  .prejoin {
    min-height: 100%;
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    justify-content: center;
    gap: 24px;
    padding: 24px;
  }

  .preview {
    position: relative;
    flex: 1 1 320px;
    max-width: 560px;
    aspect-ratio: 16 / 9;
    overflow: hidden;
    border-radius: var(--_radius);
    background: var(--_surface);
  }

  .preview video {
    width: 100%;
    height: 100%;
    object-fit: cover;
    /* A mirror, as people expect to see themselves. */
    transform: scaleX(-1);
  }

  .preview video.hidden {
    display: none;
  }

  .preview-off {
    position: absolute;
    inset: 0;
    display: flex;
    flex-direction: column;
    align-items: center;
    justify-content: center;
    gap: 10px;
    color: var(--_text-dim);
  }

  .preview-off .avatar {
    display: grid;
    place-items: center;
    width: 72px;
    height: 72px;
    border-radius: 50%;
    background: hsl(var(--hue) var(--_glow));
    color: var(--_text);
    font-size: 26px;
    font-weight: 600;
  }

  .preview-controls {
    position: absolute;
    bottom: 12px;
    left: 0;
    right: 0;
    display: flex;
    justify-content: center;
    gap: 10px;
  }

  .prejoin-form {
    flex: 0 1 340px;
    display: flex;
    flex-direction: column;
    gap: 12px;
  }

  .prejoin-form h2 {
    margin: 0;
    font-size: 22px;
    font-weight: 600;
  }

  .prejoin-form p {
    margin: 0;
    color: var(--_text-dim);
  }

  .prejoin-form .prejoin-notice {
    display: flex;
    gap: 8px;
    color: var(--_text);
  }

  .prejoin-notice .icon {
    flex: none;
    color: var(--_warn);
  }

  .name-field,
  .picker {
    display: flex;
    flex-direction: column;
    gap: 6px;
    font-weight: 500;
  }

  .pickers {
    display: flex;
    flex-direction: column;
    gap: 12px;
    margin-bottom: 4px;
  }

  .name-field input,
  .picker select {
    width: 100%;
    padding: 10px 12px;
    border-radius: 10px;
    border: 1px solid var(--_text-dim);
    background: var(--_bg);
    color: inherit;
    font: inherit;
  }

  .name-field input:focus-visible,
  .picker select:focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }

  .level {
    height: 6px;
    margin-top: -6px;
    border-radius: 3px;
    background: var(--_raised);
    overflow: hidden;
  }

  .level span {
    display: block;
    height: 100%;
    width: 100%;
    background: var(--_ok);
    transform-origin: left;
    transform: scaleX(var(--level, 0));
    transition: transform 100ms linear;
  }

  .device-notice {
    margin: 0 0 12px;
  }

  dialog .pickers {
    margin-bottom: 16px;
  }

  dialog [data-retry] {
    margin: 0 8px 16px 0;
    border: 0;
    border-radius: 999px;
    padding: 9px 16px;
    background: var(--_raised);
    color: var(--_text);
    font: inherit;
    cursor: pointer;
  }
`;
