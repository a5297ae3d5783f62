/**
 * `webrtc-room serve` in a child process, for what only a whole process shows: signals, exit
 * codes, the open-file limit.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/webrtc-room.js", import.meta.url));

/** A running `webrtc-room serve`. */
export interface ServeProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>;
}

/**
 * Starts `webrtc-room serve --host 127.0.0.1 --port 0 --stun "" ...args` and waits for the line
 * that names its port. With `openFileLimit`, the process runs under `ulimit -n` of that value.
 */
export async function startServeProcess(args: readonly string[], options: { openFileLimit?: number } = {}): Promise<ServeProcess> {
  const command = ["exec", "node", JSON.stringify(BIN), "serve", "--host", "127.0.0.1", "--port", "0", "--stun", '""', ...args.map((arg) => JSON.stringify(arg))].join(" ");
  const script = options.openFileLimit === undefined ? command : `ulimit -n ${options.openFileLimit} && ${command}`;
  const child = spawn("bash", ["-c", script], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (): void => {
      const match = /listening on https?:\/\/[^:]+:(\d+)\//.exec(output);
      if (match) {
        child.stdout?.off("data", onData);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on("data", onData);
    void exited.then((code) => reject(new Error(`webrtc-room serve exited (${code}) before listening:\n${output}`)));
  });
  return { child, port, output: () => output, exited };
}

/** CPU time (user + system) the process `pid` has used, in clock ticks (1/100 s on Linux). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}
