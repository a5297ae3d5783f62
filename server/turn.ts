/**
 * Short-lived TURN credentials in the TURN REST API scheme that coturn implements with
 * `use-auth-secret`: username `<expiry-unix-seconds>:<user id>`, password
 * `base64(HMAC-SHA1(secret, username))`. The shared secret never leaves the server.
 */
import { createHmac } from "node:crypto";
import type { IceServer } from "../shared/protocol/index.ts";

/** TURN settings of the server. */
export interface TurnSettings {
  /** `turn:` / `turns:` URLs handed to clients. */
  urls: string[];
  /** coturn's `static-auth-secret`. */
  secret: string;
  /** How long issued credentials stay valid. */
  credentialTtlSeconds: number;
}

/** An ICE server entry with credentials, and when they stop being accepted. */
export interface IssuedTurnCredentials {
  iceServer: IceServer;
  expiresAtMs: number;
}

/** Credentials for `userId`, valid until `nowMs + credentialTtlSeconds`. */
export function issueTurnCredentials(settings: TurnSettings, userId: string, nowMs: number): IssuedTurnCredentials {
  const expiresAtSeconds = Math.floor(nowMs / 1000) + settings.credentialTtlSeconds;
  const username = `${expiresAtSeconds}:${userId}`;
  const credential = createHmac("sha1", settings.secret).update(username).digest("base64");
  return { iceServer: { urls: [...settings.urls], username, credential }, expiresAtMs: expiresAtSeconds * 1000 };
}

/** The ICE servers one client gets, and when their TURN credentials expire (absent without TURN). */
export interface IssuedIceServers {
  iceServers: IceServer[];
  iceServersExpireAtMs?: number;
}

/**
 * What `joined`, `resumed`, `ice_servers` and `loginResponse` carry for `userId`: the STUN servers,
 * plus one TURN entry with credentials valid from `nowMs` when TURN is configured.
 */
export function iceServersFor(stun: readonly IceServer[], turn: TurnSettings | undefined, userId: string, nowMs: number): IssuedIceServers {
  if (!turn) {
    return { iceServers: [...stun] };
  }
  const issued = issueTurnCredentials(turn, userId, nowMs);
  return { iceServers: [...stun, issued.iceServer], iceServersExpireAtMs: issued.expiresAtMs };
}
