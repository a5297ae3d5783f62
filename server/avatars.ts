/**
 * Which avatar URLs this server lets a user show to everybody else. The protocol schema
 * (`isAvatarShape`) already limits avatars to `https:` URLs and same-origin paths; this adds the
 * host: an avatar is fetched by every client that lists the user, so an arbitrary host would let
 * any user make every other user's browser contact a server of its choosing (tracking pixels,
 * IP address collection). Pure: no sockets, no configuration reads.
 */
import { isAvatarShape } from "../shared/protocol/presence.ts";

/**
 * `host` as the URL parser normalizes it (lower case, IDN to punycode, the default port 443
 * dropped), or undefined when it is not a bare `host[:port]`.
 */
export function normalizeAvatarHost(host: string): string | undefined {
  if (host === "" || /[/?#@\\\s]/.test(host)) {
    return undefined;
  }
  try {
    const url = new URL(`https://${host}`);
    return url.hostname === "" ? undefined : url.host;
  } catch {
    return undefined;
  }
}

/**
 * True when `avatar` may be shown to others:
 * - a same-origin path (`/img/a.png`) always, since it names this server's own files;
 * - an `https://host[:port]/…` URL when its host, port included and case ignored, is in
 *   `allowedHosts` or is `ownHost` (the `Host` header the client connected with, i.e. this server
 *   as the client reaches it);
 * - nothing else (`http:`, `//host/x`, `javascript:`, `data:`…), whatever the lists say.
 *
 * A port is part of the host: `cdn.example` allows `https://cdn.example/…` (port 443) but not
 * `https://cdn.example:8443/…`; list `cdn.example:8443` for that.
 */
export function isAllowedAvatar(avatar: string, allowedHosts: readonly string[], ownHost?: string): boolean {
  if (!isAvatarShape(avatar)) {
    return false;
  }
  if (avatar.startsWith("/")) {
    return true;
  }
  const host = new URL(avatar).host;
  if (ownHost !== undefined && normalizeAvatarHost(ownHost) === host) {
    return true;
  }
  return allowedHosts.some((allowed) => normalizeAvatarHost(allowed) === host);
}
