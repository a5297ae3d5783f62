/**
 * Memory the server holds for ringing calls' ICE candidates, per call pair, as the worst client
 * sequence makes it: both parties trickle the largest candidates the protocol lets through until
 * the server refuses more. Runs the pure call registry on frames parsed exactly as the socket layer
 * parses them, and prints retained heap per call pair for two rules:
 * - "before": the rules until the candidate caps (64 candidates per call, each field bounded only by
 *   the 64 KiB frame);
 * - "now": the schema caps plus the per-user bound (`MAX_PENDING_CANDIDATES`,
 *   `MAX_PENDING_CANDIDATE_CHARS`).
 *
 * Run: node --expose-gc --import tsx bench/held-candidates.ts [pairs]
 */
import { CallRegistry, MAX_PENDING_CANDIDATES, MAX_PENDING_CANDIDATE_CHARS, type CallRegistryOptions } from "../server/calls.ts";
import { LoginDirectory } from "../server/logins.ts";
import { ICE_CANDIDATE_MAX_LENGTH, SDP_MID_MAX_LENGTH, USERNAME_FRAGMENT_MAX_LENGTH, decodeClientMessage } from "../shared/protocol/index.ts";
import type { IceCandidate } from "../shared/protocol/room.ts";

const PAIRS = Number(process.argv[2] ?? 200);
/** The default `maxMessageBytes`: before the caps, the only bound on one candidate. */
const FRAME_BYTES = 64 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  throw new Error("run with node --expose-gc");
}

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

/** An `onIceCandidate` frame as a client would send it, parsed into a fresh candidate object. */
function parsedCandidate(candidateChars: number, sdpMidChars: number, ufragChars: number, validate: boolean, char = "c"): IceCandidate {
  const frame = JSON.stringify({
    type: "onIceCandidate",
    candidate: { candidate: char.repeat(candidateChars), sdpMid: "m".repeat(sdpMidChars), sdpMLineIndex: 0, usernameFragment: "u".repeat(ufragChars) },
  });
  if (!validate) {
    return (JSON.parse(frame) as { candidate: IceCandidate }).candidate;
  }
  const decoded = decodeClientMessage(frame);
  if (!decoded.ok || decoded.message.type !== "onIceCandidate") {
    throw new Error(`refused: ${decoded.ok ? decoded.message.type : decoded.message}`);
  }
  return decoded.message.candidate;
}

/** Retained bytes per ringing call pair after both parties filled what a registry with `options` holds. */
function measure(label: string, options: CallRegistryOptions, candidate: () => IceCandidate): void {
  const logins = new LoginDirectory();
  const registry = new CallRegistry(logins, options);
  for (let pair = 0; pair < PAIRS; pair += 1) {
    logins.login(`a${pair}`, { type: "login", userID: `a${pair}` }, "reclaim_key");
    logins.login(`b${pair}`, { type: "login", userID: `b${pair}` }, "reclaim_key");
  }
  for (let pair = 0; pair < PAIRS; pair += 1) {
    registry.handle(`a${pair}`, { type: "call", calleeID: `b${pair}`, sdpOffer: "v=0" });
  }
  const before = heapUsed();
  let held = 0;
  for (let pair = 0; pair < PAIRS; pair += 1) {
    for (const from of [`a${pair}`, `b${pair}`]) {
      // Refusals cost nothing to keep; stop at the first.
      while (registry.handle(from, { type: "onIceCandidate", candidate: candidate() }).ok) {
        held += 1;
      }
    }
  }
  const retained = heapUsed() - before;
  console.log(`${label.padEnd(12)} ${(held / PAIRS).toFixed(0).padStart(4)} candidates/pair  ${(retained / PAIRS / 1024).toFixed(1).padStart(8)} KiB/pair  (${PAIRS} pairs)`);
}

console.log(`held ICE candidates per ringing call pair, worst case (bound now: ${MAX_PENDING_CANDIDATES} candidates and ${MAX_PENDING_CANDIDATE_CHARS} characters per user)`);
// Before: the old bound was 64 per call, whoever sent them; one candidate nearly filled a frame.
measure("before", { maxPendingCandidates: MAX_PENDING_CANDIDATES / 2, maxPendingCandidateChars: Number.POSITIVE_INFINITY }, () =>
  parsedCandidate(FRAME_BYTES - 200, 0, 0, false),
);
measure("now", {}, () => parsedCandidate(ICE_CANDIDATE_MAX_LENGTH, SDP_MID_MAX_LENGTH, USERNAME_FRAGMENT_MAX_LENGTH, true));
// Characters outside Latin-1 make V8 store two bytes per character.
measure("now, 2-byte", {}, () => parsedCandidate(ICE_CANDIDATE_MAX_LENGTH, SDP_MID_MAX_LENGTH, USERNAME_FRAGMENT_MAX_LENGTH, true, "\u4e2d"));
measure("now, tiny", {}, () => parsedCandidate(1, 0, 0, true));
measure("typical", {}, () => parsedCandidate(120, 1, 4, true));
