/**
 * Messages shared by every family: keep-alive and errors.
 */
import * as v from "valibot";
import type { ErrorCode } from "./errors.ts";

/**
 * `ping`: an application-level keep-alive; the server answers `pong` echoing `t`. `t` must be
 * finite: JSON's `1e999` parses to Infinity, which `JSON.stringify` would echo as `null`.
 */
export const PingSchema = v.object({
  type: v.literal("ping"),
  t: v.optional(v.pipe(v.number(), v.finite("t must be a finite number"))),
});


/** Family-less messages the server sends. */
export type CommonServerMessage =
  | { type: "pong"; t?: number }
  | {
      type: "error";
      code: ErrorCode;
      /** Human-readable detail; may change between versions, do not match on it. */
      message: string;
      /** `type` of the client message that was refused, when it could be read. */
      refType?: string;
    };
