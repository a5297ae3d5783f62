/**
 * `webrtc-room user add | passwd | remove | list`: manages the accounts file of `--auth accounts`
 * (server/accounts.ts) on the machine that runs the server.
 *
 * Passwords are read from the terminal without echo, or as the first line of standard input when it
 * is not a terminal (scripts, tests). Node's own `readline` does the terminal part: a line editor
 * whose output goes through a stream that swallows what is typed, so no dependency is needed for it.
 */
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import * as v from "valibot";
import { AccountPasswordSchema } from "../shared/protocol/accounts.ts";
import { AvatarSchema } from "../shared/protocol/presence.ts";
import { UsernameSchema } from "../shared/protocol/room.ts";
import { hashAccountPassword } from "../server/account-passwords.ts";
import {
  ACCOUNT_ROLES,
  AccountIdSchema,
  AccountsFileError,
  DEFAULT_ACCOUNT_ROLE,
  readAccountsFile,
  writeAccountsFile,
} from "../server/accounts.ts";

/** The accounts file the user commands use when neither `--accounts` nor `WEBRTC_ROOM_ACCOUNTS` names one. */
export const DEFAULT_ACCOUNTS_PATH = "accounts.json";

const USER_USAGE = `Usage: webrtc-room user add NAME [--display-name N] [--role R] [--avatar URL]
       webrtc-room user passwd NAME
       webrtc-room user remove NAME
       webrtc-room user list

Manages the accounts of a server running with --accounts FILE (--auth accounts).
The password is asked for on the terminal without echo (twice), or read as the
first line of standard input when that is not a terminal.

Options:
  --accounts FILE     the accounts file (default: WEBRTC_ROOM_ACCOUNTS, else ./${DEFAULT_ACCOUNTS_PATH})
  --display-name N    add: the name others see (default: NAME)
  --role R            add: ${ACCOUNT_ROLES.join(", ")} (default ${DEFAULT_ACCOUNT_ROLE}): host hosts every room,
                      viewer joins rooms without sending media
  --avatar URL        add: an https: URL or a /path on the server

Exit codes: 0 done, 1 the account or file is not as the command needs, 2 bad usage.
`;

/** Exit code of a command that ran as invoked but could not be done (unknown user, unreadable file…). */
const FAILURE_EXIT_CODE = 1;

/** Exit code of a command that cannot run as invoked. */
const USAGE_EXIT_CODE = 2;

/** Why a user command stopped, and with which exit code. */
class UserCommandError extends Error {
  override name = "UserCommandError";
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Where the user commands read passwords from and write to; the process's own streams by default. */
export interface UserCommandIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * Asks each of `prompts` in turn on a terminal, the typed characters not shown, through one line
 * editor (two would lose what was typed ahead of the second); rejects on Ctrl-C or end of input.
 */
function readHiddenLines(io: UserCommandIo, prompts: readonly string[]): Promise<string[]> {
  let muted = false;
  const echo = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) {
        io.stderr.write(chunk);
      }
      done();
    },
  });
  const lines = createInterface({ input: io.stdin, output: echo, terminal: true });
  const answers: string[] = [];
  return new Promise((resolve, reject) => {
    const ask = (): void => {
      const prompt = prompts[answers.length];
      if (prompt === undefined) {
        lines.close();
        resolve(answers);
        return;
      }
      muted = false;
      lines.question(prompt, (answer) => {
        io.stderr.write("\n");
        answers.push(answer);
        ask();
      });
      // The prompt is out; everything echoed from here on is the password.
      muted = true;
    };
    lines.on("SIGINT", () => lines.close());
    lines.on("close", () => {
      if (answers.length < prompts.length) {
        io.stderr.write("\n");
        reject(new UserCommandError("no password given", FAILURE_EXIT_CODE));
      }
    });
    ask();
  });
}

/** The first line of a standard input that is not a terminal (without its line ending). */
async function readFirstLine(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of stdin) {
    text += typeof chunk === "string" ? chunk : (chunk as Buffer).toString("utf8");
    if (text.includes("\n")) {
      break;
    }
  }
  return text.split(/\r?\n/, 1)[0] ?? "";
}

/** A new password for `userID`: asked twice on a terminal, one line of stdin otherwise; checked against the wire's bounds. */
async function readNewPassword(io: UserCommandIo, userID: string): Promise<string> {
  let password: string;
  if (io.stdin.isTTY === true) {
    const [first = "", again] = await readHiddenLines(io, [`Password for ${userID}: `, "Repeat it: "]);
    password = first;
    if (again !== password) {
      throw new UserCommandError("the two passwords differ; nothing changed", FAILURE_EXIT_CODE);
    }
  } else {
    password = await readFirstLine(io.stdin);
  }
  const checked = v.safeParse(AccountPasswordSchema, password);
  if (!checked.success) {
    throw new UserCommandError(`${checked.issues[0].message}; nothing changed`, FAILURE_EXIT_CODE);
  }
  return password;
}

/** `value` checked by `schema`, or a usage error naming `what`. */
function checked<Output>(schema: v.GenericSchema<unknown, Output>, value: string, what: string): Output {
  const result = v.safeParse(schema, value);
  if (!result.success) {
    throw new UserCommandError(`${what}: ${result.issues[0].message}`, USAGE_EXIT_CODE);
  }
  return result.output;
}

/** A user id as the file keys it: the `login.userID` rules, and no spaces around it (the wire trims them). */
function accountId(name: string | undefined, subcommand: string): string {
  if (name === undefined) {
    throw new UserCommandError(`user ${subcommand} needs the user NAME`, USAGE_EXIT_CODE);
  }
  const id = checked(AccountIdSchema, name, "NAME");
  if (id !== name) {
    throw new UserCommandError("NAME must not start or end with spaces", USAGE_EXIT_CODE);
  }
  return id;
}

/** Reads the file, turning a fault into a {@link UserCommandError}. */
async function readAccounts(path: string, missingIsEmpty: boolean): ReturnType<typeof readAccountsFile> {
  try {
    return await readAccountsFile(path, { missingIsEmpty });
  } catch (error) {
    throw error instanceof AccountsFileError ? new UserCommandError(error.message, FAILURE_EXIT_CODE) : error;
  }
}

/** Writes the file, turning a fault into a {@link UserCommandError}. */
async function writeAccounts(path: string, accounts: Awaited<ReturnType<typeof readAccountsFile>>): Promise<void> {
  try {
    await writeAccountsFile(path, accounts);
  } catch (error) {
    throw error instanceof AccountsFileError ? new UserCommandError(error.message, FAILURE_EXIT_CODE) : error;
  }
}

/** Runs `webrtc-room user …`; resolves with the exit code. */
export async function runUserCommand(
  argv: string[],
  env: NodeJS.ProcessEnv,
  io: UserCommandIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  try {
    return await userCommand(argv, env, io);
  } catch (error) {
    if (error instanceof UserCommandError) {
      const hint = error.exitCode === USAGE_EXIT_CODE ? '\nRun "webrtc-room user --help" for the options.' : "";
      io.stderr.write(`webrtc-room user: ${error.message}${hint}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

async function userCommand(argv: string[], env: NodeJS.ProcessEnv, io: UserCommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        accounts: { type: "string" },
        "display-name": { type: "string" },
        role: { type: "string" },
        avatar: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UserCommandError((error as Error).message, USAGE_EXIT_CODE);
  }
  const { values, positionals } = parsed;
  const [subcommand, name, ...extra] = positionals;
  if (values.help || subcommand === undefined) {
    io.stdout.write(USER_USAGE);
    return values.help ? 0 : USAGE_EXIT_CODE;
  }
  if (extra.length > 0) {
    throw new UserCommandError(`unexpected argument "${extra[0]}"`, USAGE_EXIT_CODE);
  }
  if (subcommand !== "add" && (values["display-name"] !== undefined || values.role !== undefined || values.avatar !== undefined)) {
    throw new UserCommandError("--display-name, --role and --avatar are for user add", USAGE_EXIT_CODE);
  }
  const path = values.accounts ?? env.WEBRTC_ROOM_ACCOUNTS ?? DEFAULT_ACCOUNTS_PATH;
  switch (subcommand) {
    case "add": {
      const userID = accountId(name, "add");
      const displayName = checked(UsernameSchema, values["display-name"] ?? userID, "--display-name");
      const role = checked(v.picklist(ACCOUNT_ROLES, `must be one of ${ACCOUNT_ROLES.join(", ")}`), values.role ?? DEFAULT_ACCOUNT_ROLE, "--role");
      const avatar = values.avatar === undefined ? undefined : checked(AvatarSchema, values.avatar, "--avatar");
      const accounts = await readAccounts(path, true);
      if (accounts.has(userID)) {
        throw new UserCommandError(`${userID} already has an account in ${path} (change its password with user passwd)`, FAILURE_EXIT_CODE);
      }
      const passwordHash = await hashAccountPassword(await readNewPassword(io, userID));
      accounts.set(userID, { passwordHash, displayName, role, ...(avatar !== undefined ? { avatar } : {}) });
      await writeAccounts(path, accounts);
      io.stdout.write(`added ${userID} (${role}) to ${path}\n`);
      return 0;
    }
    case "passwd": {
      const userID = accountId(name, "passwd");
      const accounts = await readAccounts(path, false);
      const account = accounts.get(userID);
      if (account === undefined) {
        throw new UserCommandError(`${userID} has no account in ${path}`, FAILURE_EXIT_CODE);
      }
      accounts.set(userID, { ...account, passwordHash: await hashAccountPassword(await readNewPassword(io, userID)) });
      await writeAccounts(path, accounts);
      io.stdout.write(`changed the password of ${userID} in ${path}\n`);
      return 0;
    }
    case "remove": {
      const userID = accountId(name, "remove");
      const accounts = await readAccounts(path, false);
      if (!accounts.delete(userID)) {
        throw new UserCommandError(`${userID} has no account in ${path}`, FAILURE_EXIT_CODE);
      }
      await writeAccounts(path, accounts);
      io.stdout.write(`removed ${userID} from ${path}\n`);
      return 0;
    }
    case "list": {
      if (name !== undefined) {
        throw new UserCommandError(`unexpected argument "${name}"`, USAGE_EXIT_CODE);
      }
      const accounts = await readAccounts(path, false);
      for (const [userID, account] of [...accounts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        io.stdout.write(`${userID}\t${account.role ?? DEFAULT_ACCOUNT_ROLE}\t${account.displayName}\n`);
      }
      return 0;
    }
    default:
      throw new UserCommandError(`unknown user command "${subcommand}" (add, passwd, remove, list)`, USAGE_EXIT_CODE);
  }
}
