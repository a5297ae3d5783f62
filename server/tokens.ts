/**
 * Signed join and login tokens (JWS compact serialization, verified with `jose`), minted by the
 * embedding application's backend or by `webrtc-room token`.
 *
 * What a token must be to pass: signed with the one algorithm the configured key allows (HS256 for
 * a secret, EdDSA for an Ed25519 public key; `none` and every other algorithm are refused before
 * the signature is looked at), `aud` naming {@link TOKEN_AUDIENCE}, `iss` equal to the configured
 * issuer when there is one, `exp` present and not passed, `nbf` (when present) reached, both with
 * {@link CLOCK_TOLERANCE_SECONDS} of tolerance, and a `kind` claim saying which of the two kinds it
 * is, so that a join token never logs in and a login token never joins. Every refusal carries its
 * own stable error code (docs/protocol.md); the verifier never throws for a bad token.
 */
import { errors, importJWK, importSPKI, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";
import * as v from "valibot";
import { AvatarSchema, UserIdSchema } from "../shared/protocol/presence.ts";
import { RoomNameSchema, UsernameSchema } from "../shared/protocol/room.ts";
import type { ErrorCode } from "../shared/protocol/index.ts";

/** The `aud` every token must name. */
export const TOKEN_AUDIENCE = "webrtc-room";

/** Seconds by which `exp` and `nbf` may be off, for clocks that disagree a little. */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** Fewest bytes (UTF-8) an HS256 secret may have: the hash's own size, as RFC 7518 §3.2 requires. */
export const MIN_SECRET_BYTES = 32;

/** The claim that tells the two kinds of token apart. */
export const TOKEN_KINDS = ["join", "login"] as const;

/** `join` (a room) or `login` (calls and presence). */
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** The key tokens are verified with: a shared secret or an Ed25519 public key. */
export type TokenKeySettings =
  | { kind: "secret"; secret: string }
  /** `publicKey` is the key itself, as a JWK (JSON text) or an SPKI PEM block. */
  | { kind: "publicKey"; publicKey: string };

/** How tokens are verified: the key and, when set, the only issuer accepted. */
export interface TokenSettings {
  key: TokenKeySettings;
  issuer?: string;
}

/** What a join token allows beyond joining its room. Absent grants are false. */
export interface JoinGrants {
  /** May send media; without it the participant is a viewer. */
  publish: boolean;
  /** May use data channels. */
  data: boolean;
  /** May lock the room, remove and mute others, admit from the lobby. */
  host: boolean;
  /** Not announced to the other participants. */
  hidden: boolean;
  /** Skips the lobby when the room has one. */
  bypassLobby: boolean;
}

/** A verified join token. */
export interface JoinClaims {
  kind: "join";
  /** `sub`: the participant's stable user id in the application. */
  userId: string;
  room: string;
  /** `name`: the display name the participant joins under. */
  name: string;
  grants: JoinGrants;
  expiresAtMs: number;
}

/** A verified login token. */
export interface LoginClaims {
  kind: "login";
  /** `sub`: becomes the login's `userID`. */
  userId: string;
  /** `name`: the display name; the user id when absent. */
  name?: string;
  avatar?: string;
  /** `call`; `device`: the login is a device (a camera) that anyone may watch without asking. */
  grants: { call: boolean; device: boolean };
  expiresAtMs: number;
}

/** The result of a verification: the claims, or the stable code of the refusal and why. */
export type TokenVerdict<Claims> = { ok: true; claims: Claims } | { ok: false; code: ErrorCode; message: string };

/** A grant claim: a boolean, false when absent. */
const GrantSchema = v.optional(v.boolean(), false);

const JoinClaimsSchema = v.object({
  sub: UserIdSchema,
  room: RoomNameSchema,
  name: UsernameSchema,
  exp: v.number(),
  grants: v.optional(
    v.object({ publish: GrantSchema, data: GrantSchema, host: GrantSchema, hidden: GrantSchema, bypassLobby: GrantSchema }),
    {},
  ),
});

const LoginClaimsSchema = v.object({
  sub: UserIdSchema,
  name: v.optional(UsernameSchema),
  avatar: v.optional(AvatarSchema),
  exp: v.number(),
  grants: v.optional(v.object({ call: GrantSchema, device: GrantSchema }), {}),
});

/** The algorithms a key of `kind` verifies; anything else is `token_algorithm`. */
function algorithmsFor(kind: TokenKeySettings["kind"]): string[] {
  // "Ed25519" is the fully specified name (RFC 9864) of what "EdDSA" names with this key.
  return kind === "secret" ? ["HS256"] : ["EdDSA", "Ed25519"];
}

/** Thrown by {@link TokenVerifier.create} for a key that cannot be used. */
export class TokenKeyError extends Error {
  override name = "TokenKeyError";
}

/** The bytes of an HS256 secret, refused when shorter than {@link MIN_SECRET_BYTES}. */
export function secretBytes(secret: string): Uint8Array {
  const bytes = new TextEncoder().encode(secret);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new TokenKeyError(`the token secret must be at least ${MIN_SECRET_BYTES} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** Imports an Ed25519 public key given as a JWK (JSON text) or an SPKI PEM block. */
async function importPublicKey(text: string): Promise<CryptoKey> {
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith("{")) {
      const jwk = JSON.parse(trimmed) as JWK;
      if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || jwk.d !== undefined) {
        throw new TokenKeyError("the public key JWK must be an Ed25519 public key (kty OKP, crv Ed25519, no d)");
      }
      return (await importJWK(jwk, "EdDSA")) as CryptoKey;
    }
    return await importSPKI(trimmed, "EdDSA");
  } catch (error) {
    if (error instanceof TokenKeyError) {
      throw error;
    }
    throw new TokenKeyError(`the token public key is not an Ed25519 public key as JWK or PEM (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** The stable code and explanation of a `jose` verification failure. */
function refusalOf(error: unknown): { code: ErrorCode; message: string } {
  if (error instanceof errors.JWTExpired) {
    return { code: "token_expired", message: "the token has expired" };
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "aud":
        return { code: "token_wrong_audience", message: `the token's aud must be "${TOKEN_AUDIENCE}"` };
      case "iss":
        return { code: "token_wrong_issuer", message: "the token's iss is not the issuer this server trusts" };
      case "nbf":
        if (error.reason === "check_failed") {
          return { code: "token_not_yet_valid", message: "the token is not valid yet (nbf)" };
        }
    }
    return { code: "token_invalid", message: `the token's ${error.claim} claim is missing or malformed` };
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return { code: "token_algorithm", message: "the token's algorithm is not the one this server's key allows" };
  }
  if (error instanceof errors.JOSEError) {
    // Signature verification failed, malformed JWS or JWT, unsupported header parameters.
    return { code: "token_invalid", message: "the token is not a valid signed token for this server" };
  }
  throw error;
}

/** Verifies join and login tokens against one configured key. */
export class TokenVerifier {
  readonly #key: Uint8Array | CryptoKey;
  readonly #algorithms: string[];
  readonly #issuer: string | undefined;

  private constructor(key: Uint8Array | CryptoKey, algorithms: string[], issuer: string | undefined) {
    this.#key = key;
    this.#algorithms = algorithms;
    this.#issuer = issuer;
  }

  /** A verifier for `settings`; rejects with {@link TokenKeyError} for a key that cannot be used. */
  static async create(settings: TokenSettings): Promise<TokenVerifier> {
    const key = settings.key.kind === "secret" ? secretBytes(settings.key.secret) : await importPublicKey(settings.key.publicKey);
    return new TokenVerifier(key, algorithmsFor(settings.key.kind), settings.issuer);
  }

  /** Verifies a join token for `room`: `token_wrong_room` when it was issued for another room. */
  async verifyJoin(token: string, room: string, nowMs = Date.now()): Promise<TokenVerdict<JoinClaims>> {
    const payload = await this.#verify(token, "join", nowMs);
    if (!payload.ok) {
      return payload;
    }
    const parsed = v.safeParse(JoinClaimsSchema, payload.claims);
    if (!parsed.success) {
      return { ok: false, code: "token_invalid", message: `the join token's claims are malformed: ${parsed.issues[0].message}` };
    }
    const claims = parsed.output;
    if (claims.room !== room) {
      return { ok: false, code: "token_wrong_room", message: "the join token is for another room" };
    }
    return {
      ok: true,
      claims: { kind: "join", userId: claims.sub, room: claims.room, name: claims.name, grants: claims.grants, expiresAtMs: claims.exp * 1000 },
    };
  }

  /** Verifies a login token. */
  async verifyLogin(token: string, nowMs = Date.now()): Promise<TokenVerdict<LoginClaims>> {
    const payload = await this.#verify(token, "login", nowMs);
    if (!payload.ok) {
      return payload;
    }
    const parsed = v.safeParse(LoginClaimsSchema, payload.claims);
    if (!parsed.success) {
      return { ok: false, code: "token_invalid", message: `the login token's claims are malformed: ${parsed.issues[0].message}` };
    }
    const claims = parsed.output;
    return {
      ok: true,
      claims: { kind: "login", userId: claims.sub, name: claims.name, avatar: claims.avatar, grants: claims.grants, expiresAtMs: claims.exp * 1000 },
    };
  }

  /** Signature, algorithm, audience, issuer, times and kind; the payload when all hold. */
  async #verify(token: string, kind: TokenKind, nowMs: number): Promise<TokenVerdict<JWTPayload>> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#key, {
        algorithms: this.#algorithms,
        audience: TOKEN_AUDIENCE,
        issuer: this.#issuer,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(nowMs),
        requiredClaims: ["exp", "sub"],
      }));
    } catch (error) {
      return { ok: false, ...refusalOf(error) };
    }
    if (payload.kind !== kind) {
      return { ok: false, code: "token_wrong_kind", message: `a ${kind} needs a ${kind} token` };
    }
    return { ok: true, claims: payload };
  }
}

/** What {@link mintToken} puts in a token. */
export type MintRequest =
  | { kind: "join"; userId: string; room: string; name: string; grants: Partial<JoinGrants> }
  | { kind: "login"; userId: string; name?: string; avatar?: string; grants: { call?: boolean; device?: boolean } };

/**
 * Signs a token with an HS256 `secret` (what `webrtc-room token` does; an application's backend
 * would use its own JOSE library). It lives `ttlSeconds` from `nowMs`.
 */
export async function mintToken(request: MintRequest, secret: string, ttlSeconds: number, options: { issuer?: string; nowMs?: number } = {}): Promise<string> {
  const nowSeconds = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const { kind, userId, grants, ...named } = request;
  const jwt = new SignJWT({ kind, ...named, grants })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + ttlSeconds);
  if (options.issuer !== undefined) {
    jwt.setIssuer(options.issuer);
  }
  return jwt.sign(secretBytes(secret));
}
