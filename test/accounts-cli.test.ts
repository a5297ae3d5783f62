/**
 * `webrtc-room user …` and `webrtc-room serve --accounts` as an operator meets them: the compiled
 * CLI as processes, passwords fed through standard input, then a real socket against the served
 * port signing in with what the commands wrote.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startServeProcess, type ServeProcess } from "./support/serve-process.ts";
import { TestClient } from "./support/ws-client.ts";

const BIN = fileURLToPath(new URL("../bin/webrtc-room.js", import.meta.url));

let directory: string;
let accountsPath: string;
const processes: ServeProcess[] = [];
const clients: TestClient[] = [];

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "webrtc-room-accounts-cli-"));
  accountsPath = join(directory, "accounts.json");
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const server of processes.splice(0)) {
    server.child.kill("SIGKILL");
  }
  await rm(directory, { recursive: true, force: true });
});

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `webrtc-room user …args` on the test's file with `stdin` as its standard input. */
function user(args: readonly string[], stdin = ""): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, "user", ...args], { env: { ...process.env, WEBRTC_ROOM_ACCOUNTS: accountsPath } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
    });
    child.stdin?.end(stdin);
  });
}

async function loginAnswer(port: number, userID: string, password: string): Promise<unknown> {
  const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
  clients.push(client);
  client.send({ type: "login", userID, password });
  return client.next("loginResponse");
}

describe("webrtc-room user", () => {
  it("adds, lists, changes the password of and removes accounts, the file staying mode 0600", async () => {
    expect(await user(["add", "ada", "--display-name", "Ada Lovelace", "--role", "host"], "first secret\n")).toMatchObject({ code: 0, stdout: expect.stringMatching(/added ada \(host\)/) });
    expect(await user(["add", "bob"], "bob secret\n")).toMatchObject({ code: 0 });
    expect((await stat(accountsPath)).mode & 0o777).toBe(0o600);
    const text = await readFile(accountsPath, "utf8");
    expect(text).not.toContain("first secret");
    expect(JSON.parse(text)).toMatchObject({ ada: { displayName: "Ada Lovelace", role: "host", passwordHash: expect.stringMatching(/^\$scrypt\$/) } });

    expect((await user(["list"])).stdout).toBe("ada\thost\tAda Lovelace\nbob\tmember\tbob\n");
    expect(await user(["passwd", "ada"], "second secret\n")).toMatchObject({ code: 0 });
    expect(await readFile(accountsPath, "utf8")).not.toBe(text);
    expect(await user(["remove", "bob"])).toMatchObject({ code: 0 });
    expect((await user(["list"])).stdout).toBe("ada\thost\tAda Lovelace\n");
    expect((await stat(accountsPath)).mode & 0o777).toBe(0o600);
  });

  it("refuses bad requests with a clear message and exit code 1 (the account or file) or 2 (usage)", async () => {
    await user(["add", "existing"], "pw\n");
    const cases: Array<[string[], string, number, RegExp]> = [
      [["add", "ada"], "", 1, /password must not be empty/],
      [["passwd", "nobody"], "x\n", 1, /nobody has no account/],
      [["remove", "nobody"], "", 1, /nobody has no account/],
      [["add", "ada", "--role", "admin"], "x\n", 2, /--role: must be one of host, member, viewer/],
      [["add"], "", 2, /needs the user NAME/],
      [["rename", "ada"], "", 2, /unknown user command "rename"/],
      [["list", "--display-name", "A"], "", 2, /are for user add/],
    ];
    const results = await Promise.all(cases.map(([args, stdin]) => user(args, stdin)));
    results.forEach((result, index) => {
      const [args, , code, message] = cases[index]!;
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code, stderr: expect.stringMatching(message) });
    });
    expect((await user(["list"])).stdout).toBe("existing\tmember\texisting\n");
  });

  it("refuses to add an account that exists, and to work on a file that does not parse", async () => {
    await user(["add", "ada"], "pw\n");
    expect(await user(["add", "ada"], "pw\n")).toMatchObject({ code: 1, stderr: expect.stringMatching(/ada already has an account/) });
    await writeFile(accountsPath, "{ not json");
    expect(await user(["list"])).toMatchObject({ code: 1, stderr: expect.stringMatching(/not JSON/) });
  });
});

describe("webrtc-room serve --accounts", () => {
  it("signs in with the password user add wrote, and with the new one once user passwd changed it, without a restart", async () => {
    await user(["add", "ada", "--display-name", "Ada"], "old password\n");
    const server = await startServeProcess(["--accounts", accountsPath]);
    processes.push(server);
    expect(server.output()).not.toMatch(/OPEN MODE/);
    expect(await loginAnswer(server.port, "ada", "old password")).toMatchObject({ content: "accepted", username: "Ada" });
    expect(await loginAnswer(server.port, "ada", "wrong password")).toMatchObject({ content: "rejected", code: "bad_credentials" });

    await user(["passwd", "ada"], "new password\n");
    expect(await loginAnswer(server.port, "ada", "new password")).toMatchObject({ content: "accepted" });
    expect(await loginAnswer(server.port, "ada", "old password")).toMatchObject({ content: "rejected", code: "bad_credentials" });
    expect(server.output()).not.toMatch(/password/i);
  });

  it("refuses to start without a usable file, or with accounts and tokens together (exit code 2)", async () => {
    await expect(startServeProcess(["--auth", "accounts"])).rejects.toThrow(/exited \(2\)[\s\S]*--auth accounts needs the accounts file/);
    await expect(startServeProcess(["--accounts", accountsPath])).rejects.toThrow(/exited \(2\)[\s\S]*--accounts: .*cannot read it/);
    await writeFile(accountsPath, "{}");
    await expect(startServeProcess(["--accounts", accountsPath, "--auth", "token", "--auth-secret", "x".repeat(40)])).rejects.toThrow(/exited \(2\)[\s\S]*do not combine/);
  });
});
