/**
 * The fixture every Chromium suite shares: the bundle built once, a real server on an ephemeral
 * port, one Chromium, pages closed after each test with no uncaught page error allowed. Call
 * {@link useBrowserSuite} at the top of a `describe`; it registers the hooks and returns accessors
 * that are valid inside tests.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { buildBundle } from "../../scripts/build.ts";
import type { ServerConfig } from "../../server/config.ts";
import { startServer, type RunningServer } from "../../server/server.ts";
import { launchChromium, openPage, type OpenPageOptions } from "./chromium.ts";
import { LOOPBACK_TEST_LIMITS } from "./loopback-limits.ts";

/** What a suite needs from the fixture, valid once `beforeAll` has run. */
export interface BrowserSuite {
  readonly server: RunningServer;
  readonly browser: Browser;
  /** `http://localhost:<port>`: `localhost`, not 127.0.0.1, because only a secure context may call `getUserMedia`. */
  readonly baseUrl: string;
  /** A page with fake devices, closed after the test; its uncaught errors fail the test. */
  newPage(options?: OpenPageOptions): Promise<Page>;
}

/** Options of {@link useBrowserSuite}. */
export interface BrowserSuiteOptions {
  /** Overrides of the server's configuration (loopback limits, no ICE servers by default). */
  readonly server?: Partial<ServerConfig>;
  /** Bound of the `beforeAll` hook (the build and Chromium's start). */
  readonly setupTimeoutMs: number;
  /** How many fake cameras Chromium lists; one by default. */
  readonly fakeCameras?: number;
}

/** Registers the suite's hooks (build, server, Chromium; pages and page errors per test). */
export function useBrowserSuite(options: BrowserSuiteOptions): BrowserSuite {
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  const pages: Page[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await buildBundle();
    server = await startServer({ ...LOOPBACK_TEST_LIMITS, host: "127.0.0.1", port: 0, iceServers: [], ...options.server });
    browser = await launchChromium(options.fakeCameras === undefined ? {} : { fakeCameras: options.fakeCameras });
  }, options.setupTimeoutMs);

  afterEach(async () => {
    for (const page of pages.splice(0)) {
      await page.close();
    }
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) {
      throw new Error(`the browser suite's ${what} is not started (used outside a test?)`);
    }
    return value;
  };

  return {
    get server() {
      return started(server, "server");
    },
    get browser() {
      return started(browser, "browser");
    },
    get baseUrl() {
      return `http://localhost:${started(server, "server").port}`;
    },
    async newPage(pageOptions: OpenPageOptions = {}) {
      const page = await openPage(started(browser, "browser"), pageOptions);
      page.on("pageerror", (error) => pageErrors.push(`${error.name}: ${error.message}`));
      pages.push(page);
      return page;
    },
  };
}
