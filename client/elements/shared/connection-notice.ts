/**
 * What an element shows while its link to the server is not plain `connected`: a banner
 * "Reconnecting…" with the seconds left in the server's resume grace window, a short
 * "Reconnected", and, once the window is over, a panel that says so and offers to get back in
 * (the session keeps trying by itself meanwhile). `<webrtc-room>` shows them over its stage,
 * `<webrtc-phone>` over its lobby or call. The live region announces the same changes; these are
 * not live regions themselves, so nothing is read twice.
 *
 * {@link ConnectionNotices} holds the state and its timers (the countdown, the end of
 * "Reconnected", the end of the grace window); the render functions only draw it.
 */
import { css, html, nothing, type TemplateResult } from "lit";

/**
 * Where an element's link to the server stands: `connected` while the signaling socket is up;
 * `reconnecting` from the loss of the socket (media between peers keeps flowing) for as long as
 * the server keeps this side's place (the resume grace window); `reconnected` when it got back in
 * (for {@link RECONNECTED_NOTICE_MS}, then `connected`); `disconnected` once the grace window is
 * over while still cut off, and whenever the element is not in a room or signed in.
 */
export const LinkConnection = {
  connected: "connected",
  reconnecting: "reconnecting",
  reconnected: "reconnected",
  disconnected: "disconnected",
} as const;

/** A value of {@link LinkConnection}. */
export type LinkConnection = (typeof LinkConnection)[keyof typeof LinkConnection];

/** How long "Reconnected" shows before the link counts as plain `connected`. */
export const RECONNECTED_NOTICE_MS = 4_000;

/** How often the grace countdown is redrawn. */
const COUNTDOWN_TICK_MS = 500;

/**
 * The {@link LinkConnection} of one element and its timers. The owner reports what the session
 * says ({@link ConnectionNotices.lost}, {@link ConnectionNotices.back}, {@link ConnectionNotices.reset});
 * `onChange` hears every change but a reset (to dispatch `connection-state` and announce it),
 * `onTick` every redraw of the countdown.
 */
export class ConnectionNotices {
  readonly #onChange: (connection: LinkConnection) => void;
  readonly #onTick: () => void;
  #connection: LinkConnection = LinkConnection.disconnected;
  /** When the server gives up this side's place, while `reconnecting` (epoch ms). */
  #graceEndsAtMs: number | undefined;
  /** The countdown's tick while `reconnecting`, or the end of the "Reconnected" notice. */
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(onChange: (connection: LinkConnection) => void, onTick: () => void) {
    this.#onChange = onChange;
    this.#onTick = onTick;
  }

  /** Where the link stands now. */
  get connection(): LinkConnection {
    return this.#connection;
  }

  /** While `reconnecting`: milliseconds left in the server's resume grace window, if it told one. */
  get graceRemainingMs(): number | undefined {
    return this.#graceEndsAtMs === undefined ? undefined : Math.max(0, this.#graceEndsAtMs - Date.now());
  }

  /** The socket was lost while `connected` (or `reconnected`): `reconnecting`, counting down `graceMs` when known. */
  lost(graceMs: number | undefined): void {
    if (this.#connection === LinkConnection.reconnecting || this.#connection === LinkConnection.disconnected) {
      return;
    }
    this.#set(LinkConnection.reconnecting, graceMs === undefined ? undefined : Date.now() + graceMs);
  }

  /** The session got back in: `reconnected`, then `connected`. */
  back(): void {
    this.#set(LinkConnection.reconnected);
  }

  /**
   * Sets `connection` with no notice and without `onChange` (joined, signed in, left, signed out:
   * the owner reports those with its phase).
   */
  reset(connection: typeof LinkConnection.connected | typeof LinkConnection.disconnected): void {
    this.#clearTimer();
    this.#connection = connection;
  }

  #set(connection: LinkConnection, graceEndsAtMs?: number): void {
    this.#clearTimer();
    this.#connection = connection;
    this.#graceEndsAtMs = graceEndsAtMs;
    switch (connection) {
      case LinkConnection.reconnecting:
        this.#timer = setInterval(() => {
          if (this.graceRemainingMs === 0) {
            this.#set(LinkConnection.disconnected);
          } else {
            this.#onTick();
          }
        }, COUNTDOWN_TICK_MS);
        break;
      case LinkConnection.reconnected:
        this.#timer = setTimeout(() => this.#set(LinkConnection.connected), RECONNECTED_NOTICE_MS);
        break;
      case LinkConnection.connected:
      case LinkConnection.disconnected:
        break;
    }
    this.#onChange(connection);
  }

  #clearTimer(): void {
    // One handle for both kinds: clearTimeout and clearInterval clear either.
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#graceEndsAtMs = undefined;
  }
}

/** The banner for `connection`, or nothing when connected or disconnected (the panel covers that). */
export function renderConnectionBanner(connection: LinkConnection, graceRemainingMs: number | undefined): TemplateResult | typeof nothing {
  switch (connection) {
    case LinkConnection.reconnecting:
      return html`<div class="notice connection" part="notice connection-notice" data-connection="reconnecting">
        <span class="spinner" aria-hidden="true"></span><span>Connection lost. Reconnecting…${graceRemainingMs === undefined
          ? nothing
          : html` <span class="countdown">${Math.ceil(graceRemainingMs / 1_000)} s left to get back in</span>`}</span>
      </div>`;
    case LinkConnection.reconnected:
      return html`<div class="notice connection ok" part="notice connection-notice" data-connection="reconnected">Reconnected</div>`;
    case LinkConnection.connected:
    case LinkConnection.disconnected:
      return nothing;
  }
}

/** What the disconnected panel says and offers: the room's text by default. */
export interface DisconnectedText {
  detail: string;
  action: string;
}

const ROOM_DISCONNECTED_TEXT: DisconnectedText = {
  detail: "The room gave up your place. Still trying to get you back in…",
  action: "Rejoin",
};

/** The panel shown once the grace window is over while still cut off. */
export function renderDisconnectedPanel(onAction: () => void, text: DisconnectedText = ROOM_DISCONNECTED_TEXT): TemplateResult {
  return html`<div class="panel disconnected" part="panel" data-reason="disconnected">
    <div class="card">
      <h2>You were disconnected</h2>
      <p>${text.detail}</p>
      <button class="primary" @click=${onAction}>${text.action}</button>
    </div>
  </div>`;
}

/** Styles of the banner and the panel. */
export const connectionStyles = css`
  .notice.connection.ok {
    background: rgb(10 40 22 / 0.88);
    border-color: rgb(48 196 108 / 0.45);
    color: #b7f0cc;
  }

  .panel.disconnected {
    position: absolute;
    z-index: 3;
    inset: 0;
    height: auto;
    background: color-mix(in srgb, var(--_bg) 92%, transparent);
  }
`;
