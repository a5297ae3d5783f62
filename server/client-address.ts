/**
 * Who is on the other end of a request: the client address the per-address limits count against.
 *
 * The immediate TCP peer is the client, unless it is a configured trusted proxy (a load balancer,
 * a TLS terminator): then the client is the right-most `X-Forwarded-For` entry that is not itself
 * a trusted proxy. Entries further left were written by whoever sent the request and prove nothing,
 * so an untrusted peer's `X-Forwarded-For` is ignored entirely: a client cannot pick the address it
 * is limited under.
 */
import { BlockList, isIP } from "node:net";

/** Trusted proxy addresses and subnets (`10.0.0.5`, `10.0.0.0/8`, `fd00::/8`), parsed once. */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly #empty: boolean;

  /**
   * Parses `entries` (addresses or CIDR subnets). Throws a `RangeError` naming the first entry
   * that is neither, so a typo in the configuration stops the server at start-up.
   */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address = "", prefix] = entry.split("/");
      const family = isIP(address);
      if (family === 0) {
        throw new RangeError(`"${entry}" is not an IP address or subnet`);
      }
      const type = family === 4 ? "ipv4" : "ipv6";
      if (prefix === undefined) {
        this.#list.addAddress(address, type);
        continue;
      }
      const bits = Number(prefix);
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128) || prefix === "") {
        throw new RangeError(`"${entry}" has an invalid prefix length`);
      }
      this.#list.addSubnet(address, bits, type);
    }
    this.#empty = entries.length === 0;
  }

  /** True when `address` (already normalized, see {@link normalizeAddress}) is a trusted proxy. */
  has(address: string): boolean {
    if (this.#empty) {
      return false;
    }
    const family = isIP(address);
    return family !== 0 && this.#list.check(address, family === 4 ? "ipv4" : "ipv6");
  }
}

/**
 * An address as text without IPv4-mapped IPv6 wrapping (`::ffff:192.0.2.1` → `192.0.2.1`) and
 * without brackets, so that one client has one spelling.
 */
export function normalizeAddress(address: string): string {
  let text = address.trim();
  if (text.startsWith("[") && text.endsWith("]")) {
    text = text.slice(1, -1);
  }
  const lower = text.toLowerCase();
  if (lower.startsWith("::ffff:") && isIP(text.slice(7)) === 4) {
    return text.slice(7);
  }
  return lower;
}

/**
 * The client address of a request whose TCP peer is `peer`, given its `X-Forwarded-For` header
 * (empty when absent).
 */
export function clientAddress(peer: string, forwardedFor: string, trusted: TrustedProxies): string {
  let client = normalizeAddress(peer);
  if (!trusted.has(client) || forwardedFor === "") {
    return client;
  }
  const hops = forwardedFor.split(",");
  for (let index = hops.length - 1; index >= 0; index -= 1) {
    const hop = normalizeAddress(hops[index] ?? "");
    if (isIP(hop) === 0) {
      // Garbage from further up the chain: the last trusted hop is the best we know.
      return client;
    }
    client = hop;
    if (!trusted.has(hop)) {
      return hop;
    }
  }
  return client;
}

/**
 * The key per-address limits count under: the address itself for IPv4, its /64 network for IPv6
 * (one subscriber gets a whole /64, so counting single IPv6 addresses would limit nobody).
 */
export function addressLimitKey(address: string): string {
  if (isIP(address) !== 6) {
    return address;
  }
  return `${expandIpv6(address).slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, as lower-case hex without leading zeros. */
function expandIpv6(address: string): string[] {
  const [head = "", tail] = address.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  // An embedded IPv4 tail (`::ffff:1.2.3.4` not normalized away, `64:ff9b::1.2.3.4`) counts as two groups.
  const last = tailGroups.at(-1) ?? headGroups.at(-1);
  const v4Groups = last !== undefined && last.includes(".") ? 1 : 0;
  const missing = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length - v4Groups;
  const groups = [...headGroups, ...Array.from({ length: missing }, () => "0"), ...tailGroups];
  return groups.map((group) => (group.includes(".") ? group : (Number.parseInt(group, 16) || 0).toString(16)));
}
