/**
 * `<webrtc-phone>`: see who is online and call one person, in one tag.
 *
 * ```html
 * <script type="module" src="https://rooms.example.org/assets/webrtc-room.js"></script>
 * <webrtc-phone server="https://rooms.example.org"></webrtc-phone>
 * ```
 *
 * The element only renders; signing in, presence, calls and media live in {@link PhoneController}.
 */
import { LitElement, html, nothing, type PropertyDeclarations, type TemplateResult } from "lit";
import type { ChatMessage } from "../../core/chat.ts";
import { PhoneError, type CallState, type IceServer, type MissedCall, type PhoneWatch, type PresenceUser } from "../../core/phone.ts";
import { IncomingCallAlert } from "./incoming-alert.ts";
import { PhoneController } from "./phone-controller.ts";
import { PhonePhase } from "./phone-events.ts";
import { bellIcon, bellOffIcon, closeIcon, eyeIcon, phoneIcon, phoneMissedIcon } from "./phone-icons.ts";
import { phoneStyles } from "./phone-styles.ts";
import { CAMERA_OFFLINE_TEXT, DISCONNECTED_TEXT, STATUS_LABELS, failureText } from "./phone-text.ts";
import { chatStyles, chatTooLongText, renderChatPanel, renderChatToggle } from "../shared/chat-panel.ts";
import { keepFocusIn } from "../shared/focus-trap.ts";
import { hueOf, initials } from "../shared/avatar.ts";
import { LinkConnection, connectionStyles, renderConnectionBanner, renderDisconnectedPanel } from "../shared/connection-notice.ts";
import { cameraIcon, cameraOffIcon, leaveIcon, micIcon, micOffIcon, soundOffIcon, warningIcon } from "../shared/icons.ts";
import { attachStream } from "../shared/stream-directive.ts";

/**
 * One-to-one video calls with presence.
 *
 * Attributes and properties:
 * - `server`: the webrtc-room server, an `http(s)` or `ws(s)` URL. Default: the page's origin.
 * - `name`: the name the sign-in form starts with. Signing in with a name that is already online
 *   takes it over from the same browser (another tab, a reload: the tab signed in before is signed
 *   out); from anywhere else it is refused ("This user is signed in elsewhere").
 * - `accounts` (boolean): the server signs in with accounts (`--accounts`); the sign-in form asks for
 *   the user name and password (sent as `login.password`, kept in memory only). `/call` sets it.
 * - `iceServers` (property only): STUN/TURN servers for calls, `RTCIceServer` shape, used only when
 *   the server hands out none (it does whenever it is configured with STUN or TURN). Default: a
 *   public STUN server.
 * - `ringtone`: `off` rings incoming calls silently (the title still flashes). The lobby's bell
 *   button switches it for this browser, remembered over the attribute.
 *
 * An incoming call rings (a tone generated with Web Audio), flashes the tab's title ("Incoming
 * call from Ann") and, when the tab is hidden and the user allowed it, raises a system
 * notification; permission is asked when the user signs in from the form. A lost connection shows
 * "Reconnecting…" with the seconds left in the server's grace window, then "Reconnected", or
 * "You were disconnected" with Sign in again. In a call: the other party's camera off shows their
 * avatar and name, their microphone off a muted icon, and a chat panel talks over the call's data
 * channel.
 *
 * Watching: each person has a Watch button next to Call; the watched user is asked (Allow / Deny,
 * with "always allow this person") unless it allowed the watcher before, and sees who is watching
 * with a Stop button for each; the watcher sees the camera in a watch view with Stop. A watch and a
 * call do not block each other.
 *
 * Methods: `signIn(name?, password?)`, `signOut()`, `call(userID)`, `watch(userID)`, `hangUp()`, `sendChat(text)`.
 * Read-only properties: `state` (the current {@link PhonePhase}), `connection` (the link's
 * `LinkConnection`), `callState` (the core's `CallState` of the call in progress) and `self` (the
 * signed-in user's directory entry).
 *
 * @fires phone-state - `{ state, previous }`: `signed_out` → `signing_in` → `lobby` ⇄ `calling` / `ringing` / `in_call`, or `failed`
 * @fires incoming-call - `{ caller: { userID, username } }`
 * @fires call-ended - `{ remote, direction, reason, byLocal }`
 * @fires missed-call - `{ caller, reason }`: `cancelled` or `no_answer`
 * @fires connection-state - `{ state, previous, connection, graceRemainingMs? }`: as `<webrtc-room>`'s, with the phone's phases
 * @fires chat-message - `{ id, from, text, sentAtMs, receivedAtMs, own }` for every chat message of a call, sent or received
 * @fires error - `{ code, message }` (does not bubble)
 *
 * @cssprop --webrtc-room-* - The same theme properties as `<webrtc-room>`.
 *
 * @csspart lobby - The signed-in view: bar, notices and the list of people.
 * @csspart person - One person online; `call-button` and `watch-button` in it.
 * @csspart watch - A watch view: `watch-video` and its Stop button.
 * @csspart watch-request - A request to watch this user, with Allow and Deny.
 * @csspart watchers - Who is watching this user, with a Stop button each.
 * @csspart dialog - The "Calling…" and incoming-call dialogs (modal).
 * @csspart call - The call view: `remote-video`, `local-video`, `remote-muted`, `toolbar`, `chat`.
 * @csspart connection-notice - The "Reconnecting…" / "Reconnected" banner (with `notice`).
 * @csspart panel - The sign-in form and the failure message.
 */
export class WebRtcPhone extends LitElement {
  static override properties: PropertyDeclarations = {
    server: { type: String },
    name: { type: String },
    ringtone: { type: String },
    iceServers: { attribute: false },
    accounts: { type: Boolean },
  };

  static override styles = [phoneStyles, chatStyles, connectionStyles];

  /** Server URL; empty for the page's origin. */
  declare server: string;
  /** Initial value of the sign-in form's name. */
  declare name: string;
  /** ICE servers for calls; undefined for the default. */
  declare iceServers: IceServer[] | undefined;
  /** The server signs in with accounts: the form asks for a password too. */
  declare accounts: boolean;
  /** `off` rings silently unless the user switched the ringtone on here. */
  declare ringtone: string;

  readonly #phone = new PhoneController(this, () => ({ server: this.server, iceServers: this.iceServers, ringtone: this.ringtone }));
  /** The name typed last, kept across re-renders and failures. */
  #typedName: string | undefined;
  /** The refusal of the last chat message sent from the panel, shown under its field. */
  #chatError: string | undefined;
  /** The phase drawn last, to move the focus when it changes. */
  #renderedPhase: PhonePhase | undefined;

  constructor() {
    super();
    this.server = "";
    this.name = "";
    this.ringtone = "on";
    this.iceServers = undefined;
    this.accounts = false;
  }

  /** Where the link to the server stands: `connected`, `reconnecting`, `reconnected` or `disconnected`. */
  get connection(): LinkConnection {
    return this.#phone.connection;
  }

  /** What the element shows. */
  get state(): PhonePhase {
    return this.#phone.phase;
  }

  /** State of the call in progress, if any. */
  get callState(): CallState | undefined {
    return this.#phone.callState;
  }

  /** The signed-in user's own entry (id, name, status), once signed in. */
  get self(): PresenceUser | undefined {
    return this.#phone.self;
  }

  /** Signs in with `name` (default: what the form holds), and `password` on a server with accounts. */
  signIn(name: string = this.#typedName ?? this.name, password?: string): void {
    this.#typedName = name;
    this.#phone.signIn(name, password);
  }

  /** Hangs up any call and signs out. */
  signOut(): void {
    this.#phone.signOut();
  }

  /** Calls the online user `userID`. */
  call(userID: string): void {
    this.#phone.call(userID);
  }

  /** Asks to watch the online user `userID`'s camera. */
  watch(userID: string): void {
    this.#phone.watch(userID);
  }

  /** Ends the call in progress: cancels, declines or hangs up. */
  hangUp(): void {
    this.#phone.hangUp();
  }

  /**
   * Sends a chat message to the other party of the call (shown in the panel as this user's own).
   * Throws a `PhoneError`: `chat_too_long`, `chat_empty`, or `not_ready` without a call.
   */
  sendChat(text: string): ChatMessage {
    return this.#phone.sendChat(text);
  }

  /**
   * Opens a dialog just drawn as modal and keeps the focus in it (on its default button when it is
   * outside: a re-render must not leave it behind), and puts the focus somewhere sensible after a
   * phase change.
   */
  override updated(): void {
    const root = this.shadowRoot;
    const dialog = root?.querySelector("dialog");
    if (dialog && !dialog.open) {
      dialog.showModal();
    }
    if (dialog && !dialog.contains(root?.activeElement ?? null)) {
      dialog.querySelector<HTMLElement>("[autofocus]")?.focus();
    }
    const phase = this.#phone.phase;
    if (phase === this.#renderedPhase) {
      return;
    }
    this.#renderedPhase = phase;
    const active = document.activeElement;
    const lost = active === null || active === document.body || (active === this && !root?.activeElement);
    if (lost && phase === PhonePhase.inCall) {
      root?.querySelector<HTMLElement>('.toolbar [data-control]:not(:disabled)')?.focus();
    } else if (lost && phase === PhonePhase.lobby) {
      root?.querySelector<HTMLElement>(".people button:not(:disabled), .bar button")?.focus();
    }
  }

  override render(): TemplateResult {
    const phone = this.#phone;
    return html`${this.#renderPhase()}
      <div class="notices">${renderConnectionBanner(phone.connection, phone.graceRemainingMs)}</div>
      ${phone.connection === LinkConnection.disconnected && phone.self
        ? renderDisconnectedPanel(() => phone.signInAgain(), DISCONNECTED_TEXT)
        : nothing}
      <div class="visually-hidden" role="status" aria-live="polite" data-live-region>${phone.announcement}</div>`;
  }

  #renderPhase(): TemplateResult {
    const phase = this.#phone.phase;
    switch (phase) {
      case PhonePhase.signedOut:
      case PhonePhase.signingIn:
      case PhonePhase.failed:
        return this.#renderSignIn(phase);
      case PhonePhase.lobby:
        return this.#renderLobby();
      case PhonePhase.calling:
        return html`${this.#renderLobby()}${this.#renderCalling()}`;
      case PhonePhase.ringing:
        return html`${this.#renderLobby()}${this.#renderRinging()}`;
      case PhonePhase.inCall:
        return this.#renderCall();
    }
  }

  #renderSignIn(phase: PhonePhase): TemplateResult {
    const busy = phase === PhonePhase.signingIn;
    const failure = phase === PhonePhase.failed ? failureText(this.#phone.failure) : undefined;
    const onSubmit = (event: SubmitEvent): void => {
      event.preventDefault();
      const input = this.renderRoot.querySelector<HTMLInputElement>("input[name=name]");
      const name = input?.value.trim() ?? "";
      const password = this.renderRoot.querySelector<HTMLInputElement>("input[name=password]")?.value;
      if (name && (!this.accounts || password)) {
        // A click on Sign in is the user gesture a notification prompt needs; a load is not.
        IncomingCallAlert.askPermission();
        this.signIn(name, this.accounts ? password : undefined);
      }
    };
    return html`<div class="panel" part="panel">
      <form class="card" @submit=${onSubmit}>
        ${failure
          ? html`<h2>${failure.title}</h2><p role="alert">${failure.detail}</p>`
          : this.accounts
            ? html`<h2>Sign in to call</h2><p>Sign in with your user name and password.</p>`
            : html`<h2>Sign in to call</h2><p>Pick a name. Everyone online sees it and can call you.</p>`}
        <label>${this.accounts ? "User name" : "Your name"}
          <input name="name" autocomplete=${this.accounts ? "username" : "nickname"} maxlength="64" required placeholder="e.g. Ada"
            .value=${this.#typedName ?? this.name} ?disabled=${busy}
            @input=${(event: Event) => { this.#typedName = (event.target as HTMLInputElement).value; }}>
        </label>
        ${this.accounts
          ? html`<label>Password
              <input name="password" type="password" autocomplete="current-password" maxlength="128" required ?disabled=${busy}>
            </label>`
          : nothing}
        <button class="primary" type="submit" ?disabled=${busy}>${busy ? "Signing in…" : failure ? "Sign in again" : "Sign in"}</button>
      </form>
    </div>`;
  }

  #renderLobby(): TemplateResult {
    const phone = this.#phone;
    const self = phone.self;
    const others = phone.others;
    return html`<div class="lobby" part="lobby">
      <div class="bar">
        ${self ? renderAvatar(self.username, self.avatar, "small") : nothing}
        <div class="who">
          <span class="name">${self?.username ?? ""}</span>
          <span class="status"><span class="dot ${self?.status ?? "online"}"></span>${self ? STATUS_LABELS[self.status] : ""}</span>
        </div>
        <button class="ghost ringtone" data-control="ringtone" aria-pressed=${phone.ringtoneOn ? "true" : "false"}
          aria-label="Ringtone" title=${phone.ringtoneOn ? "Ringtone on: incoming calls ring aloud" : "Ringtone off: incoming calls ring silently"}
          @click=${() => phone.setRingtone(!phone.ringtoneOn)}>${phone.ringtoneOn ? bellIcon : bellOffIcon}</button>
        <button class="ghost" @click=${() => this.signOut()}>Sign out</button>
      </div>
      <div class="content">
        ${phone.missedCalls.length > 0 ? this.#renderMissed(phone.missedCalls) : nothing}
        ${phone.notice
          ? html`<div class="banner notice" role="status">
              <span>${phone.notice}</span>
              <button @click=${() => phone.dismissNotice()} aria-label="Dismiss">${closeIcon}</button>
            </div>`
          : nothing}
        ${this.#renderWatchBanners()}
        ${this.#renderWatchViews()}
        <h2 class="section">Online now · ${others.length}</h2>
        ${others.length === 0
          ? html`<div class="empty">Nobody else is online yet. Open this page in another tab or send its link to someone.</div>`
          : html`<ul class="people">${others.map((user) => this.#renderPerson(user))}</ul>`}
      </div>
    </div>`;
  }

  #renderMissed(missed: readonly MissedCall[]): TemplateResult {
    const phone = this.#phone;
    const latest = missed.slice(-3).reverse();
    return html`${latest.map((call, index) => html`<div class="banner missed" role="status" data-missed-from=${call.callerID}>
      ${phoneMissedIcon}
      <span>Missed call from <b>${call.username}</b> <span class="time">${formatTime(call.atMs)}</span></span>
      ${phone.canCall(call.callerID)
        ? html`<button @click=${() => { phone.dismissMissed(); phone.call(call.callerID); }}>${phoneIcon}Call back</button>`
        : nothing}
      ${index === 0 ? html`<button @click=${() => phone.dismissMissed()} aria-label="Dismiss missed calls">${closeIcon}</button>` : nothing}
    </div>`)}`;
  }

  #renderPerson(user: PresenceUser): TemplateResult {
    const phone = this.#phone;
    const callable = phone.canCall(user.userID);
    return html`<li class="person" part="person" data-user-id=${user.userID} data-status=${user.status}>
      ${renderAvatar(user.username, user.avatar)}
      <div class="who">
        <span class="name">${user.username}</span>
        <span class="status"><span class="dot ${user.status}"></span>${STATUS_LABELS[user.status]}</span>
      </div>
      <button class="call-button ${user.status === "online" ? "" : "busy"}" part="call-button" ?disabled=${!callable}
        title=${user.status === "online" ? `Call ${user.username}` : `${user.username} is ${STATUS_LABELS[user.status].toLowerCase()}`}
        aria-label=${`Call ${user.username}`}
        @click=${() => phone.call(user.userID)}>${phoneIcon}<span>Call</span></button>
      <button class="call-button watch-button" part="watch-button" ?disabled=${!phone.canWatch(user.userID)}
        title=${`Watch ${user.username}'s camera`} aria-label=${`Watch ${user.username}`}
        @click=${() => phone.watch(user.userID)}>${eyeIcon}<span>Watch</span></button>
    </li>`;
  }

  /** Requests to watch this user, and who is watching it: shown in the lobby and during a call. */
  #renderWatchBanners(): TemplateResult {
    const phone = this.#phone;
    const watchers = phone.watchers;
    return html`${phone.watchRequests.map((request) => {
      const name = request.from.username;
      const alwaysId = `always-${request.watchId}`;
      return html`<div class="banner watch-request" part="watch-request" role="group" aria-label=${`${name} asks to watch`}
          data-watch-request=${request.watchId}>
        ${eyeIcon}
        <span><b>${name}</b> wants to see your camera</span>
        <label class="always dim"><input type="checkbox" id=${alwaysId}>Always allow this person</label>
        <button class="ghost" @click=${() => phone.answerWatch(request.watchId, false)}>Deny</button>
        <button class="ghost" @click=${() => {
          const always = this.renderRoot.querySelector<HTMLInputElement>(`#${alwaysId}`)?.checked ?? false;
          phone.answerWatch(request.watchId, true, always);
        }}>Allow</button>
      </div>`;
    })}
    ${watchers.length > 0
      ? html`<div class="banner watchers" part="watchers" role="status" aria-label="Watching you">
          ${eyeIcon}
          <span>Watching you:</span>
          <ul>${watchers.map((watcher) => html`<li data-watcher=${watcher.userID}>${watcher.username}
            <button class="ghost" @click=${() => phone.stopWatch(watcher.watchId)} aria-label=${`Stop ${watcher.username} watching`}>Stop</button></li>`)}</ul>
        </div>`
      : nothing}`;
  }

  /** This user's watches of others: the camera, or the state of the request, with Stop. */
  #renderWatchViews(): TemplateResult | typeof nothing {
    const watching = this.#phone.watching;
    if (watching.length === 0) {
      return nothing;
    }
    return html`<div class="watches">${watching.map((watch: PhoneWatch) => {
      const name = watch.remote.username;
      return html`<section class="watch" part="watch" aria-label=${`Watching ${name}`} data-watching=${watch.remote.userID}>
        ${watch.remoteStream
          ? html`<video part="watch-video" autoplay playsinline
              ${attachStream(watch.remoteStream, { muted: this.#phone.soundBlocked, onSoundBlocked: () => this.#phone.reportSoundBlocked() })}></video>`
          : html`<div class="dim">${watch.state === "requesting" ? `Asking ${name}…` : "Connecting…"}</div>`}
        ${watch.remoteStream && this.#phone.soundBlocked
          ? html`<button class="sound" @click=${() => this.#phone.unblockSound()}>${soundOffIcon} Click to enable sound</button>`
          : nothing}
        ${this.#phone.isUnavailable(watch.remote.userID)
          ? html`<div class="camera-offline" part="camera-offline" role="status"><span aria-hidden="true">${cameraOffIcon}</span>${CAMERA_OFFLINE_TEXT}</div>`
          : nothing}
        <div class="watch-bar"><span class="name">${name}</span>
          <button class="ghost" @click=${() => watch.stop()} aria-label=${`Stop watching ${name}`}>Stop</button></div>
      </section>`;
    })}</div>`;
  }

  #renderCalling(): TemplateResult {
    const remote = this.#phone.remote;
    const name = remote?.username ?? "";
    const ringing = this.#phone.callState === "ringing";
    // Escape cancels, as the button does (the dialog's `cancel` event), and the dialog goes with the phase.
    const onCancel = (event: Event): void => {
      event.preventDefault();
      this.#phone.cancel();
    };
    return html`<dialog class="dialog" part="dialog" aria-label=${`Calling ${name}`} data-dialog="calling"
        @keydown=${keepFocusIn} @cancel=${onCancel}>
      ${renderAvatar(name, remote?.avatar, "big pulse")}
      <h2>Calling ${name}…</h2>
      <p>${ringing ? "Ringing" : "Starting your camera"}</p>
      <div class="actions">
        <button class="action decline" autofocus @click=${() => this.#phone.cancel()}>
          <span class="disc">${phoneIcon}</span>Cancel
        </button>
      </div>
    </dialog>`;
  }

  #renderRinging(): TemplateResult {
    const remote = this.#phone.remote;
    const name = remote?.username ?? "";
    // Escape declines, as the button does.
    const onCancel = (event: Event): void => {
      event.preventDefault();
      this.#phone.reject();
    };
    return html`<dialog class="dialog" part="dialog" role="alertdialog" aria-label=${`${name} is calling`} data-dialog="ringing"
        @keydown=${keepFocusIn} @cancel=${onCancel}>
      ${renderAvatar(name, remote?.avatar, "big pulse")}
      <h2>${name}</h2>
      <p>Incoming video call</p>
      <div class="actions">
        <button class="action decline" @click=${() => this.#phone.reject()}>
          <span class="disc">${phoneIcon}</span>Decline
        </button>
        <button class="action accept" autofocus @click=${() => this.#phone.accept()}>
          <span class="disc">${phoneIcon}</span>Accept
        </button>
      </div>
    </dialog>`;
  }

  #renderCall(): TemplateResult {
    const phone = this.#phone;
    const local = phone.local;
    const remote = phone.remote;
    const name = remote?.username ?? "";
    const connected = phone.callState === "active";
    const reconnecting = phone.callReconnecting;
    const remoteStream = phone.remoteStream;
    const remoteMedia = phone.remoteMedia;
    const remoteVideo = remoteMedia.video && (remoteStream?.getVideoTracks().length ?? 0) > 0;
    return html`<div class="call" part="call">
      ${this.#phone.watchRequests.length > 0 || this.#phone.watchers.length > 0 ? html`<div class="call-watch">${this.#renderWatchBanners()}</div>` : nothing}
      <div class="stage ${phone.chatOpen ? "chat-open" : ""}" style="--hue: ${hueOf(name)}">
        ${remoteStream
          ? html`<video part="remote-video" class=${remoteVideo ? "" : "hidden"} autoplay playsinline aria-label=${`${name}'s camera`}
              ${attachStream(remoteStream, { muted: phone.soundBlocked, onSoundBlocked: () => phone.reportSoundBlocked() })}></video>`
          : nothing}
        ${remoteVideo
          ? nothing
          : html`<div class="remote-off" data-remote-camera="off">${renderAvatar(name, remote?.avatar, "big")}<span class="name">${name}</span>
              ${connected ? html`<span class="dim">Camera off</span>` : nothing}</div>`}
        ${remoteMedia.audio
          ? nothing
          : html`<span class="remote-muted" part="remote-muted" role="img" aria-label=${`${name} is muted`} title=${`${name} is muted`}>${micOffIcon}</span>`}
        ${!connected
          ? html`<div class="chip"><span class="spinner"></span>Connecting…</div>`
          : reconnecting
            ? html`<div class="chip" data-call-connection="reconnecting"><span class="spinner"></span>Reconnecting to ${name}…</div>`
            : nothing}
        ${phone.soundBlocked
          ? html`<button class="sound" @click=${() => phone.unblockSound()}>${soundOffIcon} Click to enable sound</button>`
          : nothing}
        <div class="self">
          ${local.stream
            ? html`<video part="local-video" class=${local.videoOn ? "" : "hidden"} autoplay playsinline muted
                ${attachStream(local.stream, { muted: true })}></video>`
            : nothing}
          ${local.videoOn ? nothing : html`<div class="off">${local.hasVideo ? "Camera off" : html`${warningIcon} No camera`}</div>`}
        </div>
        ${phone.chatOpen ? this.#renderChat() : nothing}
      </div>
      <div class="toolbar" part="toolbar">
        <div class="who">
          <span class="name">${name}</span>
          <span class="status">${!connected ? "Connecting…" : reconnecting ? "Reconnecting…" : "Connected"}</span>
        </div>
        <div class="controls">
          <button class="control ${local.audioOn ? "" : "off"}" data-control="audio"
            aria-pressed=${local.audioOn ? "false" : "true"}
            title=${local.hasAudio ? (local.audioOn ? "Mute microphone" : "Unmute microphone") : "No microphone"}
            ?disabled=${!local.hasAudio} @click=${() => local.toggleAudio()}>${local.audioOn ? micIcon : micOffIcon}</button>
          <button class="control ${local.videoOn ? "" : "off"}" data-control="video"
            aria-pressed=${local.videoOn ? "false" : "true"}
            title=${local.hasVideo ? (local.videoOn ? "Turn camera off" : "Turn camera on") : "No camera"}
            ?disabled=${!local.hasVideo} @click=${() => local.toggleVideo()}>${local.videoOn ? cameraIcon : cameraOffIcon}</button>
          ${renderChatToggle(phone.chatOpen, phone.unreadChat, () => this.#toggleChat())}
          <button class="control hang-up" data-control="hang-up" title="Hang up"
            @click=${() => phone.hangUp()}>${leaveIcon}<span>Hang up</span></button>
        </div>
        <div class="spacer"></div>
      </div>
    </div>`;
  }

  /** Opens or closes the chat; an opened panel takes the focus into its field. */
  #toggleChat(): void {
    const open = !this.#phone.chatOpen;
    this.#phone.setChatOpen(open);
    if (open) {
      void this.updateComplete.then(() => this.shadowRoot?.querySelector<HTMLTextAreaElement>(".chat textarea")?.focus());
    }
  }

  #renderChat(): TemplateResult {
    const phone = this.#phone;
    return renderChatPanel({
      messages: phone.chatMessages,
      error: this.#chatError,
      canSend: phone.callState === "active" || phone.callState === "connecting",
      onClose: () => phone.setChatOpen(false),
      onSend: (text) => {
        try {
          phone.sendChat(text);
          this.#chatError = undefined;
          const field = this.shadowRoot?.querySelector("textarea");
          if (field) {
            field.value = "";
          }
        } catch (error) {
          this.#chatError = error instanceof PhoneError && error.code === "chat_too_long" ? chatTooLongText(text)
            : error instanceof Error ? `Not sent: ${error.message}` : String(error);
        }
        this.requestUpdate();
      },
    });
  }
}

/** A round avatar: the picture when there is one, else initials on a colour derived from the name. */
function renderAvatar(name: string, avatar: string | undefined, size = ""): TemplateResult {
  return html`<div class="avatar ${size}" style="--hue: ${hueOf(name)}" aria-hidden="true">
    ${avatar ? html`<img src=${avatar} alt="">` : initials(name)}
  </div>`;
}

/** `14:05`, in the user's locale. */
function formatTime(atMs: number): string {
  return new Date(atMs).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

declare global {
  interface HTMLElementTagNameMap {
    "webrtc-phone": WebRtcPhone;
  }
}

if (!customElements.get("webrtc-phone")) {
  customElements.define("webrtc-phone", WebRtcPhone);
}
