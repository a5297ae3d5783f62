/**
 * Account password hashes: scrypt (node:crypto) with the salt and the cost parameters written into
 * the stored string, so that raising the cost later leaves existing hashes verifiable.
 *
 * The string follows the PHC string format: `$scrypt$ln=14,r=8,p=1$<salt>$<key>`, with `ln` the
 * base-2 logarithm of N and salt and key in base64 without padding. Deriving runs on libuv's thread
 * pool (asynchronous), and keys are compared with `timingSafeEqual`.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/** Bytes of random salt per password. */
const SALT_BYTES = 16;

/** Length of the derived key, in bytes. */
const KEY_BYTES = 32;

/** Cost of new hashes: N = 2^14, r = 8, p = 1 (16 MiB, tens of milliseconds), OWASP's floor for scrypt. */
export const DEFAULT_SCRYPT_COST: ScryptCost = { log2N: 14, r: 8, p: 1 };

/**
 * Bounds on the parameters a stored hash may carry. A file is the operator's, but a typo must not
 * make one login take a gigabyte of memory or a minute of CPU: past these it is not a hash.
 */
const MAX_LOG2_N = 20;
const MAX_BLOCK_SIZE = 32;
const MAX_PARALLELISM = 16;
/** Most memory one derivation may take (scrypt needs 128·N·r bytes): 256 MiB, 16 times the default cost's. */
const MAX_SCRYPT_MEMORY_BYTES = 256 * 1024 * 1024;

/** scrypt's cost parameters: N as its base-2 logarithm, block size r, parallelism p. */
export interface ScryptCost {
  log2N: number;
  r: number;
  p: number;
}

/** A parsed hash string: its cost, salt and key. */
interface ParsedHash {
  cost: ScryptCost;
  salt: Buffer;
  key: Buffer;
}

const HASH_PATTERN = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]{16,})\$([A-Za-z0-9+/]{16,})$/;

/** The parts of `hash`, or undefined when it is not a well-formed scrypt hash within the bounds. */
function parseHash(hash: string): ParsedHash | undefined {
  const match = HASH_PATTERN.exec(hash);
  if (!match) {
    return undefined;
  }
  const cost = { log2N: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  if (cost.log2N < 1 || cost.log2N > MAX_LOG2_N || cost.r < 1 || cost.r > MAX_BLOCK_SIZE || cost.p < 1 || cost.p > MAX_PARALLELISM) {
    return undefined;
  }
  if (scryptMemoryBytes(cost) > MAX_SCRYPT_MEMORY_BYTES) {
    return undefined;
  }
  return { cost, salt: Buffer.from(match[4] ?? "", "base64"), key: Buffer.from(match[5] ?? "", "base64") };
}

/** True when `hash` is a password hash {@link verifyAccountPassword} can check. */
export function isAccountPasswordHash(hash: string): boolean {
  return parseHash(hash) !== undefined;
}

/** The memory one derivation at `cost` needs, in bytes. */
function scryptMemoryBytes(cost: ScryptCost): number {
  return 128 * 2 ** cost.log2N * cost.r;
}

/** Derives `length` bytes from `password` (NFC-normalized) under `salt` at `cost`. */
function derive(password: string, salt: Buffer, cost: ScryptCost, length: number): Promise<Buffer> {
  const N = 2 ** cost.log2N;
  // node refuses past `maxmem` (32 MiB by default): allow what the cost asks for, with room for node's own bookkeeping.
  const options: ScryptOptions = { N, r: cost.r, p: cost.p, maxmem: 2 * scryptMemoryBytes(cost) };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Base64 without padding, as the PHC string format writes it. */
function unpadded(bytes: Buffer): string {
  return bytes.toString("base64").replace(/=+$/, "");
}

/** Hashes `password` under a fresh random salt at `cost`. */
export async function hashAccountPassword(password: string, cost: ScryptCost = DEFAULT_SCRYPT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, cost, KEY_BYTES);
  return `$scrypt$ln=${cost.log2N},r=${cost.r},p=${cost.p}$${unpadded(salt)}$${unpadded(key)}`;
}

/**
 * True when `password` is the one `hash` was made from. A malformed hash matches no password; the
 * comparison takes the same time wherever the keys differ.
 */
export async function verifyAccountPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parseHash(hash);
  if (parsed === undefined) {
    return false;
  }
  const key = await derive(password, parsed.salt, parsed.cost, parsed.key.length);
  return timingSafeEqual(key, parsed.key);
}
