/**
 * One participant's tile in the grid: video (or an avatar when there is none), name label, muted
 * microphone, a "Host" badge, connection state and, for hosts, the actions on that participant.
 */
import { html, nothing, type TemplateResult } from "lit";
import type { PeerState } from "../../core/index.ts";
import { hueOf, initials } from "../shared/avatar.ts";
import { cameraOffIcon, micOffIcon } from "../shared/icons.ts";
import { CAMERA_OFFLINE_TEXT } from "./room-text.ts";
import { attachStream } from "../shared/stream-directive.ts";

/** Everything a tile shows. */
export interface TileView {
  /** Participant id (`"local"` for this participant's own tile). */
  id: string;
  name: string;
  local: boolean;
  /** Connection to this participant (for the local tile: to the room). */
  state: PeerState;
  /** The connection was lost and is being re-established: shown as "Reconnecting…" whatever `state` says. */
  reconnecting: boolean;
  stream: MediaStream | undefined;
  /** The participant's camera is on (and a video track exists). */
  videoOn: boolean;
  /** The participant's microphone is on. */
  audioOn: boolean;
  /** Play the remote's sound muted (the browser refused autoplay with sound). */
  soundBlocked: boolean;
  onSoundBlocked: () => void;
  /** The participant hosts the room (shown as a badge). */
  host: boolean;
  /** What this side may do to the participant (a host's menu), if anything. */
  actions: TemplateResult | undefined;
  /** The participant is a camera peer whose source is down: "Camera offline" over the tile. */
  cameraOffline?: boolean;
  /** The tile's key among all tiles when it is not `id` (a screen tile: `screen:<id>`). */
  key?: string;
  /** A shared screen rather than a camera: shown whole (never cropped), captioned as the sharer's screen. */
  screen?: boolean;
  /** The participant's audio level (0–1), drawn as a meter by the name; absent: no meter. */
  level?: number;
  /** The participant is the active speaker (highlighted). */
  activeSpeaker?: boolean;
  /** The large tile of the stage (pinned, a screen share, the speaker layout's speaker). */
  featured?: boolean;
  /** A remote's video that asks its sender for the size it is shown at (see `video-hints.ts`). */
  hintSource?: "camera" | "screen";
  /** The tile's own buttons (pin, full screen). */
  tools?: TemplateResult;
}

const STATE_LABELS: Record<PeerState, string> = {
  connecting: "Connecting…",
  connected: "Connected",
  failed: "Connection failed",
  closed: "Disconnected",
};

/** Columns and rows for `count` tiles: as square as possible, 1×1 up to 3×3 for eight people. */
export function gridShape(count: number): { cols: number; rows: number } {
  const cols = Math.max(1, Math.ceil(Math.sqrt(count)));
  return { cols, rows: Math.max(1, Math.ceil(count / cols)) };
}

/**
 * Columns and rows for `count` tiles on a portrait stage (a phone held upright): one column of up
 * to three tall tiles, then two columns.
 */
export function portraitShape(count: number): { cols: number; rows: number } {
  const cols = count <= 3 ? 1 : 2;
  return { cols, rows: Math.max(1, Math.ceil(count / cols)) };
}

/** Renders one tile: a `<figure>` named by its caption (the participant), its video named after them. */
export function renderTile(view: TileView): TemplateResult {
  const showVideo = view.videoOn && view.stream !== undefined;
  const screen = view.screen === true;
  const kind = screen ? "screen" : view.local ? "local" : "remote";
  const videoLabel = screen ? (view.local ? "Your screen" : `${view.name}'s screen`) : view.local ? "Your camera" : `${view.name}'s camera`;
  const chip = view.reconnecting ? "connecting" : view.state;
  const label = view.reconnecting ? "Reconnecting…" : STATE_LABELS[view.state];
  return html`
    <figure
      class="tile ${kind}${view.featured ? " featured" : ""}${view.activeSpeaker ? " speaking" : ""}"
      part="tile tile-${kind}"
      data-peer-id=${screen ? nothing : view.id}
      data-screen-of=${screen ? view.id : nothing}
      data-hint-peer=${view.hintSource && !view.local ? view.id : nothing}
      data-hint-source=${view.hintSource ?? nothing}
      ?data-featured=${view.featured}
      ?data-active-speaker=${view.activeSpeaker}
      data-state=${view.state}
      ?data-reconnecting=${view.reconnecting}
      data-audio=${view.audioOn ? "on" : "off"}
      data-video=${view.videoOn ? "on" : "off"}
      style="--hue: ${hueOf(view.name)}; --level: ${view.level ?? 0}"
      ?data-camera-offline=${view.cameraOffline === true}
    >
      ${view.stream
        ? html`<video
            part="video"
            class=${showVideo ? "" : "hidden"}
            aria-label=${videoLabel}
            autoplay
            playsinline
            ?muted=${view.local}
            ${attachStream(view.stream, {
              muted: view.local || view.soundBlocked,
              onSoundBlocked: view.onSoundBlocked,
            })}
          ></video>`
        : nothing}
      ${showVideo ? nothing : html`<div class="avatar" part="avatar" aria-hidden="true">${initials(view.name)}</div>`}
      ${view.state === "connected"
        ? nothing
        : html`<div class="state-chip ${chip}" part="state">
            ${chip === "connecting" ? html`<span class="spinner"></span>` : nothing}${label}
          </div>`}
      ${view.cameraOffline
        ? html`<div class="camera-offline" part="camera-offline"><span aria-hidden="true">${cameraOffIcon}</span>${CAMERA_OFFLINE_TEXT}</div>`
        : nothing}
      <figcaption class="label" part="label">
        <span class="dot ${chip}" title=${label}></span>
        <span class="name">${screen ? videoLabel : view.name}</span>${view.local && !screen ? html`<span class="you">You</span>` : nothing}
        ${view.host ? html`<span class="host-badge" part="host-badge">Host</span>` : nothing}
        ${view.audioOn ? nothing : html`<span class="muted" part="muted-icon" title="Microphone off">${micOffIcon}</span>`}
        ${view.level !== undefined && view.audioOn ? html`<span class="level" part="level" aria-hidden="true"><i></i><i></i><i></i></span>` : nothing}
      </figcaption>
      ${view.tools ?? nothing}
      ${view.actions ?? nothing}
    </figure>
  `;
}
