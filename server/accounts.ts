/**
 * The accounts file of `--auth accounts`: users with a scrypt password hash, a display name, an
 * optional avatar and a role, as one JSON object keyed by user id:
 *
 * ```json
 * { "ada": { "passwordHash": "$scrypt$ln=14,r=8,p=1$…$…", "displayName": "Ada", "role": "host" } }
 * ```
 *
 * A role stands for the grants a join token would carry ({@link joinGrantsOfRole}; every account
 * logs in as a login token with `call` and without `device` would), so that everything after sign-in is token mode with the account's
 * identity. Reading is strict (a file that does not parse is refused whole, naming the entry);
 * writing goes to a temporary file in the same directory, mode 0600, renamed over the old one, so
 * that a reader (the running server) never sees half a file.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import * as v from "valibot";
import { AvatarSchema, UserIdSchema } from "../shared/protocol/presence.ts";
import { UsernameSchema } from "../shared/protocol/room.ts";
import { isAccountPasswordHash } from "./account-passwords.ts";
import type { JoinGrants } from "./tokens.ts";

/**
 * What an account may do. `host`: joins every room as a host (lock, password, lobby, remove and
 * mute others) and skips lobbies; `member`: publishes and uses data channels; `viewer`: receives
 * only. Every role may log in, call and watch.
 */
export const ACCOUNT_ROLES = ["host", "member", "viewer"] as const;

/** One of {@link ACCOUNT_ROLES}. */
export type AccountRole = (typeof ACCOUNT_ROLES)[number];

/** The role of an account whose entry names none. */
export const DEFAULT_ACCOUNT_ROLE: AccountRole = "member";

/** The join grants of `role`: what a join token with these grants would allow. */
export function joinGrantsOfRole(role: AccountRole): JoinGrants {
  switch (role) {
    case "host":
      return { publish: true, data: true, host: true, hidden: false, bypassLobby: true };
    case "member":
      return { publish: true, data: true, host: false, hidden: false, bypassLobby: false };
    case "viewer":
      return { publish: false, data: true, host: false, hidden: false, bypassLobby: false };
  }
}

/** The user id every account file entry is keyed by: the `login.userID` rules. */
export const AccountIdSchema = UserIdSchema;

const AccountSchema = v.strictObject({
  passwordHash: v.pipe(v.string(), v.check(isAccountPasswordHash, "passwordHash must be a $scrypt$ln=…,r=…,p=…$salt$key string")),
  displayName: UsernameSchema,
  avatar: v.optional(AvatarSchema),
  role: v.optional(v.picklist(ACCOUNT_ROLES, `role must be one of ${ACCOUNT_ROLES.join(", ")}`)),
});

/** One account as the file holds it. */
export type Account = v.InferOutput<typeof AccountSchema>;

/** Every account by user id. */
export type Accounts = Map<string, Account>;

/** Thrown for an accounts file that cannot be read or does not parse; `message` says where. */
export class AccountsFileError extends Error {
  override name = "AccountsFileError";
}

/** The accounts in `text` (the file's content); {@link AccountsFileError} naming the first fault. */
export function parseAccounts(text: string): Accounts {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new AccountsFileError(`not JSON (${(error as Error).message})`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new AccountsFileError("must be a JSON object of accounts keyed by user id");
  }
  const accounts: Accounts = new Map();
  for (const [userID, entry] of Object.entries(data)) {
    const id = v.safeParse(AccountIdSchema, userID);
    if (!id.success || id.output !== userID) {
      throw new AccountsFileError(`"${userID.slice(0, 64)}" is not a user id (1 to 64 printable characters, no spaces around)`);
    }
    const parsed = v.safeParse(AccountSchema, entry);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const path = issue.path?.map((item) => String(item.key)).join(".");
      throw new AccountsFileError(`account "${userID}": ${path ? `${path}: ` : ""}${issue.message}`);
    }
    accounts.set(userID, parsed.output);
  }
  return accounts;
}

/** The file's text for `accounts`: sorted by user id, two-space indented, one newline at the end. */
export function serializeAccounts(accounts: Accounts): string {
  const sorted = [...accounts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${JSON.stringify(Object.fromEntries(sorted), null, 2)}\n`;
}

/**
 * Reads the accounts at `path`. A file that does not exist is no accounts when `missingIsEmpty`
 * (the CLI's first `user add`), an {@link AccountsFileError} otherwise, like any other fault.
 */
export async function readAccountsFile(path: string, options: { missingIsEmpty?: boolean } = {}): Promise<Accounts> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && options.missingIsEmpty === true) {
      return new Map();
    }
    throw new AccountsFileError(`${path}: cannot read it (${code ?? String(error)})`);
  }
  try {
    return parseAccounts(text);
  } catch (error) {
    throw error instanceof AccountsFileError ? new AccountsFileError(`${path}: ${error.message}`) : error;
  }
}

/** Mode of the accounts file: its owner reads and writes, nobody else reads (hashes are offline-guessable). */
export const ACCOUNTS_FILE_MODE = 0o600;

/**
 * Writes `accounts` to `path` atomically: a temporary file beside it (mode 0600, flushed to disk),
 * then renamed over `path`. On failure the old file is left as it was and the temporary one removed.
 */
export async function writeAccountsFile(path: string, accounts: Accounts): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temporary, "wx", ACCOUNTS_FILE_MODE);
    try {
      await handle.writeFile(serializeAccounts(accounts), "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new AccountsFileError(`${path}: cannot write it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}
