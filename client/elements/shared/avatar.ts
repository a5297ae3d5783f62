/**
 * The letter avatar both elements show for a person without video: initials on a colour derived
 * from the name.
 */

/** Up to two initials of `name` (letters of its first and last words). */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const first = [...(words[0] ?? "?")][0] ?? "?";
  const last = words.length > 1 ? [...(words[words.length - 1] ?? "")][0] ?? "" : "";
  return (first + last).toUpperCase();
}

/** A stable hue (0–359) for `name`, so that each person keeps their avatar colour. */
export function hueOf(name: string): number {
  let hash = 0;
  for (const char of name) {
    hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  }
  return hash % 360;
}
