/**
 * What `<webrtc-room>` shows while its link to the room is not plain `connected`: a banner
 * "Reconnecting…" with the seconds left in the server's resume grace window, a short
 * "Reconnected", and, once the window is over, a panel over the stage that says so and offers
 * Rejoin (the session keeps trying by itself meanwhile). The live region announces the same
 * changes; these are not live regions themselves, so nothing is read twice.
 */
import { css, html, nothing, type TemplateResult } from "lit";
import { RoomConnection } from "./room-events.ts";

/** The banner for `connection`, or nothing when connected or disconnected (the panel covers that). */
export function renderConnectionBanner(connection: RoomConnection, graceRemainingMs: number | undefined): TemplateResult | typeof nothing {
  switch (connection) {
    case RoomConnection.reconnecting:
      return html`<div class="notice connection" part="notice connection-notice" data-connection="reconnecting">
        <span class="spinner" aria-hidden="true"></span><span>Connection lost. Reconnecting…${graceRemainingMs === undefined
          ? nothing
          : html` <span class="countdown">${Math.ceil(graceRemainingMs / 1_000)} s left to get back in</span>`}</span>
      </div>`;
    case RoomConnection.reconnected:
      return html`<div class="notice connection ok" part="notice connection-notice" data-connection="reconnected">Reconnected</div>`;
    case RoomConnection.connected:
    case RoomConnection.disconnected:
      return nothing;
  }
}

/** The panel over the stage once the grace window is over while still cut off. */
export function renderDisconnectedPanel(onRejoin: () => void): TemplateResult {
  return html`<div class="panel disconnected" part="panel" data-reason="disconnected">
    <div class="card">
      <h2>You were disconnected</h2>
      <p>The room gave up your place. Still trying to get you back in…</p>
      <button class="primary" @click=${onRejoin}>Rejoin</button>
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
