/**
 * The pure parts of the room's chat panel and live region: links found in chat text (only
 * `http:` and `https:`, trailing punctuation left out) and the throttled announcer.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { ANNOUNCE_GATHER_MS, ANNOUNCE_INTERVAL_MS, Announcer, peopleCount } from "../../client/elements/shared/announcer.ts";
import { chatParts } from "../../client/elements/shared/chat-panel.ts";

describe("chatParts", () => {
  test.each([
    ["plain text", "hello <b>there</b>", ["hello <b>there</b>"]],
    ["a link in a sentence", "see https://example.org/a?b=1.", ["see ", { text: "https://example.org/a?b=1", href: "https://example.org/a?b=1" }, "."]],
    ["an http link in parentheses", "(http://example.org/x)", ["(", { text: "http://example.org/x", href: "http://example.org/x" }, ")"]],
    ["two links", "http://a.example https://b.example", [{ text: "http://a.example", href: "http://a.example/" }, " ", { text: "https://b.example", href: "https://b.example/" }]],
    ["a javascript: URL, left as text", "javascript:alert(1)", ["javascript:alert(1)"]],
    ["a data: URL, left as text", "data:text/html,<script>alert(1)</script>", ["data:text/html,<script>alert(1)</script>"]],
    ["a link that stops before markup", 'https://example.org/"><img src=x onerror=alert(1)>', [{ text: "https://example.org/", href: "https://example.org/" }, '"><img src=x onerror=alert(1)>']],
    ["a scheme without a host", "https:// nothing", ["https:// nothing"]],
  ])("%s", (_name, text, parts) => {
    expect(chatParts(text)).toEqual(parts);
  });
});

describe("Announcer", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  test("a burst becomes one announcement with at most three items and the count as it is when read", () => {
    let count = 2;
    let changes = 0;
    const announcer = new Announcer(() => (changes += 1));
    for (const name of ["Ada", "Grace", "Linus", "Ken"]) {
      announcer.announce(`${name} joined`, () => peopleCount(count));
      count += 1;
    }
    expect(announcer.text).toBe("");
    vi.advanceTimersByTime(ANNOUNCE_GATHER_MS);
    expect(changes).toBe(1);
    expect(announcer.text).toBe("Ada joined. Grace joined. and 2 more. 6 people in the room.");
  });

  test("announcements closer than the interval wait for it; clear() drops what waits", () => {
    const announcer = new Announcer(() => undefined);
    announcer.announce("Reconnected");
    vi.advanceTimersByTime(ANNOUNCE_GATHER_MS);
    expect(announcer.text).toBe("Reconnected.");
    announcer.announce("Ada says: hi!");
    vi.advanceTimersByTime(ANNOUNCE_GATHER_MS);
    expect(announcer.text).toBe("Reconnected.");
    vi.advanceTimersByTime(ANNOUNCE_INTERVAL_MS);
    expect(announcer.text).toBe("Ada says: hi!");
    announcer.announce("Grace left", () => peopleCount(1));
    announcer.clear();
    vi.advanceTimersByTime(ANNOUNCE_INTERVAL_MS * 2);
    expect(announcer.text).toBe("Ada says: hi!");
  });
});
