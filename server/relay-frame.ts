/**
 * Relayed negotiation frames built from the bytes the sender sent.
 *
 * A relayed `send_offer`, `send_aswer` or `new_candidate` is the validated message plus the
 * server-stamped `id` and `username`. Serializing it again costs as much as parsing it did (a 4 KB
 * SDP is full of `\r\n` escapes), yet in the common case the received text already says exactly
 * what the validated message holds. {@link isVerbatim} proves that cheaply; the frame is then the
 * received bytes with the stamp written over the closing brace ({@link RelayStamps}).
 *
 * The proof counts JSON string tokens. If no `"` in the text follows a backslash, every `"` opens
 * or closes a string, so the text holds exactly half as many strings as quotes. `JSON.parse` turns
 * each member into a key, and each string token into a string value, except where a key repeats
 * (the earlier member is dropped); the schema then drops members it does not know (a forged `id`,
 * a `__proto__`). Each dropped member takes at least one string, its key, with it. So when the
 * validated message has as many keys and string values as the text has strings, nothing was
 * dropped: the text is that message, member for member. This holds only for schemas that validate
 * without transforming, as the relay schemas do (a test walks them to keep it so).
 */

/** ASCII codes the scans look at. */
const BACKSLASH = 0x5c;
const CLOSING_BRACE = 0x7d;

/**
 * Number of string tokens in `text`, a valid JSON text, or -1 when a `"` follows a backslash
 * (an escaped quote, or an escaped backslash closing a string: then quotes cannot be counted
 * naively, and the caller takes the slow path).
 */
export function countStringTokens(text: string): number {
  let quotes = 0;
  for (let index = text.indexOf('"'); index !== -1; index = text.indexOf('"', index + 1)) {
    if (text.charCodeAt(index - 1) === BACKSLASH) {
      return -1;
    }
    quotes += 1;
  }
  return quotes / 2;
}

/** Number of keys and string values `JSON.stringify(value)` would write. */
export function countJsonStrings(value: unknown): number {
  if (typeof value === "string") {
    return 1;
  }
  if (typeof value !== "object" || value === null) {
    return 0;
  }
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) {
      count += countJsonStrings(item);
    }
    return count;
  }
  for (const key in value) {
    const item: unknown = (value as Record<string, unknown>)[key];
    if (item !== undefined) {
      count += 1 + countJsonStrings(item);
    }
  }
  return count;
}

/**
 * True when `text` (the JSON text `validated` was parsed from) holds no member that `validated`
 * lacks, so that relaying `text` relays `validated` exactly. See the module comment for why.
 */
export function isVerbatim(text: string, validated: object): boolean {
  const tokens = countStringTokens(text);
  return tokens >= 0 && tokens === countJsonStrings(validated);
}

/**
 * Length of the JSON object text in `bytes` up to, not including, its closing brace: where the
 * stamp goes. `bytes` must hold a JSON object (trailing whitespace allowed).
 */
export function objectBodyLength(bytes: Uint8Array): number {
  let end = bytes.length - 1;
  while (end > 0 && bytes[end] !== CLOSING_BRACE) {
    end -= 1;
  }
  return end;
}

/** Most senders whose stamp is kept; past that the cache starts over, so memory stays bounded. */
const STAMP_CACHE_SIZE = 512;

/**
 * The stamp written over a relayed frame's closing brace: `,"id":…,"username":…}` as UTF-8. A
 * negotiation is a burst of frames from one sender, so the last few hundred senders' stamps are
 * kept rather than serialized and encoded for every frame.
 */
export class RelayStamps {
  readonly #encoder = new TextEncoder();
  readonly #cache = new Map<string, { username: string; bytes: Uint8Array }>();

  /** The stamp for sender `id` named `username`. */
  get(id: string, username: string): Uint8Array {
    const cached = this.#cache.get(id);
    if (cached && cached.username === username) {
      return cached.bytes;
    }
    if (this.#cache.size >= STAMP_CACHE_SIZE) {
      this.#cache.clear();
    }
    const bytes = this.#encoder.encode(`,"id":${JSON.stringify(id)},"username":${JSON.stringify(username)}}`);
    this.#cache.set(id, { username, bytes });
    return bytes;
  }
}
