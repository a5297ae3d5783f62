/**
 * Signing in with an account in real Chromium against a real server running with accounts: `/call`
 * shows a password field, refuses a wrong password in words and signs in with the right one under
 * the account's display name; `/r/<room>` asks for user name and password, brings its form back
 * with the refusal, then joins with the account's role (a host gets the room settings).
 */
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { hashAccountPassword } from "../../server/account-passwords.ts";
import { writeAccountsFile } from "../../server/accounts.ts";
import { CHROMIUM_INSTALL, CHROMIUM_PATH, waitForRoomState } from "../support/chromium.ts";
import { requireBinary } from "../support/system-binary.ts";
import { useBrowserSuite } from "../support/browser-suite.ts";

const hasChromium = requireBinary("chromium", CHROMIUM_PATH, CHROMIUM_INSTALL);

/** Generous bounds: Chromium pages share two CPU cores with other suites. */
const DEADLINE_MS = 90_000;
const TEST_TIMEOUT_MS = 240_000;

const ACCOUNTS_PATH = join(tmpdir(), `webrtc-room-accounts-browser-${process.pid}.json`);
const PASSWORD = "a browser's password";

/** Waits until the page's `<webrtc-phone>` shows `state`. */
async function waitForPhoneState(page: Page, state: string): Promise<void> {
  await page.waitForFunction((expected) => document.querySelector("webrtc-phone")?.state === expected, state, { timeout: DEADLINE_MS });
}

describe.skipIf(!hasChromium)("accounts in Chromium", () => {
  beforeAll(async () => {
    await writeAccountsFile(ACCOUNTS_PATH, new Map([["ada", { passwordHash: await hashAccountPassword(PASSWORD), displayName: "Ada Lovelace", role: "host" as const }]]));
  });
  afterAll(async () => {
    await rm(ACCOUNTS_PATH, { force: true });
  });
  const suite = useBrowserSuite({ setupTimeoutMs: TEST_TIMEOUT_MS, server: { auth: "accounts", accountsFile: ACCOUNTS_PATH } });

  test("/call and /r/<room> sign in through their password forms, refusing a wrong password in words", async () => {
    const page = await suite.newPage();
    await page.goto(`${suite.baseUrl}/call`);
    await page.evaluate(() => customElements.whenDefined("webrtc-phone"));
    await page.getByLabel("User name").fill("ada");
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await waitForPhoneState(page, "failed");
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/Check them and sign in again/);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in again" }).click();
    await waitForPhoneState(page, "lobby");
    expect(await page.evaluate(() => document.querySelector("webrtc-phone")?.self)).toMatchObject({ userID: "ada", username: "Ada Lovelace" });

    await page.goto(`${suite.baseUrl}/r/accounts-room`);
    await page.locator("#name").fill("ada");
    await page.locator("#password").fill("still not it");
    await page.getByRole("button", { name: "Join room" }).click();
    await expect.poll(() => page.locator("#sign-in-error").textContent(), { timeout: DEADLINE_MS }).toBe("Wrong user name or password.");
    await page.locator("#password").fill(PASSWORD);
    await page.getByRole("button", { name: "Join room" }).click();
    await waitForRoomState(page, "joined");
    // The account's role is host: the element shows the hosts' room settings.
    await expect.poll(() => page.getByRole("button", { name: "Room settings" }).count(), { timeout: DEADLINE_MS }).toBe(1);
    const html = await page.content();
    expect(html).not.toContain(PASSWORD);
  }, TEST_TIMEOUT_MS);
});
