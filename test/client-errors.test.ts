/**
 * The client's error codes: one table with an explanation per code, documented in
 * docs/protocol.md, and one base class under every client error so that `instanceof` and `code`
 * checks written against the older classes keep working.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CLIENT_ERROR_CODES,
  MeshError,
  RoomError,
  ServerRefusalError,
  WebRtcRoomError,
  explainErrorCode,
  isClientErrorCode,
  isServerErrorCode,
} from "../client/core/index.ts";
import { ERROR_CODES } from "../shared/protocol/errors.ts";

const PROTOCOL_DOC = readFileSync(new URL("../docs/protocol.md", import.meta.url), "utf8");

/** The rows of the "Client error codes" table in docs/protocol.md. */
function documentedClientCodes(): string[] {
  const section = PROTOCOL_DOC.split("### Client error codes")[1]?.split("\n## ")[0] ?? "";
  return [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((match) => match[1] ?? "");
}

describe("client error codes", () => {
  it("every client code has a one-line explanation", () => {
    for (const [code, explanation] of Object.entries(CLIENT_ERROR_CODES)) {
      expect(explanation.length, code).toBeGreaterThan(20);
      expect(explanation, code).not.toContain("\n");
    }
  });

  it("docs/protocol.md lists exactly the client codes, in the table's order", () => {
    expect(documentedClientCodes()).toEqual(Object.keys(CLIENT_ERROR_CODES));
  });

  it("no client code reuses a server code", () => {
    for (const code of Object.keys(CLIENT_ERROR_CODES)) {
      expect(isServerErrorCode(code), code).toBe(false);
    }
  });

  it("explainErrorCode explains client and server codes from their tables", () => {
    expect(explainErrorCode("join_timeout")).toBe(CLIENT_ERROR_CODES.join_timeout);
    expect(explainErrorCode("room_full")).toBe(ERROR_CODES.room_full);
    expect(isClientErrorCode("room_full")).toBe(false);
    expect(isClientErrorCode("join_timeout")).toBe(true);
  });
});

describe("error classes", () => {
  it("a room error is a WebRtcRoomError, a MeshError and a RoomError, with its code and cause", () => {
    const cause = new Error("socket");
    const error = new MeshError("join_timeout", "no joined", { cause });
    expect(error).toBeInstanceOf(WebRtcRoomError);
    expect(error).toBeInstanceOf(RoomError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: "join_timeout", message: "no joined", cause, name: "MeshError" });
  });

  it("a server refusal is a WebRtcRoomError carrying the server's code, and not a room error", () => {
    const error = new ServerRefusalError("room_full", "full");
    expect(error).toBeInstanceOf(WebRtcRoomError);
    expect(error).not.toBeInstanceOf(MeshError);
    expect(error.code).toBe("room_full");
  });
});
