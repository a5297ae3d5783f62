/**
 * Account credentials on the wire: what `login.password` and `new_user.account` carry on a server
 * running with accounts (`--auth accounts`, docs/security.md). The server checks them against its
 * accounts file; the password is never echoed, logged or stored in clear.
 */
import * as v from "valibot";
import { displayTextSchema } from "./text.ts";

/** Longest account password accepted, in UTF-16 code units (the same bound as room passwords). */
export const ACCOUNT_PASSWORD_MAX_LENGTH = 128;

/** Longest account user id, in UTF-16 code units: the bound of `login.userID` (presence.ts). */
const ACCOUNT_USER_ID_MAX_LENGTH = 64;

/** An account password: 1 to {@link ACCOUNT_PASSWORD_MAX_LENGTH} characters, compared after Unicode NFC normalization. */
export const AccountPasswordSchema = v.pipe(
  v.string(),
  v.minLength(1, "password must not be empty"),
  v.maxLength(ACCOUNT_PASSWORD_MAX_LENGTH, `password must be at most ${ACCOUNT_PASSWORD_MAX_LENGTH} characters`),
);

/**
 * `new_user.account`: the account a participant joins a room as. Its own field, because
 * `new_user.password` is the room's password (a room of an accounts server may have one too).
 */
export const AccountCredentialsSchema = v.object({
  userID: displayTextSchema("userID", ACCOUNT_USER_ID_MAX_LENGTH),
  password: AccountPasswordSchema,
});

/** Validated account credentials. */
export type AccountCredentials = v.InferOutput<typeof AccountCredentialsSchema>;
