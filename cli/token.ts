/**
 * `webrtc-room token`: mints a join or login token with the server's HS256 secret, for testing and
 * for small deployments without a backend of their own. An application's backend mints the same
 * tokens with its own JOSE library (docs/security.md says what they hold).
 */
import { nanoid } from "nanoid";
import { parseArgs } from "node:util";
import type { JoinTokenMinter } from "../client/headless/cli.ts";
import { UsageError } from "../client/headless/flags.ts";
import { mintToken, TokenKeyError, type MintRequest } from "../server/tokens.ts";

const TOKEN_USAGE = `Usage: webrtc-room token --room R --name N [--ttl 10m] [--host] [--viewer] [--user U]
       webrtc-room token --login --user U [--name N] [--avatar URL] [--device] [--ttl 10m]

Prints a signed token (HS256) for a server running with --auth token and the same secret.

Options:
  --room R          the room the join token is for (exact name)
  --name N          display name (a join token needs one; a login token defaults to the user id)
  --user U          the token's sub: the user id (a login needs it; a join defaults to a random id)
  --ttl D           lifetime: 90s, 10m, 2h, 1d or plain seconds (default 10m)
  --host            join token with the host grant
  --viewer          join token without the publish grant (receives, sends no media)
  --login           a login token (calls and presence) instead of a join token
  --avatar URL      login token's avatar
  --device          login token with the device grant: a camera anyone may watch without asking
  --auth-secret S   the secret (default: WEBRTC_ROOM_AUTH_SECRET; prefer the variable, flags show in ps)
  --auth-issuer I   the token's iss (default: WEBRTC_ROOM_AUTH_ISSUER; none when unset)
`;

/** Exit code for a command that cannot run as invoked. */
const USAGE_EXIT_CODE = 2;

/** Seconds per duration unit. */
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `10m`, `2h`, `1d` or plain seconds, in seconds; undefined when not a positive duration. */
export function parseDurationSeconds(text: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) {
    return undefined;
  }
  const seconds = Number(match[1]) * (UNIT_SECONDS[match[2] || "s"] ?? 1);
  return seconds > 0 ? seconds : undefined;
}

/** Runs `webrtc-room token`; resolves with the exit code. */
export async function runTokenCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        room: { type: "string" },
        name: { type: "string" },
        user: { type: "string" },
        ttl: { type: "string", default: "10m" },
        host: { type: "boolean", default: false },
        viewer: { type: "boolean", default: false },
        device: { type: "boolean", default: false },
        login: { type: "boolean", default: false },
        avatar: { type: "string" },
        "auth-secret": { type: "string" },
        "auth-issuer": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    console.error(`webrtc-room token: ${(error as Error).message}\n\n${TOKEN_USAGE}`);
    return USAGE_EXIT_CODE;
  }
  if (values.help) {
    console.log(TOKEN_USAGE);
    return 0;
  }
  const fail = (message: string): number => {
    console.error(`webrtc-room token: ${message}\nRun "webrtc-room token --help" for the options.`);
    return USAGE_EXIT_CODE;
  };
  const secret = values["auth-secret"] ?? env.WEBRTC_ROOM_AUTH_SECRET;
  if (secret === undefined) {
    return fail("needs the server's secret: --auth-secret or WEBRTC_ROOM_AUTH_SECRET");
  }
  const ttlSeconds = parseDurationSeconds(values.ttl);
  if (ttlSeconds === undefined) {
    return fail(`--ttl takes 90s, 10m, 2h, 1d or seconds, got "${values.ttl}"`);
  }
  let request: MintRequest;
  if (values.login) {
    if (values.user === undefined) {
      return fail("--login needs --user (the user id the login token gives)");
    }
    if (values.room !== undefined || values.host || values.viewer) {
      return fail("--room, --host and --viewer are for join tokens, not --login");
    }
    request = { kind: "login", userId: values.user, name: values.name, avatar: values.avatar, grants: { call: true, ...(values.device ? { device: true } : {}) } };
  } else {
    if (values.room === undefined || values.name === undefined) {
      return fail("a join token needs --room and --name");
    }
    if (values.avatar !== undefined || values.device) {
      return fail("--avatar and --device are for login tokens (--login)");
    }
    request = {
      kind: "join",
      userId: values.user ?? nanoid(),
      room: values.room,
      name: values.name,
      grants: { publish: !values.viewer, data: true, host: values.host },
    };
  }
  try {
    console.log(await mintToken(request, secret, ttlSeconds, { issuer: values["auth-issuer"] ?? env.WEBRTC_ROOM_AUTH_ISSUER }));
  } catch (error) {
    if (error instanceof TokenKeyError) {
      return fail(error.message);
    }
    throw error;
  }
  return 0;
}

/**
 * The join-token minter of `webrtc-room peers --auth-secret`: one token per headless peer, with
 * the grants a participant has by default (publish and data, not host), under a random user id.
 */
export function peersJoinTokenMinter(secret: string, issuer: string | undefined): JoinTokenMinter {
  return async (room, username, ttlSeconds) => {
    const request: MintRequest = { kind: "join", userId: nanoid(), room, name: username, grants: { publish: true, data: true, host: false } };
    try {
      return await mintToken(request, secret, ttlSeconds, { issuer });
    } catch (error) {
      if (error instanceof TokenKeyError) {
        throw new UsageError(`--auth-secret: ${error.message}`);
      }
      throw error;
    }
  };
}
