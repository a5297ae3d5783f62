/**
 * The avatar policy (`server/avatars.ts`): which avatar URLs a server lets a user show to others.
 */
import { describe, expect, it } from "vitest";
import { isAllowedAvatar, normalizeAvatarHost } from "../server/avatars.ts";

const ALLOWED = ["cdn.example.test", "img.example.test:8443", "Bücher.example.test"];
const OWN_HOST = "chat.example.test";

describe("isAllowedAvatar", () => {
  it.each([
    ["a same-origin path", "/img/x.png", [], undefined],
    ["the root path", "/", [], undefined],
    ["a path with a query", "/avatar?id=7&size=64", [], undefined],
    ["an https: URL on a listed host", "https://cdn.example.test/a.png", ALLOWED, undefined],
    ["a listed host in other case", "https://CDN.Example.TEST/a.png", ALLOWED, undefined],
    ["a listed host with the default port written out", "https://cdn.example.test:443/a.png", ALLOWED, undefined],
    ["a listed host:port", "https://img.example.test:8443/a.png", ALLOWED, undefined],
    ["a listed IDN host, written in Unicode", "https://bücher.example.test/a.png", ALLOWED, undefined],
    ["a listed IDN host, written in punycode", "https://xn--bcher-kva.example.test/a.png", ALLOWED, undefined],
    ["the server's own host with no list", `https://${OWN_HOST}/a.png`, [], OWN_HOST],
    ["the server's own host:port", "https://127.0.0.1:8080/a.png", [], "127.0.0.1:8080"],
    ["an https: URL with a fragment", "https://cdn.example.test/a.png#x", ALLOWED, undefined],
  ] as const)("allows %s", (_name, avatar, allowed, ownHost) => {
    expect(isAllowedAvatar(avatar, allowed, ownHost)).toBe(true);
  });

  it.each([
    ["an https: URL on an unlisted host", "https://evil.example.test/x.png", ALLOWED, OWN_HOST],
    ["any https: URL when nothing is listed and the own host is unknown", "https://cdn.example.test/a.png", [], undefined],
    ["a listed host on another port", "https://cdn.example.test:8443/a.png", ALLOWED, undefined],
    ["a listed host:port on the default port", "https://img.example.test/a.png", ALLOWED, undefined],
    ["a subdomain of a listed host", "https://a.cdn.example.test/a.png", ALLOWED, undefined],
    ["a listed host as a suffix of another", "https://evilcdn.example.test/a.png", ALLOWED, undefined],
    ["the own host on another port", "https://127.0.0.1:9090/a.png", [], "127.0.0.1:8080"],
    ["a protocol-relative URL to a listed host", "//cdn.example.test/a.png", ALLOWED, undefined],
    ["a backslash path browsers read as a host", "/\\evil.example.test/x.png", ALLOWED, undefined],
    ["http: on a listed host", "http://cdn.example.test/a.png", ALLOWED, undefined],
    ["javascript:", "javascript:alert(1)", ALLOWED, undefined],
    ["data:", "data:image/png;base64,AAAA", ALLOWED, undefined],
    ["credentials naming a listed host", "https://cdn.example.test@evil.example.test/a.png", ALLOWED, undefined],
    ["a relative path without a leading slash", "img/x.png", ALLOWED, undefined],
    ["whitespace inside the URL", "https://cdn.example.test/a b.png", ALLOWED, undefined],
    ["a tab that browsers would strip", "/\t/evil.example.test/x.png", ALLOWED, undefined],
    ["an empty string", "", ALLOWED, undefined],
    ["a malformed https: URL", "https://[::1/a.png", ALLOWED, undefined],
  ] as const)("refuses %s", (_name, avatar, allowed, ownHost) => {
    expect(isAllowedAvatar(avatar, allowed, ownHost)).toBe(false);
  });
});

describe("normalizeAvatarHost", () => {
  it.each([
    ["CDN.Example.test", "cdn.example.test"],
    ["cdn.example.test:443", "cdn.example.test"],
    ["cdn.example.test:8443", "cdn.example.test:8443"],
    ["bücher.example.test", "xn--bcher-kva.example.test"],
    ["[::1]:8080", "[::1]:8080"],
    ["", undefined],
    ["https://cdn.example.test", undefined],
    ["cdn.example.test/path", undefined],
    ["user@cdn.example.test", undefined],
    ["cdn.example.test:99999", undefined],
  ])("normalizes %j to %j", (host, expected) => {
    expect(normalizeAvatarHost(host)).toBe(expected);
  });
});
