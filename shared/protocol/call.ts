/**
 * Call family of the wire protocol: one-to-one calls, adapted to peer-to-peer media.
 *
 * Names, fields and values are kept from the original protocol (`NotResponse` keeps its capital N),
 * which had a media server (Kurento) answer the caller's offer; here the callee's browser answers and the
 * server only relays:
 * - the caller creates the SDP offer and sends it in `call.sdpOffer`;
 * - the callee receives it in `incomingCall.sdpOffer`, answers, and sends the answer in
 *   `incomingCallResponse.sdpAnswer` (the original field name `sdpOffer` is accepted there as an alias);
 * - the caller receives the answer in `callResponse {callResponse: "accepted", sdpAnswer}`; the callee
 *   receives `startCommunication` without SDP (it produced the answer itself);
 * - ICE candidates go up in `onIceCandidate` and come down to the other party in `iceCandidate`;
 * - once the call is accepted, either party may renegotiate (a new track, a data channel, an ICE
 *   restart) with `callDescription`, relayed unchanged to the other party.
 * SDP travels as the bare `sdp` string of an `RTCSessionDescription`, as originally specified.
 * The caller's identity is stamped by the server from the login: a `callerID` in `call` is ignored.
 */
import * as v from "valibot";
import { UserIdSchema } from "./presence.ts";
import { IceCandidateSchema, SdpTextSchema, type IceCandidate, type SessionDescription } from "./room.ts";

/** The `sdp` text of an `RTCSessionDescription`, bounded like the room family's. */
const SdpSchema = v.pipe(SdpTextSchema, v.minLength(1, "SDP must not be empty"));

/** Server-assigned call id (`c1`, `c2`…), echoed by the callee to answer one precise ring. */
const CallIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/));

/** `call`: ring `calleeID`, offering `sdpOffer`. Any `callerID` sent is dropped by the decoder. */
export const CallSchema = v.object({
  type: v.literal("call"),
  calleeID: UserIdSchema,
  sdpOffer: SdpSchema,
});

/** What a callee may answer to a ring. `exception`: it accepted but could not set up media. */
export const INCOMING_CALL_ANSWERS = ["accepted", "rejected", "exception"] as const;

/**
 * `incomingCallResponse`: the callee's answer to the ring from `callerID`. `accepted` needs the SDP
 * answer, in `sdpAnswer` or, under its original name, `sdpOffer` (checked by the call module, because
 * a schema inside the `type` variant cannot relate two fields). `callId`, when given, must name the
 * ringing call; it protects against answering an older ring from the same caller.
 */
export const IncomingCallResponseSchema = v.object({
  type: v.literal("incomingCallResponse"),
  callerID: UserIdSchema,
  callResponse: v.picklist(INCOMING_CALL_ANSWERS),
  callId: v.optional(CallIdSchema),
  sdpAnswer: v.optional(SdpSchema),
  /** The original name of the callee's SDP; read as `sdpAnswer` when that is absent. */
  sdpOffer: v.optional(SdpSchema),
});

/** `stopCall`: the caller cancels before the answer. The server treats it exactly like `stop`. */
export const StopCallSchema = v.object({ type: v.literal("stopCall") });

/** Reasons a client may give when it ends a call. */
export const CLIENT_STOP_REASONS = ["normal", "exception"] as const;

/**
 * `stop`: hang up whatever call this user is in (ringing as caller = cancel, ringing as callee =
 * reject, accepted = end). `reason` defaults to `normal`; `exception` says the media failed.
 */
export const StopSchema = v.object({
  type: v.literal("stop"),
  reason: v.optional(v.picklist(CLIENT_STOP_REASONS)),
});

/** `onIceCandidate`: one trickled ICE candidate for the other party of the call. */
export const OnIceCandidateSchema = v.object({
  type: v.literal("onIceCandidate"),
  candidate: IceCandidateSchema,
});

/**
 * `callDescription`: an SDP offer or answer for the other party of an accepted call, to renegotiate
 * (add a track or a data channel) or restart ICE. The first offer and answer still travel in `call`
 * and `incomingCallResponse`; this one is refused while the call rings (`invalid_state`).
 */
export const CallDescriptionSchema = v.object({
  type: v.literal("callDescription"),
  sdp: v.object({ type: v.picklist(["offer", "answer"]), sdp: SdpSchema }),
});

/** The call schemas, in the order to add them to the client `v.variant`. */
export const CALL_CLIENT_SCHEMAS = [CallSchema, IncomingCallResponseSchema, StopCallSchema, StopSchema, OnIceCandidateSchema, CallDescriptionSchema] as const;

/** A validated client message of the call family. */
export type CallClientMessage =
  | v.InferOutput<typeof CallSchema>
  | v.InferOutput<typeof IncomingCallResponseSchema>
  | v.InferOutput<typeof StopCallSchema>
  | v.InferOutput<typeof StopSchema>
  | v.InferOutput<typeof OnIceCandidateSchema>
  | v.InferOutput<typeof CallDescriptionSchema>;

/** Every `callResponse` value. */
export const CALL_RESPONSES = ["notOnline", "inCalling", "rejected", "NotResponse", "accepted", "exception"] as const;

/** The caller's outcome of a `call`. */
export type CallResponseValue = (typeof CALL_RESPONSES)[number];

/**
 * Why the other party ended an accepted call: `normal` and `exception` come from its `stop`;
 * `disconnected` (its connection closed) and `replaced` (it logged in from another connection) are
 * set by the server.
 */
export type StopReason = (typeof CLIENT_STOP_REASONS)[number] | "disconnected" | "replaced";

/** Call messages the server sends. */
export type CallServerMessage =
  | {
      /** The caller's outcome. `sdpAnswer` is present with `accepted` only. */
      type: "callResponse";
      callResponse: CallResponseValue;
      /** Whom the `call` was for, so that a late answer to a cancelled call cannot be mistaken. */
      calleeID: string;
      sdpAnswer?: string;
    }
  | {
      /** Rings the callee: the caller's identity, stamped by the server, and its SDP offer. */
      type: "incomingCall";
      callId: string;
      callerID: string;
      username: string;
      /** Empty string when the caller has none (the field is always sent, as originally specified). */
      avatar: string;
      sdpOffer: string;
    }
  | {
      /** The caller cancelled or went away before the answer: a missed call. */
      type: "incomingCallStopped";
      callId: string;
      callerID: string;
    }
  | {
      /** The ring timed out: a missed call. The caller gets `callResponse NotResponse`. */
      type: "incomingCallNotResponse";
      callId: string;
      callerID: string;
    }
  | {
      /** To the callee once its acceptance is recorded: media may flow. No SDP (it made the answer). */
      type: "startCommunication";
      callId: string;
      callerID: string;
    }
  | {
      /** An ICE candidate from the other party. */
      type: "iceCandidate";
      candidate: IceCandidate;
    }
  | {
      /** A renegotiation offer or answer from the other party of the accepted call, as it sent it. */
      type: "callDescription";
      sdp: SessionDescription;
    }
  | {
      /** The other party ended the accepted call. */
      type: "stopCommunication";
      reason: StopReason;
    };
