/**
 * `webrtc-room` command line: `serve` runs the server, `token` mints a token for it, `peers` runs
 * headless load-test peers, `camera` puts cameras into rooms.
 *
 * It lives outside `server/` and `client/` because it is the one place that reaches both: the
 * server never imports the client. `bin/webrtc-room.js` runs its compiled form (`lib/cli/main.js`).
 */
import { createRequire } from "node:module";
import { ConfigError, isLoopbackHost, loadConfig, serveHelp } from "../server/config.ts";
import { startServer } from "../server/server.ts";
import { peersJoinTokenMinter, runTokenCommand } from "./token.ts";
import { isNativeUws, shimWarning } from "../server/uws.ts";

const USAGE = `Usage: webrtc-room <command> [options]

Commands:
  serve    run the signaling server, web client and join pages (webrtc-room serve --help)
  token    mint a join or login token for a server in token mode (webrtc-room token --help)
  peers    run headless WebRTC peers against a server (webrtc-room peers --help)
  camera   put an RTSP/HTTP/file/V4L2 camera into a room through ffmpeg (webrtc-room camera --help)
`;

/** Runs `webrtc-room serve`; resolves with the exit code once the server has stopped. */
async function serve(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(serveHelp());
    return 0;
  }
  let config;
  try {
    config = loadConfig(argv, process.env);
  } catch (error) {
    if (error instanceof ConfigError || (error instanceof TypeError && "code" in error)) {
      console.error(`webrtc-room serve: ${error.message}\nRun "webrtc-room serve --help" for the options.`);
      return 2;
    }
    throw error;
  }
  if (!isNativeUws) {
    console.error(shimWarning());
  }
  if (config.auth === "open") {
    console.error(openModeWarning(config.host));
  }
  let server;
  try {
    server = await startServer(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`webrtc-room serve: ${error.message}`);
      return USAGE_EXIT_CODE;
    }
    throw error;
  }
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const scheme = config.tlsCertFile ? "https" : "http";
  console.log(`webrtc-room listening on ${scheme}://${shownHost}:${server.port}/  (signaling ${server.wsUrl})`);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      console.log(`webrtc-room: ${signal} received, closing connections with 1012 (reconnect), at most ${config.shutdownTimeoutMs} ms`);
      void server.close().then(resolve);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  // Everything the server opened is closed by now; a handle something else left open (a library's
  // socket, a forgotten timer) must not keep a stopped server's process alive past its deadline.
  setTimeout(() => process.exit(0), 250).unref();
  return 0;
}

/** The start-up warning of open mode, loud on purpose: it must not pass unnoticed in a deployment's log. */
function openModeWarning(host: string): string {
  const rule = "!".repeat(78);
  return [
    rule,
    "!! webrtc-room: OPEN MODE (--auth open). Anyone who reaches this server can join any room",
    "!! under any name and log in as any user (taking over that user's calls). For development only.",
    isLoopbackHost(host)
      ? `!! Listening on ${host} (loopback): only this machine can connect.`
      : `!! Listening on ${host}, reachable from the network, because --auth open was given explicitly.`,
    "!! Deploy with --auth token and --auth-secret or --auth-public-key: see docs/security.md.",
    rule,
  ].join("\n");
}

/** The optional peer dependency that `webrtc-room peers` and `webrtc-room camera` (and only they) need. */
const WRTC_PACKAGE = "@roamhq/wrtc";

/** Exit code for a command that cannot run as invoked (bad flags, missing optional dependency). */
const USAGE_EXIT_CODE = 2;

/**
 * True when {@link WRTC_PACKAGE} is installed where this package can load it. Checked before the
 * headless peers are imported, so that a missing optional dependency is one sentence, not a stack.
 */
function hasWrtc(): boolean {
  try {
    createRequire(import.meta.url).resolve(WRTC_PACKAGE);
    return true;
  } catch {
    return false;
  }
}

/** What `command` prints when {@link WRTC_PACKAGE} is missing. */
function missingWrtcMessage(command: string): string {
  return [
    `webrtc-room ${command}: the headless peers need ${WRTC_PACKAGE} (WebRTC for Node.js), an optional`,
    "peer dependency that is not installed. Install it next to webrtc-room:",
    "",
    `  npm install ${WRTC_PACKAGE}`,
  ].join("\n");
}

/** Entry point of the `webrtc-room` binary; resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serve(rest);
    case "token":
      return runTokenCommand(rest, process.env);
    case "peers": {
      if (!hasWrtc()) {
        console.error(missingWrtcMessage("peers"));
        return USAGE_EXIT_CODE;
      }
      const { runPeersCommand } = await import("../client/headless/cli.ts");
      return runPeersCommand(rest, { env: process.env, joinTokenMinter: peersJoinTokenMinter });
    }
    case "camera": {
      if (!hasWrtc()) {
        console.error(missingWrtcMessage("camera"));
        return USAGE_EXIT_CODE;
      }
      const { runCameraCommand } = await import("../client/headless/camera-cli.ts");
      const code = await runCameraCommand(rest);
      // A camera process ends here, by exit(): @roamhq/wrtc can crash in Node's own teardown once
      // a video source has existed (see client/headless/peers-worker.ts). Everything is closed.
      process.exit(code);
    }
    case undefined:
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? USAGE_EXIT_CODE : 0;
    default:
      console.error(`webrtc-room: unknown command "${command}"\n\n${USAGE}`);
      return USAGE_EXIT_CODE;
  }
}
