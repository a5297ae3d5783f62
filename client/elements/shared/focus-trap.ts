/**
 * Keeping the focus inside a modal `<dialog>`: the room's help and leave dialogs, the phone's
 * calling and incoming-call dialogs.
 */

/**
 * A dialog's `keydown` listener that keeps Tab and Shift+Tab cycling through the dialog's buttons:
 * a modal `<dialog>` makes the page inert, but Tab would still leave it for the browser's own UI.
 */
export function keepFocusIn(event: KeyboardEvent): void {
  const dialog = event.currentTarget;
  if (event.key !== "Tab" || !(dialog instanceof HTMLElement)) {
    return;
  }
  const buttons = [...dialog.querySelectorAll<HTMLElement>("button:not(:disabled)")];
  const root = dialog.getRootNode();
  const active = root instanceof ShadowRoot || root instanceof Document ? root.activeElement : null;
  const edge = event.shiftKey ? buttons[0] : buttons.at(-1);
  if (active === edge || !buttons.some((button) => button === active)) {
    event.preventDefault();
    (event.shiftKey ? buttons.at(-1) : buttons[0])?.focus();
  }
}
