/**
 * Rules for the text people choose and other people see: display names (`username`) and user ids
 * (`userID`). They end up in every other client's directory, tiles and ringing dialogs, so the
 * server refuses what could hide, reorder or fake text there instead of trusting each client to
 * sanitize it.
 *
 * The rules refuse, they never rewrite (besides the usual trim): a user id compares exactly, and a
 * name silently changed by the server would not be the name its owner typed.
 */
import * as v from "valibot";

/**
 * Characters no name may contain:
 * - `\p{Cc}`: C0 and C1 control characters and DEL (U+0000–U+001F, U+007F–U+009F);
 * - `\p{Cs}`: a lone (unpaired) surrogate, which is not text at all (with the `u` flag a well-formed
 *   pair is one code point and does not match);
 * - `\p{Bidi_Control}`: the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
 *   U+2066–U+2069) that reorder what follows them, *and* the marks U+200E, U+200F, U+061C.
 *   The marks are harmless alone but are refused too: a name renders fine without them, and one
 *   rule ("no bidi controls") is easier to state and to check than a list of exceptions;
 * - `\p{Zl}` / `\p{Zp}`: the line and paragraph separators U+2028 and U+2029, line breaks in disguise;
 * - U+FFF9–U+FFFB: interlinear annotation controls, which hide the text between them.
 */
const FORBIDDEN_CHARACTER = /[\p{Cc}\p{Cs}\p{Bidi_Control}\p{Zl}\p{Zp}\uFFF9-\uFFFB]/u;

/**
 * Characters that render as nothing (or as a blank): `\p{Default_Ignorable_Code_Point}` (zero-width
 * space, ZWNJ, ZWJ, word joiner, U+FEFF, soft hyphen, U+180E, the Hangul fillers U+115F, U+1160,
 * U+3164, U+FFA0, variation selectors, tags…), `\p{White_Space}`, and U+2800 (braille pattern
 * blank, a visible-width blank that is neither). They are allowed inside a name (ZWJ builds emoji
 * sequences, ZWNJ is needed in Persian and Indic scripts) but a name made only of them is empty.
 */
const INVISIBLE_CHARACTERS = /[\p{Default_Ignorable_Code_Point}\p{White_Space}\u2800]/gu;

/** The kind of the first forbidden character in `text`, to name it in the refusal. */
function forbiddenKind(text: string): string | undefined {
  const match = FORBIDDEN_CHARACTER.exec(text);
  if (!match) {
    return undefined;
  }
  const char = match[0];
  if (/\p{Cc}/u.test(char)) {
    return "control characters";
  }
  if (/\p{Cs}/u.test(char)) {
    return "unpaired surrogates";
  }
  if (/\p{Bidi_Control}/u.test(char)) {
    return "bidirectional control characters";
  }
  return "line separators or annotation controls";
}

/** {@link FORBIDDEN_CHARACTER}, every occurrence. */
const FORBIDDEN_CHARACTERS = new RegExp(FORBIDDEN_CHARACTER.source, "gu");

/**
 * `text` without the characters the rules forbid. For clients that turn free input (a page
 * attribute, a typed name) into something the server accepts; the server itself refuses instead.
 */
export function stripForbiddenCharacters(text: string): string {
  return text.replace(FORBIDDEN_CHARACTERS, "");
}

/** True when `text` has at least one character that is not invisible (see {@link INVISIBLE_CHARACTERS}). */
export function hasVisibleCharacter(text: string): boolean {
  return text.replace(INVISIBLE_CHARACTERS, "").length > 0;
}

/**
 * True when `text` is acceptable as a display name or user id by the character rules alone: no
 * forbidden character and at least one visible one. Lengths are checked by the schemas.
 */
export function isDisplayableText(text: string): boolean {
  return !FORBIDDEN_CHARACTER.test(text) && hasVisibleCharacter(text);
}

/**
 * Schema of a name typed by a person, shown to others: trimmed, 1 to `maxLength` UTF-16 code units,
 * no forbidden character, at least one visible one. `field` names it in the refusal messages,
 * which the decoder sends back as `bad_message`.
 */
export function displayTextSchema(field: string, maxLength: number) {
  return v.pipe(
    v.string(),
    v.trim(),
    v.minLength(1, `${field} must not be empty`),
    v.maxLength(maxLength, `${field} must be at most ${maxLength} characters`),
    v.rawCheck(({ dataset, addIssue }) => {
      // An empty name has had its issue from `minLength` already.
      if (!dataset.typed || dataset.value.length === 0) {
        return;
      }
      const kind = forbiddenKind(dataset.value);
      if (kind !== undefined) {
        addIssue({ message: `${field} must not contain ${kind}` });
      } else if (!hasVisibleCharacter(dataset.value)) {
        addIssue({ message: `${field} must contain a visible character` });
      }
    }),
  );
}
