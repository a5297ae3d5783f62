/**
 * Display names as the server accepts them; the room's `name` attribute and the phone's sign-in
 * name both go through {@link displayName}.
 */
import { USERNAME_MAX_LENGTH } from "../../../shared/protocol/index.ts";
import { isDisplayableText, stripForbiddenCharacters } from "../../../shared/protocol/text.ts";

/** Name used when the `name` attribute is empty. */
export const DEFAULT_DISPLAY_NAME = "Guest";

/**
 * `name` made acceptable to the server (`docs/protocol.md`, text rules): characters it refuses
 * removed, trimmed, at most 64 characters, and {@link DEFAULT_DISPLAY_NAME} when nothing visible is left.
 */
export function displayName(name: string): string {
  // The second strip drops half a surrogate pair that the cut at 64 code units may leave.
  const cleaned = stripForbiddenCharacters(stripForbiddenCharacters(name).trim().slice(0, USERNAME_MAX_LENGTH)).trim();
  return isDisplayableText(cleaned) ? cleaned : DEFAULT_DISPLAY_NAME;
}
