/**
 * Checks account credentials for `--auth accounts`: the user id and password of a `login` or of a
 * `new_user.account`, against the accounts file.
 *
 * What an attacker learns is bounded: a wrong password and an unknown user id get the same code
 * (`bad_credentials`) after the same work (an unknown id is checked against a dummy hash of the
 * default cost), keys are compared in constant time, and wrong attempts are counted in sliding
 * windows per account and per client address; a blocked account or address is refused
 * (`too_many_attempts`) before any scrypt work, its right password too. The password is never
 * kept, logged or put in a refusal.
 *
 * The file is read again when it changes (size, modification time or inode differ), so that
 * `webrtc-room user add` / `passwd` / `remove` take effect on the next sign-in without a restart;
 * a file that no longer parses is reported once and the accounts read before stay in force.
 */
import { stat } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import type { ErrorCode } from "../shared/protocol/index.ts";
import { FailureWindow, type FailureWindowOptions } from "./address-limits.ts";
import { hashAccountPassword, verifyAccountPassword } from "./account-passwords.ts";
import { AccountsFileError, DEFAULT_ACCOUNT_ROLE, readAccountsFile, type Account, type Accounts, type AccountRole } from "./accounts.ts";

/** Wrong passwords one account may get within {@link ACCOUNT_FAILURE_WINDOW_MS} before it is blocked. */
export const MAX_FAILURES_PER_ACCOUNT = 5;

/** Wrong passwords (any accounts) one client address may send within the window before it is blocked. */
export const MAX_FAILURES_PER_ADDRESS = 20;

/** The sliding window of both failure counts. */
export const ACCOUNT_FAILURE_WINDOW_MS = 60_000;

/** A signed-in account: its id, entry and role (the entry's, or {@link DEFAULT_ACCOUNT_ROLE}). */
export interface VerifiedAccount {
  userID: string;
  account: Account;
  role: AccountRole;
}

/** The result of a check: the account, or the stable code of the refusal and why. */
export type AccountVerdict = { ok: true; verified: VerifiedAccount } | { ok: false; code: ErrorCode; message: string };

/** What an {@link AccountVerifier} is made with. */
export interface AccountVerifierOptions {
  /** The accounts file. */
  path: string;
  perAccount?: FailureWindowOptions;
  perAddress?: FailureWindowOptions;
  /** Where a file that stopped parsing is reported (never a password). */
  log?: (text: string) => void;
}

/** What identifies one version of the file on disk. */
function versionOf(stats: { size: number; mtimeMs: number; ino: number }): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
}

/** Checks account credentials against the accounts file, with per-account and per-address failure windows. */
export class AccountVerifier {
  readonly #path: string;
  readonly #perAccount: FailureWindow;
  readonly #perAddress: FailureWindow;
  readonly #log: (text: string) => void;
  /** A hash no password is known for, checked for an unknown user id so that it costs what a known one does. */
  readonly #dummyHash: string;
  #accounts: Accounts;
  #version: string;
  /** The version of the file last reported as broken, so that it is reported once. */
  #reportedVersion: string | undefined;

  private constructor(options: AccountVerifierOptions, accounts: Accounts, version: string, dummyHash: string) {
    this.#path = options.path;
    this.#perAccount = new FailureWindow(options.perAccount ?? { maxFailures: MAX_FAILURES_PER_ACCOUNT, windowMs: ACCOUNT_FAILURE_WINDOW_MS });
    this.#perAddress = new FailureWindow(options.perAddress ?? { maxFailures: MAX_FAILURES_PER_ADDRESS, windowMs: ACCOUNT_FAILURE_WINDOW_MS });
    this.#log = options.log ?? ((text) => console.error(text));
    this.#accounts = accounts;
    this.#version = version;
    this.#dummyHash = dummyHash;
  }

  /** A verifier over the file at `options.path`; rejects with {@link AccountsFileError} when it cannot be read or parsed. */
  static async create(options: AccountVerifierOptions): Promise<AccountVerifier> {
    let version: string;
    try {
      version = versionOf(await stat(options.path));
    } catch (error) {
      throw new AccountsFileError(`${options.path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    const accounts = await readAccountsFile(options.path);
    const dummyHash = await hashAccountPassword(randomBytes(24).toString("base64"));
    return new AccountVerifier(options, accounts, version, dummyHash);
  }

  /** Number of accounts in force. */
  get size(): number {
    return this.#accounts.size;
  }

  /**
   * Checks `password` for `userID`, coming from client address `address` (its limit key) at
   * `nowMs` (a monotonic clock: `performance.now()`).
   */
  async verify(userID: string, password: string, address: string, nowMs: number): Promise<AccountVerdict> {
    const blockedForMs = Math.max(this.#perAccount.blockedForMs(userID, nowMs), this.#perAddress.blockedForMs(address, nowMs));
    if (blockedForMs > 0) {
      return { ok: false, code: "too_many_attempts", message: `too many wrong passwords; try again in ${Math.ceil(blockedForMs / 1000)} s` };
    }
    await this.#reloadIfChanged();
    const account = this.#accounts.get(userID);
    const matches = await verifyAccountPassword(password, account?.passwordHash ?? this.#dummyHash);
    if (account === undefined || !matches) {
      this.#perAccount.fail(userID, nowMs);
      this.#perAddress.fail(address, nowMs);
      return { ok: false, code: "bad_credentials", message: "wrong user name or password" };
    }
    return { ok: true, verified: { userID, account, role: account.role ?? DEFAULT_ACCOUNT_ROLE } };
  }

  /** Forgets failures that have left their windows (called with the server's other sweeps). */
  sweep(nowMs: number): void {
    this.#perAccount.sweep(nowMs);
    this.#perAddress.sweep(nowMs);
  }

  /** Reads the file again when it changed on disk; keeps the accounts in force when it no longer parses. */
  async #reloadIfChanged(): Promise<void> {
    let version: string;
    try {
      version = versionOf(await stat(this.#path));
    } catch (error) {
      this.#reportOnce("missing", `${this.#path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      return;
    }
    if (version === this.#version) {
      return;
    }
    try {
      this.#accounts = await readAccountsFile(this.#path);
      this.#version = version;
    } catch (error) {
      if (!(error instanceof AccountsFileError)) {
        throw error;
      }
      this.#reportOnce(version, error.message);
    }
  }

  #reportOnce(version: string, problem: string): void {
    if (this.#reportedVersion === version) {
      return;
    }
    this.#reportedVersion = version;
    this.#log(`webrtc-room: the accounts file cannot be used (${problem}); the accounts read before stay in force`);
  }
}
