/**
 * What only hosts see in `<webrtc-room>`: the room's settings (lock, password, lobby) behind a
 * toolbar button, the lobby's waiting list, and the actions on another participant's tile. Pure
 * templates: the element keeps which popover is open, the controller does what the buttons ask.
 */
import { html, nothing, type TemplateResult } from "lit";
import { live } from "lit/directives/live.js";
import type { MuteKind, RoomState } from "../../core/index.ts";
import { cameraOffIcon, micOffIcon, moreIcon, settingsIcon } from "../shared/icons.ts";
import type { ParticipantInfo } from "./room-events.ts";

/** What the room settings control shows and does. */
export interface RoomSettingsView {
  open: boolean;
  state: RoomState;
  /** How many wait in the lobby (the button's badge). */
  waitingCount: number;
  onToggle: () => void;
  onLock: (locked: boolean) => void;
  onLobby: (enabled: boolean) => void;
  /** A new password, or `null` to clear it. */
  onPassword: (password: string | null) => void;
}

/** The "Room settings" toolbar button and, when open, its panel. */
export function renderRoomSettings(view: RoomSettingsView): TemplateResult {
  const { state } = view;
  const label = view.waitingCount > 0 ? `Room settings, ${view.waitingCount} waiting` : "Room settings";
  const onSwitch = (apply: (on: boolean) => void) => (event: Event): void => {
    if (event.currentTarget instanceof HTMLInputElement) {
      apply(event.currentTarget.checked);
    }
  };
  const onSubmit = (event: SubmitEvent): void => {
    event.preventDefault();
    const form = event.currentTarget;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    const input = form.elements.namedItem("room-password");
    if (input instanceof HTMLInputElement && input.value) {
      view.onPassword(input.value);
      // Never kept, never shown again: the room state only says that a password is set.
      form.reset();
    }
  };
  return html`<div class="settings">
    <button
      class="control"
      part="control control-settings"
      data-control="settings"
      aria-label=${label}
      title=${label}
      aria-expanded=${view.open ? "true" : "false"}
      aria-controls="room-settings"
      @click=${view.onToggle}
    >${settingsIcon}${view.waitingCount > 0 ? html`<span class="badge" aria-hidden="true">${view.waitingCount}</span>` : nothing}</button>
    ${view.open
      ? html`<div class="popover" part="settings" id="room-settings" role="group" aria-label="Room settings">
          <label class="switch">
            <input type="checkbox" role="switch" name="locked" .checked=${live(state.locked)} @change=${onSwitch(view.onLock)}>
            <span>Lock room<small>Nobody else can join, even with the link.</small></span>
          </label>
          <label class="switch">
            <input type="checkbox" role="switch" name="lobby" .checked=${live(state.lobby)} @change=${onSwitch(view.onLobby)}>
            <span>Lobby<small>Newcomers wait until a host lets them in.</small></span>
          </label>
          <form class="room-password" @submit=${onSubmit}>
            <label for="room-password">Password <small>${state.passwordSet ? "(set)" : "(none)"}</small></label>
            <div class="row">
              <input id="room-password" name="room-password" type="password" autocomplete="new-password" maxlength="128" required>
              <button type="submit">Set</button>
            </div>
            ${state.passwordSet
              ? html`<button type="button" class="link" @click=${() => view.onPassword(null)}>Clear password</button>`
              : nothing}
          </form>
        </div>`
      : nothing}
  </div>`;
}

/** The lobby's waiting list with Admit and Deny per person; nothing when nobody waits. */
export function renderLobby(
  waiting: readonly ParticipantInfo[],
  onAdmit: (id: string) => void,
  onDeny: (id: string) => void,
): TemplateResult | typeof nothing {
  if (waiting.length === 0) {
    return nothing;
  }
  return html`<section class="lobby" part="lobby" aria-labelledby="lobby-title">
    <h3 id="lobby-title">Waiting in the lobby <span class="badge">${waiting.length}</span></h3>
    <ul>
      ${waiting.map(
        (person) => html`<li data-waiting-id=${person.id}>
          <span class="name">${person.username}</span>
          <button class="admit" aria-label="Admit ${person.username}" @click=${() => onAdmit(person.id)}>Admit</button>
          <button class="deny" aria-label="Deny ${person.username}" @click=${() => onDeny(person.id)}>Deny</button>
        </li>`,
      )}
    </ul>
  </section>`;
}

/** What a host can do to one remote participant, from its tile. */
export interface TileActionsView {
  id: string;
  name: string;
  /** The menu is open. */
  open: boolean;
  /** The menu asks to confirm the removal. */
  confirmingRemoval: boolean;
  onToggle: () => void;
  onMute: (kind: MuteKind) => void;
  onAskRemoval: () => void;
  onRemove: () => void;
  onCancel: () => void;
}

/** The host's menu button on a remote tile and, when open, its actions (removal asks first). */
export function renderTileActions(view: TileActionsView): TemplateResult {
  const label = `Host actions for ${view.name}`;
  const menu = view.confirmingRemoval
    ? html`<p>Remove ${view.name} from the room?</p>
        <button class="danger" @click=${view.onRemove}>Remove</button>
        <button @click=${view.onCancel}>Cancel</button>`
    : html`<button @click=${() => view.onMute("audio")}>${micOffIcon}Mute microphone</button>
        <button @click=${() => view.onMute("video")}>${cameraOffIcon}Turn off camera</button>
        <button class="danger" @click=${view.onAskRemoval}>Remove from room</button>`;
  return html`<div class="tile-actions" part="tile-actions">
    <button class="menu-button" data-menu-for=${view.id} aria-label=${label} title=${label} aria-expanded=${view.open ? "true" : "false"} @click=${view.onToggle}>
      ${moreIcon}
    </button>
    ${view.open ? html`<div class="menu" role="group" aria-label=${label}>${menu}</div>` : nothing}
  </div>`;
}
