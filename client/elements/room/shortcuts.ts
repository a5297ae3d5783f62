/**
 * The keyboard shortcuts of `<webrtc-room>` and the dialogs they open: the `?` help panel that
 * lists them, and the confirmation before leaving. The keys are single characters, so they act
 * only while the focus is inside the element (WCAG 2.1.4) and never while typing in a field.
 */
import { html, type TemplateResult } from "lit";

/** What a shortcut does. */
export type ShortcutAction = "microphone" | "camera" | "chat" | "leave" | "help";

/** One shortcut: its key (as `KeyboardEvent.key`, lower case), what it does, and how the help panel says it. */
export interface Shortcut {
  key: string;
  action: ShortcutAction;
  description: string;
}

/** Every shortcut, in the help panel's order. */
export const ROOM_SHORTCUTS: readonly Shortcut[] = [
  { key: "m", action: "microphone", description: "Mute or unmute the microphone" },
  { key: "v", action: "camera", description: "Turn the camera off or on" },
  { key: "c", action: "chat", description: "Open or close the chat" },
  { key: "l", action: "leave", description: "Leave the room (asks first)" },
  { key: "?", action: "help", description: "Show these shortcuts" },
];

/** The parts of a `keydown` that decide whether it is a shortcut. */
export interface ShortcutKey {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  /** The focus is in a text field (input, textarea, select, contenteditable): keys are typing. */
  typing: boolean;
}

/** The shortcut `event` presses, if any: no Ctrl, Meta or Alt, not while typing. */
export function shortcutFor(event: ShortcutKey): ShortcutAction | undefined {
  if (event.ctrlKey || event.metaKey || event.altKey || event.typing) {
    return undefined;
  }
  const key = event.key.toLowerCase();
  return ROOM_SHORTCUTS.find((shortcut) => shortcut.key === key)?.action;
}

/** The key of `action` as the user sees it (`M`), for `aria-keyshortcuts` and tooltips. */
export function shortcutKey(action: ShortcutAction): string {
  return ROOM_SHORTCUTS.find((shortcut) => shortcut.action === action)?.key.toUpperCase() ?? "";
}

/** True when `target` (the innermost element of a key event's composed path) takes typed text. */
export function isTextField(target: EventTarget | undefined): boolean {
  if (!(target instanceof HTMLElement)) {
    return false;
  }
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) {
    return true;
  }
  return target instanceof HTMLInputElement && !["checkbox", "radio", "button", "submit", "reset"].includes(target.type);
}

/** A dialog the room can show: the shortcuts, or "leave the room?". */
export type RoomDialog = "help" | "leave";

/** The contents of dialog `kind`; `onClose` closes it, `onLeave` leaves the room. */
export function renderDialog(kind: RoomDialog, onClose: () => void, onLeave: () => void): TemplateResult {
  if (kind === "leave") {
    return html`<h2 id="dialog-title">Leave the room?</h2>
      <p>Your camera and microphone will turn off.</p>
      <div class="actions">
        <button autofocus @click=${onClose}>Stay</button>
        <button class="primary danger" @click=${onLeave}>Leave</button>
      </div>`;
  }
  return html`<h2 id="dialog-title">Keyboard shortcuts</h2>
    <dl>
      ${ROOM_SHORTCUTS.map((shortcut) => html`<dt><kbd>${shortcut.key.toUpperCase()}</kbd></dt><dd>${shortcut.description}</dd>`)}
    </dl>
    <p>They work while the focus is in the room, not while typing.</p>
    <div class="actions"><button class="primary" autofocus @click=${onClose}>Close</button></div>`;
}
