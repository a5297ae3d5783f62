/**
 * Unit tests of the pure pieces behind the hardening: client addresses behind trusted proxies,
 * per-address limits, the open-file-limit default and the failure reporter.
 */
import { describe, expect, it } from "vitest";
import { AddressRateLimiter, ConnectionsPerAddress } from "../server/address-limits.ts";
import { addressLimitKey, clientAddress, normalizeAddress, TrustedProxies } from "../server/client-address.ts";
import { defaultMaxConnections, MAX_DEFAULT_CONNECTIONS, openFileLimit } from "../server/config.ts";
import { FailureReporter, MAX_LOGGED_FAILURES } from "../server/failures.ts";
import { ServerMetrics } from "../server/metrics.ts";
import { roomFromPath, safeDecodeURIComponent } from "../server/pages.ts";

describe("clientAddress", () => {
  const proxies = new TrustedProxies(["10.0.0.1", "192.168.0.0/16", "fd00::/8"]);
  it.each([
    ["an untrusted peer is the client, whatever it forwards", "203.0.113.9", "1.2.3.4", "203.0.113.9"],
    ["an untrusted peer without X-Forwarded-For", "203.0.113.9", "", "203.0.113.9"],
    ["a trusted proxy's right-most untrusted hop is the client", "10.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"],
    ["trusted hops are skipped from the right", "10.0.0.1", "6.6.6.6, 198.51.100.7, 192.168.3.4", "198.51.100.7"],
    ["a chain of trusted proxies only ends at the left-most entry", "10.0.0.1", "192.168.1.1", "192.168.1.1"],
    ["garbage in the header stops the walk at the last trusted hop", "10.0.0.1", "not-an-ip", "10.0.0.1"],
    ["an IPv4-mapped IPv6 peer is normalized before the trust check", "::ffff:10.0.0.1", "198.51.100.7", "198.51.100.7"],
    ["an IPv6 proxy subnet is trusted", "fd12::1", "2001:db8::5", "2001:db8::5"],
  ])("%s", (_name, peer, forwarded, expected) => {
    expect(clientAddress(peer, forwarded, proxies)).toBe(expected);
  });

  it("normalizes case, brackets and IPv4-mapped addresses", () => {
    expect(normalizeAddress("[2001:DB8::1]")).toBe("2001:db8::1");
    expect(normalizeAddress("::FFFF:192.0.2.1")).toBe("192.0.2.1");
  });

  it("refuses a configuration entry that is not an address or subnet", () => {
    expect(() => new TrustedProxies(["10.0.0.0/33"])).toThrow(RangeError);
    expect(() => new TrustedProxies(["proxy.example"])).toThrow(RangeError);
    expect(() => new TrustedProxies(["10.0.0.0/"])).toThrow(RangeError);
  });
});

describe("addressLimitKey", () => {
  it.each([
    ["198.51.100.7", "198.51.100.7"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:db8:1:2::99", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002:ffff::1", "2001:db8:1:2::/64"],
    ["::1", "0:0:0:0::/64"],
  ])("counts %s under %s", (address, key) => {
    expect(addressLimitKey(address)).toBe(key);
  });
});

describe("AddressRateLimiter", () => {
  it("allows a burst per address, then refuses until the bucket refills", () => {
    const limiter = new AddressRateLimiter({ perSecond: 2, burst: 3 });
    expect([1, 2, 3, 4].map(() => limiter.take("a", 0))).toEqual([true, true, true, false]);
    expect(limiter.take("b", 0)).toBe(true);
    expect(limiter.allows("a", 0)).toBe(false);
    expect(limiter.take("a", 500)).toBe(true);
  });

  it("forgets an address once its bucket is full again", () => {
    const limiter = new AddressRateLimiter({ perSecond: 10, burst: 5 });
    limiter.take("a", 0);
    expect(limiter.trackedCount).toBe(1);
    limiter.sweep(50);
    expect(limiter.trackedCount).toBe(1);
    limiter.sweep(100);
    expect(limiter.trackedCount).toBe(0);
  });

  it("refuses new addresses past its tracking bound instead of growing", () => {
    const limiter = new AddressRateLimiter({ perSecond: 1, burst: 5 }, 2);
    expect(limiter.take("a", 0)).toBe(true);
    expect(limiter.take("b", 0)).toBe(true);
    expect(limiter.take("c", 0)).toBe(false);
    expect(limiter.trackedCount).toBe(2);
    // Once the first two are full again, a sweep makes room.
    expect(limiter.take("c", 5_000)).toBe(true);
  });
});

describe("ConnectionsPerAddress", () => {
  it("counts up to the ceiling per address and releases", () => {
    const counter = new ConnectionsPerAddress(2);
    expect([counter.acquire("a"), counter.acquire("a"), counter.acquire("a"), counter.acquire("b")]).toEqual([true, true, false, true]);
    counter.release("a");
    expect(counter.acquire("a")).toBe(true);
    counter.release("a");
    counter.release("a");
    counter.release("b");
    expect(counter.addressCount).toBe(0);
  });
});

describe("defaultMaxConnections", () => {
  it("reads the soft open-file limit from /proc/self/limits text", () => {
    const text = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n";
    expect(openFileLimit(text)).toBe(1024);
    expect(openFileLimit("Max open files            unlimited            unlimited            files\n")).toBeUndefined();
  });

  it.each([
    [1024, 768],
    [20_000, 15_000],
    [1_048_576, MAX_DEFAULT_CONNECTIONS],
    [undefined, MAX_DEFAULT_CONNECTIONS],
    [10, 7],
  ])("with an open-file limit of %s allows %s connections", (limit, expected) => {
    expect(defaultMaxConnections(limit)).toBe(expected);
  });
});

describe("safe path decoding", () => {
  it.each(["%", "%Z", "%ZZ", "%E0%A4%A", "%C0%80", "%ED%A0%80", "%FF", "%F4%90%80%80"])("%s decodes to nothing instead of throwing", (raw) => {
    expect(safeDecodeURIComponent(raw)).toBeUndefined();
    expect(roomFromPath(raw)).toBeUndefined();
  });

  it("decodes a valid escape of a valid room name", () => {
    expect(roomFromPath("st%61ndup")).toBe("standup");
    expect(roomFromPath("a%2Fb")).toBeUndefined();
  });
});

describe("FailureReporter", () => {
  it("catches, counts every failure by place and logs each distinct one once", () => {
    const metrics = new ServerMetrics();
    const logged: string[] = [];
    const reporter = new FailureReporter(metrics, (line) => logged.push(line));
    const fail = (): void => {
      throw new TypeError("boom");
    };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect(() => reporter.guarded("http /x", fail)).not.toThrow();
    }
    reporter.guarded("timer", fail);
    expect(metrics.internalErrorsByPlace.get("http /x")).toBe(3);
    expect(metrics.internalErrorsByPlace.get("timer")).toBe(1);
    expect(logged).toHaveLength(2);
    expect(logged[0]).toContain("TypeError: boom");
    expect(metrics.render({})).toContain('webrtc_room_internal_errors_total{place="http /x"} 3');
  });

  it("stops logging past its bound of distinct failures but keeps counting", () => {
    const metrics = new ServerMetrics();
    const logged: string[] = [];
    const reporter = new FailureReporter(metrics, (line) => logged.push(line));
    for (let index = 0; index < MAX_LOGGED_FAILURES + 10; index += 1) {
      reporter.report(`place ${index}`, new Error(`failure ${index}`));
    }
    expect(logged).toHaveLength(MAX_LOGGED_FAILURES);
    expect(metrics.internalErrorsByPlace.size).toBe(MAX_LOGGED_FAILURES + 10);
  });
});
