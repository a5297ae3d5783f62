/**
 * Keeping the focus inside a modal `<dialog>`: the room's help, leave and devices dialogs, the
 * phone's calling and incoming-call dialogs.
 */

/**
 * A dialog's `keydown` listener that keeps Tab and Shift+Tab cycling through the dialog's buttons
 * and selects (the devices dialog's pickers): a modal `<dialog>` makes the page inert, but Tab
 * would still leave it for the browser's own UI.
 */
export function keepFocusIn(event: KeyboardEvent): void {
  const dialog = event.currentTarget;
  if (event.key !== "Tab" || !(dialog instanceof HTMLElement)) {
    return;
  }
  const controls = [...dialog.querySelectorAll<HTMLElement>("button:not(:disabled), select:not(:disabled)")];
  const root = dialog.getRootNode();
  const active = root instanceof ShadowRoot || root instanceof Document ? root.activeElement : null;
  const edge = event.shiftKey ? controls[0] : controls.at(-1);
  if (active === edge || !controls.some((control) => control === active)) {
    event.preventDefault();
    (event.shiftKey ? controls.at(-1) : controls[0])?.focus();
  }
}
