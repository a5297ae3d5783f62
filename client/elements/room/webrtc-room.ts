/**
 * `<webrtc-room>`: a many-to-many video room in one tag.
 *
 * ```html
 * <script type="module" src="https://rooms.example.org/assets/webrtc-room.js"></script>
 * <webrtc-room server="https://rooms.example.org" room="standup" name="Ada"></webrtc-room>
 * ```
 *
 * The element only renders; joining, media and controls live in {@link RoomController}.
 */
import { LitElement, html, nothing, type PropertyDeclarations, type TemplateResult } from "lit";
import { startOnConverter } from "./attributes.ts";
import { RoomController } from "./room-controller.ts";
import { RoomPhase } from "./room-events.ts";
import { roomStyles } from "./room-styles.ts";
import { failureText, mediaNotice } from "./room-text.ts";
import { gridShape, renderTile, type TileView } from "./tile.ts";
import { cameraIcon, cameraOffIcon, leaveIcon, micIcon, micOffIcon, soundOffIcon, warningIcon } from "../shared/icons.ts";

/**
 * A video room over a full WebRTC mesh.
 *
 * Attributes and properties (read when a stay in a room starts; changing `server`, `room` or
 * `name` while in a room rejoins):
 * - `server`: the webrtc-room server, an `http(s)` or `ws(s)` URL. Default: the page's origin.
 * - `room`: the room to join (`A-Z a-z 0-9 _ -`, 1–64 characters). Nothing happens until it is set.
 * - `name`: display name shown to the others. Default: `Guest`.
 * - `token`: the join token the application's backend minted for this participant (sent as
 *   `new_user.token`; a token-mode server requires one). Prefer setting the property from script
 *   over writing the attribute into served HTML. Without a valid one, a token-mode server refuses
 *   and the element shows why ("not allowed to join"); the camera is never opened.
 * - `audio`, `video`: start with the microphone / camera on (default). `audio="off"` or
 *   `video="off"` joins muted; the device is still opened so that it can be turned on later.
 *
 * The element joins first and opens camera and microphone only once joined, and only when the
 * room lets this participant publish: a viewer (join token without `publish`) sees and hears
 * everyone and has no camera or microphone controls. A room that asks for a password shows a
 * password field; a locked room or a host's refusal shows a plain explanation.
 *
 * Methods: `leave()`, `rejoin()`. Property `state`: the current {@link RoomPhase}.
 *
 * @fires peer-joined - `{ peer: { id, username } }`
 * @fires peer-left - `{ peer: { id, username }, reason }`
 * @fires connection-state - `{ state, previous }`: `idle` → `joining` → `joined`, then `left` or `failed`
 * @fires error - `{ code, message, peerId?, media? }` (does not bubble)
 *
 * @cssprop --webrtc-room-background - Background behind the tiles (`#0b0d12`).
 * @cssprop --webrtc-room-surface - Tile background without video.
 * @cssprop --webrtc-room-raised - Toolbar buttons; `--webrtc-room-raised-hover` on hover.
 * @cssprop --webrtc-room-text - Text colour; `--webrtc-room-text-dim` for secondary text.
 * @cssprop --webrtc-room-accent - Primary buttons and focus rings.
 * @cssprop --webrtc-room-danger - Leave button and muted icons.
 * @cssprop --webrtc-room-ok - Connected dot; `--webrtc-room-warn` for connecting and notices.
 * @cssprop --webrtc-room-radius - Tile corner radius (`16px`).
 * @cssprop --webrtc-room-gap - Space between tiles (`12px`).
 * @cssprop --webrtc-room-font - Font family.
 *
 * @csspart room - The whole layout (stage and toolbar).
 * @csspart stage - The area holding the tiles.
 * @csspart tile - Every participant tile; also `tile-local` or `tile-remote`.
 * @csspart video - The `<video>` of a tile.
 * @csspart avatar - The initials shown when a participant's camera is off.
 * @csspart label - The name label of a tile; `muted-icon` inside it.
 * @csspart state - The connection-state chip of a tile that is not connected.
 * @csspart toolbar - The bottom bar; `control`, `control-audio`, `control-video`, `control-leave` in it.
 * @csspart notice - The banner shown when the camera or microphone is unavailable.
 * @csspart panel - The message shown after leaving, on failure, or without a room.
 */
export class WebRtcRoom extends LitElement {
  static override properties: PropertyDeclarations = {
    server: { type: String },
    room: { type: String },
    name: { type: String },
    token: { type: String },
    audio: { converter: startOnConverter },
    video: { converter: startOnConverter },
  };

  static override styles = roomStyles;

  /** Server URL; empty for the page's origin. */
  declare server: string;
  /** Room to join. */
  declare room: string;
  /** Display name. */
  declare name: string;
  /** The join token (`new_user.token`); empty for none. */
  declare token: string;
  /** Start with the microphone on. */
  declare audio: boolean;
  /** Start with the camera on. */
  declare video: boolean;

  readonly #room = new RoomController(this, () => ({
    server: this.server,
    room: this.room,
    name: this.name,
    token: this.token,
    audio: this.audio,
    video: this.video,
  }));

  constructor() {
    super();
    this.server = "";
    this.room = "";
    this.name = "";
    this.token = "";
    this.audio = true;
    this.video = true;
  }

  /** Where the element is in its stay in the room. */
  get state(): RoomPhase {
    return this.#room.phase;
  }

  /** Leaves the room and releases camera and microphone. */
  leave(): void {
    this.#room.leave();
  }

  /** Joins again after `leave()` or a failure. */
  rejoin(): void {
    this.#room.rejoin();
  }

  override render(): TemplateResult {
    switch (this.#room.phase) {
      case RoomPhase.idle:
        return this.room ? html`` : this.#renderPanel("No room", "Set the room attribute to join a room.");
      case RoomPhase.left:
        return this.#renderPanel("You left the room", "Your camera and microphone are off.", "Rejoin");
      case RoomPhase.failed:
        return this.#renderFailure();
      case RoomPhase.joining:
      case RoomPhase.joined:
        return this.#renderRoom();
    }
  }

  #renderPanel(title: string, detail: string, action?: string, reason?: string): TemplateResult {
    return html`<div class="panel" part="panel" data-reason=${reason ?? nothing}>
      <div class="card">
        <h2>${title}</h2>
        <p>${detail}</p>
        ${action ? html`<button class="primary" @click=${() => this.#room.rejoin()}>${action}</button>` : nothing}
      </div>
    </div>`;
  }

  /** A refused join or a lost connection: why, and what can be done (try again, type the password, nothing). */
  #renderFailure(): TemplateResult {
    const failure = this.#room.failure;
    const view = failureText(failure);
    if (view.action !== "password") {
      return this.#renderPanel(view.title, view.detail, view.action === "retry" ? "Try again" : undefined, view.reason);
    }
    const onSubmit = (event: SubmitEvent): void => {
      event.preventDefault();
      const form = event.currentTarget;
      const input = form instanceof HTMLFormElement ? form.elements.namedItem("password") : null;
      if (input instanceof HTMLInputElement && input.value) {
        this.#room.joinWithPassword(input.value);
      }
    };
    return html`<div class="panel" part="panel" data-reason=${view.reason}>
      <form class="card" @submit=${onSubmit}>
        <h2>${view.title}</h2>
        <p>${view.detail}</p>
        <label class="password">Password
          <input name="password" type="password" autocomplete="off" maxlength="128" required>
        </label>
        <button class="primary" type="submit">Join again with password</button>
      </form>
    </div>`;
  }

  #renderRoom(): TemplateResult {
    const room = this.#room;
    const local = room.local;
    const joined = room.phase === RoomPhase.joined;
    const onSoundBlocked = (): void => room.reportSoundBlocked();
    const tiles: TileView[] = [
      {
        id: "local",
        name: room.name,
        local: true,
        state: joined ? "connected" : "connecting",
        stream: local.stream,
        videoOn: local.videoOn,
        audioOn: local.audioOn,
        soundBlocked: false,
        onSoundBlocked,
      },
      ...room.remotes.map((peer): TileView => ({
        id: peer.id,
        name: peer.username,
        local: false,
        state: peer.state,
        stream: peer.stream,
        videoOn: (peer.mediaState?.video ?? true) && (peer.stream?.getVideoTracks().length ?? 0) > 0,
        audioOn: peer.mediaState?.audio ?? true,
        soundBlocked: room.soundBlocked,
        onSoundBlocked,
      })),
    ];
    const { cols, rows } = gridShape(tiles.length);
    const notice = room.noticeDismissed ? undefined : mediaNotice(local.media);
    // Hidden participants are not in `remotes`: no tile, and not counted.
    const people = tiles.length === 1 ? "Waiting for others to join" : `${tiles.length} people in the room`;
    const status = !joined ? "Joining…" : room.isViewer ? `${people} · viewing only` : people;
    return html`<div class="room" part="room">
      <div class="stage" part="stage">
        <div class="banners">
          ${notice
            ? html`<div class="notice" part="notice" role="status">
                ${warningIcon}<span>${notice}</span>
                <button @click=${() => room.dismissNotice()} aria-label="Dismiss">OK</button>
              </div>`
            : nothing}
          ${room.soundBlocked
            ? html`<button class="sound" @click=${() => room.unblockSound()}>${soundOffIcon}Click to enable sound</button>`
            : nothing}
        </div>
        <div class="grid" style="--cols: ${cols}; --rows: ${rows}">${tiles.map(renderTile)}</div>
      </div>
      <div class="toolbar" part="toolbar">
        <div class="info">
          <span class="room-name">${this.room}</span>
          <span class="status">${status}</span>
        </div>
        <div class="controls">
          ${joined && !room.isViewer ? this.#renderMediaControls() : nothing}
          <button class="control leave" part="control control-leave" data-control="leave" title="Leave the room"
            @click=${() => room.leave()}>${leaveIcon}<span>Leave</span></button>
        </div>
        <div class="spacer"></div>
      </div>
    </div>`;
  }

  /** Microphone and camera switches: only once joined, and never for a viewer (who has neither). */
  #renderMediaControls(): TemplateResult {
    const local = this.#room.local;
    return html`<button
            class="control ${local.audioOn ? "" : "off"}"
            part="control control-audio"
            data-control="audio"
            aria-pressed=${local.audioOn ? "false" : "true"}
            title=${local.hasAudio ? (local.audioOn ? "Mute microphone" : "Unmute microphone") : "No microphone"}
            ?disabled=${!local.hasAudio}
            @click=${() => local.toggleAudio()}
          >${local.audioOn ? micIcon : micOffIcon}</button>
          <button
            class="control ${local.videoOn ? "" : "off"}"
            part="control control-video"
            data-control="video"
            aria-pressed=${local.videoOn ? "false" : "true"}
            title=${local.hasVideo ? (local.videoOn ? "Turn camera off" : "Turn camera on") : "No camera"}
            ?disabled=${!local.hasVideo}
            @click=${() => local.toggleVideo()}
          >${local.videoOn ? cameraIcon : cameraOffIcon}</button>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "webrtc-room": WebRtcRoom;
  }
}

if (!customElements.get("webrtc-room")) {
  customElements.define("webrtc-room", WebRtcRoom);
}
