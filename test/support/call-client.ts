/**
 * Helpers for the call and presence integration tests: raw WebSocket clients (see
 * {@link TestClient}) that log in, ring each other and read the presence trail they received.
 */
import type { PresenceStatus, PresenceUser, ServerMessage } from "../../shared/protocol/index.ts";
import { TestClient } from "./ws-client.ts";

/** Syntactically valid SDP: the server relays it verbatim and never parses it. */
export const OFFER_SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=offer\r\n";
export const ANSWER_SDP = "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=answer\r\n";
export const CANDIDATE_1 = { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 };
export const CANDIDATE_2 = { candidate: "candidate:2 1 udp 2122260222 127.0.0.1 50001 typ host", sdpMid: "0", sdpMLineIndex: 0 };

/** A logged-in raw client and what the server told it at login. */
export interface LoggedIn {
  client: TestClient;
  userID: string;
  /** The `presence` snapshot it received right after `loginResponse accepted`. */
  directory: PresenceUser[];
  /** The reclaim key `loginResponse accepted` gave it: what a later login of this user needs while it is online. */
  reclaimKey: string;
}

/** What `login` may carry besides the user id. */
export interface LoginExtras {
  username?: string;
  avatar?: string;
  /** The reclaim key of the login of this user id that is online, to take it over. */
  reclaimKey?: string;
}

/**
 * Logs `client` in as `userID` and waits for `loginResponse accepted` then the `presence`
 * snapshot. Throws with the server's answer when the login is refused.
 */
export async function logIn(client: TestClient, userID: string, extras: LoginExtras = {}): Promise<LoggedIn> {
  client.send({ type: "login", userID, ...extras });
  const response = await client.next("loginResponse");
  if (response.content !== "accepted") {
    throw new Error(`login as "${userID}" refused: ${response.code} (${response.error})`);
  }
  const presence = await client.next("presence");
  return { client, userID: response.userID, directory: presence.users, reclaimKey: response.reclaimKey };
}

/** Sends `call` from `caller` to `calleeID` and waits for the callee's `incomingCall`. */
export async function ring(caller: LoggedIn, callee: LoggedIn, sdpOffer = OFFER_SDP): Promise<Extract<ServerMessage, { type: "incomingCall" }>> {
  caller.client.send({ type: "call", calleeID: callee.userID, sdpOffer });
  return callee.client.next("incomingCall", (message) => message.callerID === caller.userID);
}

/**
 * Rings `callee` and has it accept; resolves once the caller has `callResponse accepted` and the
 * callee `startCommunication`.
 */
export async function connectCall(caller: LoggedIn, callee: LoggedIn): Promise<void> {
  const incoming = await ring(caller, callee);
  callee.client.send({ type: "incomingCallResponse", callerID: caller.userID, callId: incoming.callId, callResponse: "accepted", sdpAnswer: ANSWER_SDP });
  await caller.client.next("callResponse", (message) => message.callResponse === "accepted");
  await callee.client.next("startCommunication");
}

/**
 * The statuses of `userID` that `client` was told about, in order: every `presenceUpdate` for it,
 * and `offline` for a `presenceLeft`, reading a coalesced `presenceChanges` the way a client applies
 * it (its `left` first, then its `users`). Reads everything received so far, consumed or not.
 */
export function statusTrail(client: TestClient, userID: string): Array<PresenceStatus | "offline"> {
  const trail: Array<PresenceStatus | "offline"> = [];
  for (const message of client.received) {
    if (message.type === "presenceUpdate" && message.user.userID === userID) {
      trail.push(message.user.status);
    } else if (message.type === "presenceLeft" && message.userID === userID) {
      trail.push("offline");
    } else if (message.type === "presenceChanges") {
      if (message.left.includes(userID)) {
        trail.push("offline");
      }
      for (const user of message.users) {
        if (user.userID === userID) {
          trail.push(user.status);
        }
      }
    }
  }
  return trail;
}

/** Waits until the last status of `userID` that `client` was told is `status`. */
export async function untilStatus(client: TestClient, userID: string, status: PresenceStatus | "offline", timeoutMs?: number): Promise<void> {
  await eventually(`told that ${userID} is ${status}`, () => statusTrail(client, userID).at(-1) === status, timeoutMs);
}

/** Call-family and presence messages `client` received, in order (no pongs, no room traffic). */
export function callAndPresenceMessages(client: TestClient): ServerMessage[] {
  const PRESENCE_AND_CALL_TYPES = new Set<ServerMessage["type"]>([
    "loginResponse",
    "presence",
    "presenceUpdate",
    "presenceLeft",
    "presenceChanges",
    "loggedOut",
    "callResponse",
    "incomingCall",
    "incomingCallStopped",
    "incomingCallNotResponse",
    "startCommunication",
    "iceCandidate",
    "stopCommunication",
  ]);
  return client.received.filter((message) => PRESENCE_AND_CALL_TYPES.has(message.type));
}

/**
 * Polls until `condition` holds; fails with `description` after `timeoutMs`. Used for presence
 * trails, which arrive over several messages.
 */
export async function eventually(description: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${description}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
