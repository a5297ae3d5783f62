/**
 * Short-lived TURN credentials in the TURN REST API scheme that coturn implements with
 * `use-auth-secret`: username `<expiry-unix-seconds>:<session id>`, password
 * `base64(HMAC-SHA1(secret, username))`. The shared secret never leaves the server.
 *
 * The session id is the one `joined.id` / `loginResponse.id` states and `resume` keeps, so a
 * credential found in the wild (coturn logs it on every allocation) names the participant or login
 * it was issued to. {@link SessionIceServers} holds one credential per live session and hands the
 * same one out again until a quarter of its lifetime is left: asking again yields nothing new.
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

/** Credentials for session `sessionId`, valid until `nowMs + credentialTtlSeconds` (whole seconds). */
export function issueTurnCredentials(settings: TurnSettings, sessionId: string, nowMs: number): IssuedTurnCredentials {
  const expiresAtSeconds = Math.floor(nowMs / 1000) + settings.credentialTtlSeconds;
  const username = `${expiresAtSeconds}:${sessionId}`;
  const credential = createHmac("sha1", settings.secret).update(username).digest("base64");
  return { iceServer: { urls: [...settings.urls], username, credential }, expiresAtMs: expiresAtSeconds * 1000 };
}

/** The ICE servers one client gets, and when their TURN credentials expire (absent without TURN). */
export interface IssuedIceServers {
  iceServers: IceServer[];
  iceServersExpireAtMs?: number;
}

/** What `joined`, `resumed`, `ice_servers` and `loginResponse` carry: the STUN servers, then the TURN entry. */
function withTurn(stun: readonly IceServer[], issued: IssuedTurnCredentials): IssuedIceServers {
  return { iceServers: [...stun, issued.iceServer], iceServersExpireAtMs: issued.expiresAtMs };
}

/**
 * Share of a credential's lifetime that must be left for it to be handed out again: with less, a
 * new one is issued. Clients ask again after 80 % of what they were given (client/core's
 * `ICE_REFRESH_AT_FRACTION`), i.e. with at most 20 % left, so their refresh always gets a new one.
 */
export const TURN_REISSUE_REMAINING_FRACTION = 0.25;

/**
 * The ICE servers of every live session, with at most one TURN credential per session: the one
 * issued last, handed out again (same username, password and expiry) while more than
 * {@link TURN_REISSUE_REMAINING_FRACTION} of its lifetime is left, replaced only then. Asking in a
 * loop therefore collects one credential per session and quarter lifetime. The server calls
 * {@link forget} when a session ends, so no credential outlives the record of who holds it. Pure
 * apart from the clock passed in.
 */
export class SessionIceServers {
  readonly #stun: readonly IceServer[];
  readonly #turn: TurnSettings | undefined;
  /** session id → the credential issued to it last. */
  readonly #issued = new Map<string, IssuedTurnCredentials>();

  constructor(stun: readonly IceServer[], turn: TurnSettings | undefined) {
    this.#stun = [...stun];
    this.#turn = turn;
  }

  /** True when there is anything to hand out (STUN servers, or TURN). */
  get handsOut(): boolean {
    return this.#stun.length > 0 || this.#turn !== undefined;
  }

  /** The ICE servers for session `sessionId` at `nowMs` (epoch ms): its credential, or a new one when it runs out soon. */
  for(sessionId: string, nowMs: number): IssuedIceServers {
    const turn = this.#turn;
    if (!turn) {
      return { iceServers: [...this.#stun] };
    }
    const held = this.#issued.get(sessionId);
    const reissueBelowMs = turn.credentialTtlSeconds * 1000 * TURN_REISSUE_REMAINING_FRACTION;
    if (held !== undefined && held.expiresAtMs - nowMs > reissueBelowMs) {
      return withTurn(this.#stun, held);
    }
    const issued = issueTurnCredentials(turn, sessionId, nowMs);
    this.#issued.set(sessionId, issued);
    return withTurn(this.#stun, issued);
  }

  /** Session `sessionId` ended: its credential is not handed out again (it still expires on its own). */
  forget(sessionId: string): void {
    this.#issued.delete(sessionId);
  }
}
