/**
 * Room passwords: stored only as a scrypt key with a random salt, compared in constant time.
 *
 * The password itself never reaches the room registry, a message or a log: a host's
 * `room_settings.password` becomes a {@link RoomPasswordHash} here, and a joiner's
 * `new_user.password` becomes a key derived with the room's salt, which the registry compares with
 * the stored one ({@link passwordKeysMatch}). Deriving is asynchronous (libuv's thread pool), so a
 * join with a password does not hold up the event loop for the 16 MiB of memory-hard work.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** Bytes of random salt per password. */
const SALT_BYTES = 16;

/** Length of the derived key, in bytes. */
const KEY_BYTES = 32;

/** scrypt cost: N = 2^14, r = 8 (16 MiB, tens of milliseconds), node:crypto's defaults and OWASP's floor. */
const SCRYPT_OPTIONS = { N: 16_384, r: 8, p: 1 } as const;

/** A stored room password: salt and derived key, both base64, so that any store can hold them as text. */
export interface RoomPasswordHash {
  salt: string;
  key: string;
}

/** Derives the key of `password` under `salt` (base64), as base64. */
export function derivePasswordKey(password: string, salt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), Buffer.from(salt, "base64"), KEY_BYTES, SCRYPT_OPTIONS, (error, key) => {
      if (error) {
        reject(error);
      } else {
        resolve(key.toString("base64"));
      }
    });
  });
}

/** Hashes a new room password under a fresh random salt. */
export async function hashRoomPassword(password: string): Promise<RoomPasswordHash> {
  const salt = randomBytes(SALT_BYTES).toString("base64");
  return { salt, key: await derivePasswordKey(password, salt) };
}

/** True when two derived keys (base64) are equal, compared in time independent of where they differ. */
export function passwordKeysMatch(expected: string, given: string): boolean {
  const a = Buffer.from(expected, "base64");
  const b = Buffer.from(given, "base64");
  return a.length === b.length && timingSafeEqual(a, b);
}
