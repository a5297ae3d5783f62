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
import type { ChatMessage } from "../../core/index.ts";
import { MeshError } from "../../core/room-session.ts";
import type { AccountCredentials } from "../../../shared/protocol/accounts.ts";
import { startOnConverter } from "./attributes.ts";
import { chatStyles, chatTooLongText, renderChatPanel, renderChatToggle } from "../shared/chat-panel.ts";
import { connectionStyles, renderConnectionBanner, renderDisconnectedPanel } from "../shared/connection-notice.ts";
import { RoomController } from "./room-controller.ts";
import { RoomConnection, RoomPhase } from "./room-events.ts";
import { roomStyles } from "./room-styles.ts";
import { failureText, mediaNotice } from "./room-text.ts";
import { renderLobby, renderRoomSettings, renderTileActions } from "./host-controls.ts";
import { type TileView } from "./tile.ts";
import { renderStage, stageStyles } from "./stage-layout.ts";
import { isTextField, renderDialog, shortcutFor, shortcutKey, type RoomDialog } from "./shortcuts.ts";
import { keepFocusIn } from "../shared/focus-trap.ts";
import { cameraIcon, cameraOffIcon, devicesIcon, keyboardIcon, leaveIcon, lockIcon, micIcon, micOffIcon, screenShareIcon, screenShareOffIcon, soundOffIcon, speakerLayoutIcon, warningIcon } from "../shared/icons.ts";
import { canChooseSpeaker } from "../shared/devices.ts";
import { renderDeviceSettings, type DevicePickersView } from "./device-settings.ts";
import { prejoinStyles, renderPrejoin } from "./prejoin.ts";

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
 * - `uplink-budget` (property `uplinkBudget`): this participant's uplink video budget in kbit/s,
 *   divided among the others (see docs/protocol.md, "Bandwidth fitted to the mesh"). Default: the
 *   server's (`--uplink-budget-kbps`). Read when a stay starts.
 * - `account` (property only): `{ userID, password }`, the account to join as on a server running
 *   with accounts (`new_user.account`; the name shown is then the account's). `/r/<room>` sets it
 *   from its sign-in form; a refusal (`bad_credentials`, `too_many_attempts`) shows why.
 * - `prejoin` (boolean): before joining, show a pre-join screen: a live camera preview, the
 *   microphone's level, camera / microphone / speaker pickers, camera and microphone switches,
 *   the name (the `name` attribute, else the one remembered) and Join. The camera and microphone
 *   opened for the preview are the ones published. The choices are remembered in this browser per
 *   server (`localStorage`). Off by default; the `/r/<room>` page turns it on. Unlike without it,
 *   the camera opens before the join is accepted (a refused join then closes it).
 *
 * Without `prejoin`, the element joins first and opens camera and microphone only once joined,
 * and only when the room lets this participant publish: a viewer (join token without `publish`) sees and hears
 * everyone and has no camera or microphone controls. A room that asks for a password shows a
 * password field; a locked room or a host's refusal shows a plain explanation.
 *
 * Hosts (see {@link RoomController.isHost}) get a "Room settings" button (lock, password, lobby),
 * the lobby's waiting list with Admit / Deny (announced politely to screen readers), and a menu on
 * every other tile (mute microphone, turn off camera, remove after a confirmation). Everyone sees
 * "Locked" when the room is locked and a "Host" badge on hosts' tiles; a participant in the lobby
 * sees a waiting screen, one removed by a host a panel saying so (with Rejoin), one muted by a
 * host a notice (and may unmute: a mesh cannot enforce it).
 *
 * A lost connection shows "Reconnecting…" with the seconds left in the server's resume grace
 * window, then "Reconnected", or past the window a "You were disconnected" panel with Rejoin (the
 * element keeps trying by itself); a tile whose peer connection is being rebuilt says
 * "Reconnecting…". The Chat button opens a side panel (unread count on the button): messages go
 * peer to peer over the data channels, nothing is stored, and they stay while the element lives.
 * One polite live region announces joins, leaves, the people count, connection changes and chat.
 *
 * Share (where `getDisplayMedia` exists; not for a viewer) publishes a screen: every page shows the
 * newest share as the large stage tile with the cameras in a strip; a second sharer replaces the
 * first, who is told. Remote tiles show an audio level meter, the active speaker's tile is
 * outlined, Layout switches to the speaker layout (the active speaker large), and every tile can
 * be pinned (large in any layout) or shown full screen. Small tiles ask their sender for less
 * (video hints by rendered size). See `stage-controller.ts`.
 *
 * A camera or microphone that was denied, missing or busy can be tried again from its button,
 * without a rejoin. A change of `name` (or `server`, `room`, `token`) rejoins with the microphone
 * and camera as they were. An invalid `room` shows a plain explanation and sends nothing.
 *
 * The Devices button (everyone who publishes) opens a modal dialog to switch camera, microphone
 * and speaker while joined: the new camera or microphone replaces the track on the same senders
 * (no renegotiation, no rejoin), the speaker applies to every participant's sound (`setSinkId`,
 * where the browser has it). A device plugged in appears in the lists; the device in use
 * unplugged falls back to the default, which the dialog and the live region say.
 *
 * Keyboard: while the focus is in the element (and not in a text field), `M` mutes or unmutes the
 * microphone, `V` turns the camera off or on, `C` opens or closes the chat (focus in its field),
 * `L` asks whether to leave, and `?` opens the list of
 * shortcuts (also behind the toolbar's keyboard button); both are modal dialogs (Escape closes).
 * After joining the focus goes to the microphone button, after leaving or a failure to the
 * panel's button, when the focus had nowhere else to be.
 *
 * Sizing: it fills a container with a height; without one, its stage is 16:9 of its width (3:4
 * below 560 px) above the toolbar. The theme is dark, or light under `prefers-color-scheme:
 * light`; either is overridden by the custom properties below.
 *
 * Methods: `leave()`, `rejoin()`, `sendChat(text)`. Properties `state`: the current
 * {@link RoomPhase}; `connection`: the current {@link RoomConnection}.
 *
 * @fires peer-joined - `{ peer: { id, username } }`
 * @fires peer-left - `{ peer: { id, username }, reason }`
 * @fires connection-state - `{ state, previous, connection, graceRemainingMs? }`: the phase `idle` → `joining` (→ `waiting` in a lobby) → `joined`, then `left` or `failed` (a rejoin or a change of settings goes straight back to `joining`, see {@link RoomPhase}; the first fires after the page's scripts ran); while joined, `connection` `connected` → `reconnecting` → `reconnected` → `connected`, or → `disconnected`
 * @fires chat-message - `{ id, from: { id, username }, text, sentAtMs, receivedAtMs, own }` for every message sent or received
 * @fires room-state - `{ locked, passwordSet, lobby, hosts }` on joining and on every change
 * @fires lobby - `{ waiting: [{ id, username }] }` (hosts only) whenever the lobby changes
 * @fires device-change - `{ kind, deviceId, label, reason }`: the camera, microphone or speaker in use changed (`reason` `chosen` by the user, or `lost`: unplugged, the default took over)
 * @fires active-speaker - `{ speaker: { id, username } | null, levels: [{ id, username, level }] }` whenever the active speaker changes
 * @fires error - `{ code, message, peerId?, media? }` (does not bubble)
 *
 * @cssprop --webrtc-room-background - Background behind the tiles (`#0b0d12`).
 * @cssprop --webrtc-room-surface - Tile background without video.
 * @cssprop --webrtc-room-raised - Toolbar buttons; `--webrtc-room-raised-hover` on hover.
 * @cssprop --webrtc-room-text - Text colour; `--webrtc-room-text-dim` for secondary text.
 * @cssprop --webrtc-room-accent - Primary buttons and focus rings; `--webrtc-room-on-accent` for text on it.
 * @cssprop --webrtc-room-danger - Leave button and muted icons; `--webrtc-room-on-danger` for text on it.
 * @cssprop --webrtc-room-ok - Connected dot; `--webrtc-room-warn` for connecting and notices.
 * @cssprop --webrtc-room-radius - Tile corner radius (`16px`).
 * @cssprop --webrtc-room-gap - Space between tiles (`12px`).
 * @cssprop --webrtc-room-font - Font family.
 *
 * @csspart room - The whole layout (stage and toolbar).
 * @csspart stage - The area holding the tiles.
 * @csspart tile - Every participant tile; also `tile-local` or `tile-remote`, and `tile-screen` for a shared screen.
 * @csspart video - The `<video>` of a tile.
 * @csspart avatar - The initials shown when a participant's camera is off.
 * @csspart label - The name label of a tile; `muted-icon`, `level` (the audio level meter) and `host-badge` inside it.
 * @csspart tile-actions - A host's menu on another participant's tile.
 * @csspart state - The connection-state chip of a tile that is not connected.
 * @csspart toolbar - The bottom bar; `control`, `control-audio`, `control-video`, `control-settings`, `control-share`, `control-layout`, `control-leave` in it.
 * @csspart settings - The hosts' room settings panel.
 * @csspart lobby - The hosts' list of people waiting in the lobby.
 * @csspart locked - The "Locked" indicator next to the room's name.
 * @csspart notice - The banner shown when the camera or microphone is unavailable; also `host-notice` when a host muted this participant.
 * @csspart panel - The message shown after leaving, on failure, without a room, or over the stage once disconnected (`data-reason="disconnected"`).
 * @csspart connection-notice - The "Reconnecting…" / "Reconnected" banner (with `notice`).
 * @csspart chat - The chat side panel; `chat-messages` (its list) and `chat-error` (a refusal) inside it. The toolbar's button is `control-chat`.
 * @csspart dialog - The keyboard shortcuts and the "Leave the room?" dialogs.
 * @csspart prejoin - The pre-join screen; `preview` (its `<video>`) and `level` (the microphone's meter, also in the devices dialog) inside it. The toolbar's devices button is `control-devices`.
 */
export class WebRtcRoom extends LitElement {
  static override properties: PropertyDeclarations = {
    server: { type: String },
    room: { type: String },
    name: { type: String },
    token: { type: String },
    audio: { converter: startOnConverter },
    video: { converter: startOnConverter },
    uplinkBudget: { type: Number, attribute: "uplink-budget" },
    account: { attribute: false },
    prejoin: { type: Boolean },
  };

  static override styles = [roomStyles, chatStyles, connectionStyles, prejoinStyles, stageStyles];

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
  /** Uplink video budget in kbit/s; unset (or not a positive number) for the server's. */
  declare uplinkBudget: number | undefined;
  /** The account to join as (`new_user.account`) on a server running with accounts; property only, never an attribute. */
  declare account: AccountCredentials | undefined;
  /** Show the pre-join screen before joining. */
  declare prejoin: boolean;

  readonly #room = new RoomController(this, () => ({
    server: this.server,
    room: this.room,
    name: this.name,
    token: this.token,
    audio: this.audio,
    video: this.video,
    uplinkBudgetKbps: this.uplinkBudget,
    account: this.account,
    prejoin: this.prejoin,
  }));

  /** Whether the hosts' room settings panel is open. */
  #settingsOpen = false;
  /** The remote participant whose host menu is open, if any. */
  #menuFor: string | undefined;
  /** The remote participant whose removal the open menu asks to confirm, if any. */
  #confirmRemovalOf: string | undefined;
  /** The open modal dialog, if any: a shortcuts one, or the devices. */
  #dialog: RoomDialog | "devices" | undefined;
  /** Where the focus goes back to when the dialog closes. */
  #dialogOpener: HTMLElement | undefined;
  /** The phase of the last render, to move the focus when it changes. */
  #renderedPhase: RoomPhase = RoomPhase.idle;
  /** The Leave button, focused on joining until the microphone button opens and takes the focus. */
  #focusedUntilMedia: HTMLElement | undefined;
  /** Why the chat panel's last send was refused, until the next send. */
  #chatError: string | undefined;
  /** Messages in the chat list at the last render, to scroll to a new one. */
  #chatShown = 0;

  constructor() {
    super();
    this.server = "";
    this.room = "";
    this.name = "";
    this.token = "";
    this.audio = true;
    this.video = true;
    this.prejoin = false;
    this.addEventListener("keydown", this.#onShortcut);
  }

  /** Where the element is in its stay in the room. */
  get state(): RoomPhase {
    return this.#room.phase;
  }

  /** Leaves the room and releases camera and microphone. */
  leave(): void {
    this.#room.leave();
  }

  /** Where the link to the room stands: `connected`, `reconnecting`, `reconnected` or `disconnected`. */
  get connection(): RoomConnection {
    return this.#room.connection;
  }

  /** Joins again after `leave()`, a failure, or while `disconnected`. */
  rejoin(): void {
    this.#room.rejoin();
  }

  /**
   * Sends a chat message to everyone in the room (and shows it in the panel). Throws a
   * `MeshError` with code `chat_too_long` (above 2000 characters or 4 KiB of UTF-8), `chat_empty`,
   * `not_ready` (not in the room) or `not_allowed` (no `data` grant).
   */
  sendChat(text: string): ChatMessage {
    return this.#room.sendChat(text);
  }

  /**
   * Moves the focus after a change of phase, opens a requested dialog as modal, and scrolls the
   * chat list to a message that arrived since the last render.
   */
  override updated(): void {
    const count = this.#room.chatMessages.length;
    if (count !== this.#chatShown) {
      this.#chatShown = count;
      const list = this.shadowRoot?.querySelector(".messages");
      list?.lastElementChild?.scrollIntoView({ block: "end" });
    }
    const phase = this.#room.phase;
    const microphone = this.shadowRoot?.querySelector<HTMLElement>('[data-control="audio"]:not(:disabled)');
    if (phase !== this.#renderedPhase) {
      this.#renderedPhase = phase;
      // A dialog belongs to one stay in the room.
      this.#dialog = undefined;
      this.#focusedUntilMedia = undefined;
      this.#focusAfterPhaseChange();
    } else if (this.#focusedUntilMedia && microphone) {
      if (this.shadowRoot?.activeElement === this.#focusedUntilMedia) {
        microphone.focus();
      }
      this.#focusedUntilMedia = undefined;
    }
    const dialog = this.shadowRoot?.querySelector("dialog");
    if (dialog && !dialog.open) {
      dialog.showModal();
    }
    this.#applySpeaker();
    this.#focusPrejoin();
    this.#room.stage.hints.sync(this.shadowRoot);
  }

  /**
   * After joining, leaving or a failure, the button that was pressed is gone: the focus goes to
   * the next sensible control (the microphone, else Leave; a panel's button or field) unless the
   * page holds it somewhere else.
   */
  #focusAfterPhaseChange(): void {
    const active = document.activeElement;
    const lost = active === null || active === document.body || (active === this && !this.shadowRoot?.activeElement);
    if (!lost) {
      return;
    }
    const root = this.shadowRoot;
    if (this.#room.phase !== RoomPhase.joined) {
      root?.querySelector<HTMLElement>(".panel input, .panel button")?.focus();
      return;
    }
    // Camera and microphone open just after joining; until then, Leave holds the focus.
    const target = root?.querySelector<HTMLElement>('[data-control="audio"]:not(:disabled)') ?? root?.querySelector<HTMLElement>('[data-control="leave"]');
    target?.focus();
    this.#focusedUntilMedia = target?.dataset["control"] === "leave" && !this.#room.isViewer ? target : undefined;
  }

  readonly #onShortcut = (event: KeyboardEvent): void => {
    const joined = this.#room.phase === RoomPhase.joined;
    const { key, ctrlKey, metaKey, altKey } = event;
    const action = shortcutFor({ key, ctrlKey, metaKey, altKey, typing: isTextField(event.composedPath()[0]) });
    if (!joined || !action || this.#dialog) {
      return;
    }
    event.preventDefault();
    if (action === "leave" || action === "help") {
      this.#openDialog(action);
    } else if (action === "chat") {
      this.#toggleChatFromKeyboard();
    } else if (action === "microphone") {
      this.#room.local.toggleAudio();
    } else {
      this.#room.local.toggleVideo();
    }
  };

  /** Opens the chat with the focus in its field, or closes it with the focus back on its button. */
  #toggleChatFromKeyboard(): void {
    const open = !this.#room.chatOpen;
    this.#room.setChatOpen(open);
    void this.updateComplete.then(() => this.shadowRoot?.querySelector<HTMLElement>(open ? "textarea" : '[data-control="chat"]')?.focus());
  }

  #openDialog(kind: RoomDialog | "devices"): void {
    const active = this.shadowRoot?.activeElement;
    this.#dialogOpener = active instanceof HTMLElement ? active : undefined;
    this.#dialog = kind;
    this.requestUpdate();
  }

  #closeDialog(): void {
    if (this.#dialog === "devices") {
      this.#room.devices.meter(false);
    }
    this.#dialog = undefined;
    this.requestUpdate();
    const opener = this.#dialogOpener;
    this.#dialogOpener = undefined;
    void this.updateComplete.then(() => (opener?.isConnected ? opener : this.shadowRoot?.querySelector<HTMLElement>('[data-control="help"]'))?.focus());
  }

  override render(): TemplateResult {
    switch (this.#room.phase) {
      case RoomPhase.idle:
        if (this.#room.inPrejoin) {
          return this.#renderPrejoin();
        }
        return this.room ? html`` : this.#renderPanel("No room", "Set the room attribute to join a room.");
      case RoomPhase.left:
        return this.#renderPanel("You left the room", "Your camera and microphone are off.", "Rejoin");
      case RoomPhase.failed:
        return this.#renderFailure();
      case RoomPhase.waiting:
        return html`<div class="panel" part="panel" data-reason="waiting">
          <div class="card">
            <span class="spinner large" aria-hidden="true"></span>
            <h2>Waiting for a host to let you in</h2>
            <p>You are in the lobby of ${this.room}. Nobody sees or hears you until then.</p>
            <button class="primary" @click=${() => this.#room.leave()}>Leave</button>
          </div>
        </div>`;
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
      const action = view.action === "retry" ? "Try again" : view.action === "rejoin" ? "Rejoin" : undefined;
      return this.#renderPanel(view.title, view.detail, action, view.reason);
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
    const roomState = room.roomState;
    const isHost = joined && room.isHost;
    const connection = room.connection;
    const cutOff = connection === RoomConnection.disconnected;
    const tiles: TileView[] = [
      {
        id: "local",
        name: room.name,
        local: true,
        // Never a green dot while the server is out of reach.
        state: !joined || connection === RoomConnection.reconnecting ? "connecting" : cutOff ? "closed" : "connected",
        reconnecting: joined && connection === RoomConnection.reconnecting,
        stream: local.stream,
        videoOn: local.videoOn,
        audioOn: local.audioOn,
        soundBlocked: false,
        onSoundBlocked,
        host: isHost,
        actions: undefined,
      },
      ...room.remotes.map((peer): TileView => ({
        id: peer.id,
        name: peer.username,
        local: false,
        state: peer.state,
        // The session rebuilds a failed pair: its tile says so rather than "failed".
        reconnecting: peer.state === "failed" || (peer.state === "connecting" && peer.rebuilds > 0),
        stream: peer.stream,
        videoOn: (peer.mediaState?.video ?? true) && (peer.stream?.getVideoTracks().length ?? 0) > 0,
        audioOn: peer.mediaState?.audio ?? true,
        soundBlocked: room.soundBlocked,
        onSoundBlocked,
        host: roomState?.hosts.includes(peer.id) ?? false,
        actions: isHost ? this.#renderTileActions(peer.id, peer.username) : undefined,
        cameraOffline: room.cameraOffline(peer.id),
      })),
    ];
    const notice = room.noticeDismissed ? undefined : mediaNotice(local.media);
    // Hidden participants are not in `remotes`: no tile, and not counted.
    const people = tiles.length === 1 ? "Waiting for others to join" : `${tiles.length} people in the room`;
    const status = !joined ? "Joining…" : cutOff ? "Disconnected" : room.isViewer ? `${people} · viewing only` : people;
    const hostNotice = room.hostNotice;
    return html`<div class="room" part="room" @keydown=${this.#closeMenusOnEscape}>
      <div class="stage ${room.chatOpen ? "chat-open" : ""}" part="stage">
        <div class="visually-hidden" role="status" aria-live="polite" data-live-region>${room.announcement}</div>
        <div class="banners">
          ${renderConnectionBanner(connection, room.graceRemainingMs)}
          ${isHost ? renderLobby(room.lobby, (id) => room.admit(id), (id) => room.deny(id)) : nothing}
          ${hostNotice
            ? html`<div class="notice" part="notice host-notice" role="status">
                ${warningIcon}<span>${hostNotice}</span>
                <button @click=${() => room.dismissHostNotice()} aria-label="OK, dismiss">OK</button>
              </div>`
            : nothing}
          ${notice
            ? html`<div class="notice" part="notice" role="status">
                ${warningIcon}<span>${notice}</span>
                <button @click=${() => room.dismissNotice()} aria-label="OK, dismiss">OK</button>
              </div>`
            : nothing}
          ${room.soundBlocked
            ? html`<button class="sound" @click=${() => room.unblockSound()}>${soundOffIcon}Click to enable sound</button>`
            : nothing}
        </div>
        ${renderStage(tiles, room.stage)}
        ${room.chatOpen ? this.#renderChat() : nothing}
        ${cutOff ? renderDisconnectedPanel(() => room.rejoin()) : nothing}
      </div>
      <div class="toolbar" part="toolbar">
        <div class="info">
          <span class="room-name">${this.room}${roomState?.locked
            ? html`<span class="locked" part="locked" title="A host locked the room">${lockIcon}Locked</span>`
            : nothing}</span>
          <span class="status">${status}</span>
        </div>
        <div class="controls">
          ${joined && !room.isViewer ? this.#renderMediaControls() : nothing}
          ${joined ? this.#renderStageControls() : nothing}
          ${isHost && roomState
            ? renderRoomSettings({
                open: this.#settingsOpen,
                state: roomState,
                waitingCount: room.lobby.length,
                onToggle: () => this.#setMenus(!this.#settingsOpen, undefined),
                onLock: (locked) => room.lockRoom(locked),
                onLobby: (enabled) => room.setLobby(enabled),
                onPassword: (password) => room.setRoomPassword(password),
              })
            : nothing}
          ${joined && !room.isViewer ? this.#renderDevicesToggle() : nothing}
          ${this.#renderChatToggle()}
          <button class="control" part="control control-help" data-control="help" aria-label="Keyboard shortcuts"
            title="Keyboard shortcuts (?)" aria-keyshortcuts="?" @click=${() => this.#openDialog("help")}>${keyboardIcon}</button>
          <button class="control leave" part="control control-leave" data-control="leave" title="Leave the room"
            @click=${() => room.leave()}>${leaveIcon}<span>Leave</span></button>
        </div>
        <div class="spacer"></div>
      </div>
      ${this.#dialog
        ? html`<dialog part="dialog" aria-labelledby="dialog-title" @keydown=${keepFocusIn} @close=${() => this.#closeDialog()}>
            ${this.#dialog === "devices" ? this.#renderDevicesDialog() : renderDialog(this.#dialog, () => this.#closeDialog(), () => {
              this.#dialog = undefined;
              room.leave();
            })}
          </dialog>`
        : nothing}
    </div>`;
  }

  /** The toolbar's chat button, with the number of unread messages. */
  #renderChatToggle(): TemplateResult {
    const room = this.#room;
    return renderChatToggle(room.chatOpen, room.unreadChat, () => room.setChatOpen(!room.chatOpen));
  }

  #renderChat(): TemplateResult {
    const room = this.#room;
    return renderChatPanel({
      messages: room.chatMessages,
      error: this.#chatError,
      canSend: room.phase === RoomPhase.joined && room.connection !== RoomConnection.disconnected,
      onClose: () => room.setChatOpen(false),
      onSend: (text) => {
        try {
          room.sendChat(text);
          this.#chatError = undefined;
          const field = this.shadowRoot?.querySelector("textarea");
          if (field) {
            field.value = "";
          }
        } catch (error) {
          this.#chatError = error instanceof MeshError && error.code === "chat_too_long" ? chatTooLongText(text)
            : error instanceof Error ? `Not sent: ${error.message}` : String(error);
        }
        this.requestUpdate();
      },
    });
  }

  /** A host's menu on participant `id`'s tile. */
  #renderTileActions(id: string, name: string): TemplateResult {
    const room = this.#room;
    const close = (): void => this.#setMenus(false, undefined);
    return renderTileActions({
      id,
      name,
      open: this.#menuFor === id,
      confirmingRemoval: this.#confirmRemovalOf === id,
      onToggle: () => this.#setMenus(false, this.#menuFor === id ? undefined : id),
      onMute: (kind) => {
        room.muteParticipant(id, kind);
        close();
      },
      onAskRemoval: () => {
        this.#confirmRemovalOf = id;
        this.requestUpdate();
        // The clicked item is gone: the focus goes to the safe answer, Cancel.
        void this.updateComplete.then(() => this.shadowRoot?.querySelector<HTMLElement>(".menu button:last-of-type")?.focus());
      },
      onRemove: () => {
        room.removeParticipant(id);
        close();
      },
      onCancel: close,
    });
  }

  /**
   * Opens at most one popover: the room settings, or the host menu of participant `menuFor`. When
   * the keyboard focus was inside a popover that closes, it goes back to that popover's button.
   */
  #setMenus(settingsOpen: boolean, menuFor: string | undefined): void {
    const focused = this.shadowRoot?.activeElement;
    const trigger = focused?.closest(".popover") ? '[data-control="settings"]'
      : focused?.closest(".menu") && this.#menuFor !== undefined ? `[data-menu-for="${CSS.escape(this.#menuFor)}"]`
      : undefined;
    this.#settingsOpen = settingsOpen;
    this.#menuFor = menuFor;
    this.#confirmRemovalOf = undefined;
    this.requestUpdate();
    if (trigger) {
      void this.updateComplete.then(() => this.shadowRoot?.querySelector<HTMLElement>(trigger)?.focus());
    }
  }

  readonly #closeMenusOnEscape = (event: KeyboardEvent): void => {
    if (event.key === "Escape" && (this.#settingsOpen || this.#menuFor !== undefined)) {
      this.#setMenus(false, undefined);
    }
  };

  /**
   * Microphone and camera switches: only once joined, and never for a viewer (who has neither). A
   * kind that was denied, missing or busy stays clickable, to ask for it again.
   */
  #renderMediaControls(): TemplateResult {
    return html`${this.#renderMediaSwitch("audio")}${this.#renderMediaSwitch("video")}`;
  }

  #renderMediaSwitch(kind: "audio" | "video"): TemplateResult {
    const room = this.#room;
    const local = room.local;
    const { name, offLabel, action, onIcon, offIcon } = MEDIA_SWITCHES[kind];
    const present = kind === "audio" ? local.hasAudio : local.hasVideo;
    const on = kind === "audio" ? local.audioOn : local.videoOn;
    const retry = !present && local.canRetry(kind);
    const label = present ? offLabel : retry ? `Try the ${name} again` : `No ${name}`;
    const key = shortcutKey(action);
    const onClick = (): void => {
      if (!present) {
        void room.retryMedia(kind);
      } else if (kind === "audio") {
        local.toggleAudio();
      } else {
        local.toggleVideo();
      }
    };
    // Pressed means off: "Mute microphone", pressed = muted.
    return html`<button
      class="control ${on ? "" : "off"}"
      part="control control-${kind}"
      data-control=${kind}
      aria-label=${label}
      aria-pressed=${present ? (on ? "false" : "true") : nothing}
      aria-keyshortcuts=${key}
      title="${label} (${key})"
      ?disabled=${!present && !retry}
      @click=${onClick}
    >${on ? onIcon : offIcon}</button>`;
  }

  /** Whether the pre-join screen had the focus put in its name field. */
  #prejoinFocused = false;
  /** The output each media element was last asked to use, so that `setSinkId` runs once per change. */
  readonly #sinkRequested = new WeakMap<HTMLMediaElement, string>();

  /** The pre-join screen: preview, switches, pickers, name and Join. */
  #renderPrejoin(): TemplateResult {
    const room = this.#room;
    const local = room.local;
    return renderPrejoin({
      room: this.room,
      name: this.name || room.devices.remembered.name || "",
      stream: local.stream,
      has: { audio: local.hasAudio, video: local.hasVideo },
      on: { audio: local.audioOn, video: local.videoOn },
      retry: { audio: local.canRetry("audio"), video: local.canRetry("video") },
      notice: room.devices.notice ?? mediaNotice(local.media),
      opening: room.prejoinOpening,
      pickers: this.#pickersView("prejoin"),
      onToggle: (kind) => (kind === "audio" ? local.toggleAudio() : local.toggleVideo()),
      onRetry: (kind) => void room.retryMedia(kind),
      onJoin: (name) => {
        this.name = name;
        room.joinFromPrejoin(name);
      },
    });
  }

  /** The camera, microphone and speaker pickers, as both the pre-join screen and the devices dialog show them. */
  #pickersView(idPrefix: string): DevicePickersView {
    const devices = this.#room.devices;
    return {
      lists: devices.lists,
      cameraId: devices.cameraId,
      microphoneId: devices.microphoneId,
      speakerId: devices.speakerId,
      level: devices.metering ? devices.level : undefined,
      idPrefix,
      onCamera: (deviceId) => void devices.useCamera(deviceId),
      onMicrophone: (deviceId) => void devices.useMicrophone(deviceId),
      onSpeaker: (deviceId) => devices.useSpeaker(deviceId),
    };
  }

  /** The toolbar's button that opens the devices dialog. */
  #renderDevicesToggle(): TemplateResult {
    const onClick = (): void => {
      this.#room.devices.meter(true);
      this.#openDialog("devices");
    };
    return html`<button class="control" part="control control-devices" data-control="devices" aria-haspopup="dialog"
      aria-label="Camera, microphone and speaker" title="Camera, microphone and speaker" @click=${onClick}>${devicesIcon}</button>`;
  }

  /** The devices dialog's contents (inside the element's one modal `<dialog>`). */
  #renderDevicesDialog(): TemplateResult {
    const room = this.#room;
    return renderDeviceSettings({
      ...this.#pickersView("settings"),
      notice: room.devices.notice,
      retry: { audio: !room.local.hasAudio && room.local.canRetry("audio"), video: !room.local.hasVideo && room.local.canRetry("video") },
      onRetry: (kind) => {
        // A granted retry removes its button: the focus then goes to Done rather than nowhere.
        void room.retryMedia(kind).then(() => this.updateComplete).then(() => {
          if (!this.shadowRoot?.activeElement) {
            this.shadowRoot?.querySelector<HTMLElement>("dialog .primary")?.focus();
          }
        });
      },
      onClose: () => this.#closeDialog(),
    });
  }

  /** Sends every participant's sound to the chosen speaker (where the browser can). */
  #applySpeaker(): void {
    const sinkId = this.#room.devices.speakerId;
    if (!canChooseSpeaker()) {
      return;
    }
    for (const media of this.shadowRoot?.querySelectorAll<HTMLMediaElement>("video, audio") ?? []) {
      if (media.sinkId !== sinkId && this.#sinkRequested.get(media) !== sinkId) {
        this.#sinkRequested.set(media, sinkId);
        media.setSinkId(sinkId).catch(() => this.#sinkRequested.delete(media));
      }
    }
  }

  /** Puts the focus in the pre-join screen's name field once, unless the page holds it elsewhere. */
  #focusPrejoin(): void {
    if (!this.#room.inPrejoin || this.#prejoinFocused) {
      return;
    }
    this.#prejoinFocused = true;
    const active = document.activeElement;
    if (active === null || active === document.body) {
      this.shadowRoot?.querySelector<HTMLInputElement>("#name")?.focus();
    }
  }

  /**
   * Share (only where the browser can capture a screen, never for a viewer) and Layout (grid or
   * speaker); both are toggle buttons whose pressed state says what is on.
   */
  #renderStageControls(): TemplateResult {
    const stage = this.#room.stage;
    const sharing = stage.shareState !== "off";
    const speaker = stage.layout === "speaker";
    return html`${stage.canShare && !this.#room.isViewer
      ? html`<button class="control ${sharing ? "on" : ""}" part="control control-share" data-control="share"
          aria-label="Share screen" aria-pressed=${sharing ? "true" : "false"} title=${sharing ? "Stop sharing your screen" : "Share your screen"}
          ?disabled=${stage.shareState === "starting"} @click=${() => void stage.toggleShare()}>${sharing ? screenShareOffIcon : screenShareIcon}</button>`
      : nothing}
      <button class="control ${speaker ? "on" : ""}" part="control control-layout" data-control="layout"
        aria-label="Speaker layout" aria-pressed=${speaker ? "true" : "false"} title=${speaker ? "Back to the grid" : "Speaker layout: the active speaker large"}
        @click=${() => stage.toggleLayout()}>${speakerLayoutIcon}</button>`;
  }
}

/** What the microphone and camera switches say and show. */
const MEDIA_SWITCHES = {
  audio: { name: "microphone", offLabel: "Mute microphone", action: "microphone", onIcon: micIcon, offIcon: micOffIcon },
  video: { name: "camera", offLabel: "Turn camera off", action: "camera", onIcon: cameraIcon, offIcon: cameraOffIcon },
} as const;

declare global {
  interface HTMLElementTagNameMap {
    "webrtc-room": WebRtcRoom;
  }
}

if (!customElements.get("webrtc-room")) {
  customElements.define("webrtc-room", WebRtcRoom);
}
