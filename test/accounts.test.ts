/**
 * The accounts file and its password hashes (server/accounts.ts, server/account-passwords.ts,
 * server/account-verifier.ts) on a real file system: add, change, remove and list through the
 * store functions, atomic writes with mode 0600, strict parsing, reloading a changed file, and the
 * verdicts of the verifier.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hashAccountPassword, isAccountPasswordHash, verifyAccountPassword } from "../server/account-passwords.ts";
import { AccountVerifier } from "../server/account-verifier.ts";
import { ConfigError, loadConfig } from "../server/config.ts";
import { AccountsFileError, joinGrantsOfRole, parseAccounts, readAccountsFile, writeAccountsFile, type Accounts } from "../server/accounts.ts";

let directory: string;
let path: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "webrtc-room-accounts-store-"));
  path = join(directory, "accounts.json");
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** A hash made at the lowest cost the format allows, so that the table tests stay fast. */
function cheapHash(password: string): Promise<string> {
  return hashAccountPassword(password, { log2N: 4, r: 1, p: 1 });
}

describe("password hashes", () => {
  it("verify the password they were made from and no other, NFC-normalized", async () => {
    const hash = await hashAccountPassword("Caf\u00e9 au lait");
    expect(hash).toMatch(/^\$scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(await verifyAccountPassword("Caf\u00e9 au lait", hash)).toBe(true);
    expect(await verifyAccountPassword("Cafe\u0301 au lait", hash)).toBe(true);
    expect(await verifyAccountPassword("Cafe au lait", hash)).toBe(false);
  });

  it("differ for the same password (a fresh salt each)", async () => {
    expect(await cheapHash("same")).not.toBe(await cheapHash("same"));
  });

  it.each([
    ["", "empty"],
    ["$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", "another algorithm"],
    ["$scrypt$ln=30,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2g", "a cost past the bound"],
    ["$scrypt$ln=14,r=8,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2g", "a salt too short"],
    ["$scrypt$ln=20,r=32,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2g", "4 GiB of memory"],
  ])("refuse a malformed hash string: %s (%s)", async (hash) => {
    expect(isAccountPasswordHash(hash)).toBe(false);
    expect(await verifyAccountPassword("anything", hash)).toBe(false);
  });
});

describe("the accounts file", () => {
  it("is written atomically with mode 0600 and read back: add, change, remove", async () => {
    const accounts: Accounts = new Map([["ada", { passwordHash: await cheapHash("one"), displayName: "Ada", role: "host" as const }]]);
    await writeAccountsFile(path, accounts);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(directory)).toEqual(["accounts.json"]);

    const read = await readAccountsFile(path);
    read.set("bob", { passwordHash: await cheapHash("two"), displayName: "Bob" });
    const ada = read.get("ada");
    expect(ada).toBeDefined();
    read.set("ada", { ...ada!, passwordHash: await cheapHash("three") });
    await writeAccountsFile(path, read);
    const changed = await readAccountsFile(path);
    expect([...changed.keys()]).toEqual(["ada", "bob"]);
    expect(await verifyAccountPassword("three", changed.get("ada")!.passwordHash)).toBe(true);

    changed.delete("ada");
    await writeAccountsFile(path, changed);
    expect([...(await readAccountsFile(path)).keys()]).toEqual(["bob"]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(directory)).toEqual(["accounts.json"]);
  });

  it("is no accounts when missing and allowed to be, an error otherwise", async () => {
    expect((await readAccountsFile(path, { missingIsEmpty: true })).size).toBe(0);
    await expect(readAccountsFile(path)).rejects.toThrow(AccountsFileError);
  });

  it.each([
    ["not json", /not JSON/],
    ["[]", /JSON object/],
    ['{"ada": {"displayName": "Ada"}}', /account "ada": passwordHash/],
    ['{"ada": {"passwordHash": "plain", "displayName": "Ada"}}', /account "ada": passwordHash/],
    ['{" ada": {"passwordHash": "x", "displayName": "Ada"}}', /is not a user id/],
    ['{"ada": {"passwordHash": "HASH", "displayName": "Ada", "role": "admin"}}', /role must be one of host, member, viewer/],
    ['{"ada": {"passwordHash": "HASH", "displayName": "Ada", "password": "clear"}}', /account "ada"/],
    ['{"ada": {"passwordHash": "HASH", "displayName": "Ada", "avatar": "javascript:alert(1)"}}', /account "ada": avatar/],
  ])("refuses a bad file whole, naming the fault: %s", async (text, fault) => {
    const hash = await cheapHash("x");
    expect(() => parseAccounts(text.replace("HASH", hash.replaceAll("$", "$$")))).toThrow(fault);
  });

  it("maps each role to the grants a join token would carry", () => {
    expect(joinGrantsOfRole("host")).toEqual({ publish: true, data: true, host: true, hidden: false, bypassLobby: true });
    expect(joinGrantsOfRole("member")).toEqual({ publish: true, data: true, host: false, hidden: false, bypassLobby: false });
    expect(joinGrantsOfRole("viewer")).toEqual({ publish: false, data: true, host: false, hidden: false, bypassLobby: false });
  });
});

describe("AccountVerifier", () => {
  it("accepts the right password with the account's role, refuses a wrong one and an unknown user alike", async () => {
    await writeAccountsFile(path, new Map([["ada", { passwordHash: await cheapHash("right"), displayName: "Ada" }]]));
    const verifier = await AccountVerifier.create({ path });
    expect(await verifier.verify("ada", "right", "a", 0)).toMatchObject({ ok: true, verified: { userID: "ada", role: "member" } });
    const wrong = await verifier.verify("ada", "wrong", "a", 0);
    const unknown = await verifier.verify("eve", "wrong", "a", 0);
    expect(wrong).toMatchObject({ ok: false, code: "bad_credentials" });
    expect(unknown).toEqual(wrong);
  });

  it("blocks an account and an address in their windows, and lets them try again after", async () => {
    await writeAccountsFile(path, new Map([["ada", { passwordHash: await cheapHash("right"), displayName: "Ada" }]]));
    const verifier = await AccountVerifier.create({ path, perAccount: { maxFailures: 2, windowMs: 1000 }, perAddress: { maxFailures: 3, windowMs: 1000 } });
    await verifier.verify("ada", "wrong", "a", 0);
    await verifier.verify("ada", "wrong", "b", 0);
    expect(await verifier.verify("ada", "right", "c", 10)).toMatchObject({ ok: false, code: "too_many_attempts" });
    expect(await verifier.verify("ada", "right", "c", 1001)).toMatchObject({ ok: true });
    for (const user of ["x", "y", "z"]) {
      await verifier.verify(user, "wrong", "d", 2000);
    }
    expect(await verifier.verify("ada", "right", "d", 2001)).toMatchObject({ ok: false, code: "too_many_attempts" });
    expect(await verifier.verify("ada", "right", "e", 2001)).toMatchObject({ ok: true });
  });

  it("reads the file again when it changes, and keeps the accounts in force when the change does not parse", async () => {
    await writeAccountsFile(path, new Map([["ada", { passwordHash: await cheapHash("first"), displayName: "Ada" }]]));
    const logged: string[] = [];
    const verifier = await AccountVerifier.create({ path, log: (text) => logged.push(text) });
    await writeAccountsFile(path, new Map([["ada", { passwordHash: await cheapHash("second"), displayName: "Ada" }]]));
    expect(await verifier.verify("ada", "second", "a", 0)).toMatchObject({ ok: true });
    await writeFile(path, "{ broken");
    expect(await verifier.verify("ada", "second", "a", 0)).toMatchObject({ ok: true });
    expect(await verifier.verify("ada", "second", "a", 0)).toMatchObject({ ok: true });
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/cannot be used .*not JSON/);
    expect(await readFile(path, "utf8")).toBe("{ broken");
  });

  it("refuses to start on a file that cannot be read or parsed", async () => {
    await expect(AccountVerifier.create({ path })).rejects.toThrow(AccountsFileError);
    await writeFile(path, "[]");
    await expect(AccountVerifier.create({ path })).rejects.toThrow(/JSON object/);
  });
});

describe("configuration", () => {
  it("selects accounts mode from --accounts or WEBRTC_ROOM_ACCOUNTS alone, listening on 0.0.0.0 like token mode", () => {
    expect(loadConfig(["--accounts", "users.json"], {})).toMatchObject({ auth: "accounts", accountsFile: "users.json", host: "0.0.0.0" });
    expect(loadConfig([], { WEBRTC_ROOM_ACCOUNTS: "users.json" })).toMatchObject({ auth: "accounts", accountsFile: "users.json" });
  });

  it.each([
    [["--auth", "accounts"], /--auth accounts needs the accounts file/],
    [["--auth", "open", "--accounts", "users.json"], /do not combine/],
    [["--auth", "token", "--auth-secret", "s".repeat(40), "--accounts", "users.json"], /do not combine/],
    // A cluster's join path does not check passwords yet: the two must not start together.
    [["--accounts", "users.json", "--redis-url", "redis://127.0.0.1:6379"], /--auth accounts and --redis-url do not combine yet/],
  ])("refuses %j", (argv, message) => {
    expect(() => loadConfig(argv, {})).toThrow(ConfigError);
    expect(() => loadConfig(argv, {})).toThrow(message);
  });
});
