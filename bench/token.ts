/**
 * `npm run bench:token`: the cost of verifying one join token, as the join handler pays it
 * (`TokenVerifier.verifyJoin`: signature, algorithm, audience, times, kind, claims, room), for an
 * HS256 secret and an Ed25519 public key. Prints JSON: the median and p99 microseconds of single
 * verifications, each timed alone after a warm-up, on this one thread.
 */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { TOKEN_AUDIENCE, TokenVerifier } from "../server/tokens.ts";

const WARMUP = Number(process.env.BENCH_WARMUP ?? 2_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 20_000);
const SECRET = "a-benchmark-secret-of-more-than-32-bytes";
const ROOM = "standup";

/** Claims of a typical join token. */
function claims(): Record<string, unknown> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  return { kind: "join", sub: "user-4711", room: ROOM, name: "Ada Lovelace", aud: TOKEN_AUDIENCE, iat: nowSeconds, exp: nowSeconds + 600, grants: { publish: true, data: true } };
}

/** Median and p99 of single `verifyJoin` calls, in microseconds. */
async function measure(verifier: TokenVerifier, token: string): Promise<{ medianMicros: number; p99Micros: number }> {
  for (let index = 0; index < WARMUP; index += 1) {
    const verdict = await verifier.verifyJoin(token, ROOM);
    if (!verdict.ok) {
      throw new Error(`the benchmark token was refused: ${verdict.code}`);
    }
  }
  const micros: number[] = [];
  for (let index = 0; index < SAMPLES; index += 1) {
    const startMs = performance.now();
    await verifier.verifyJoin(token, ROOM);
    micros.push((performance.now() - startMs) * 1000);
  }
  micros.sort((a, b) => a - b);
  const at = (fraction: number): number => Number((micros[Math.min(micros.length - 1, Math.floor(micros.length * fraction))] ?? Number.NaN).toFixed(1));
  return { medianMicros: at(0.5), p99Micros: at(0.99) };
}

const hsVerifier = await TokenVerifier.create({ key: { kind: "secret", secret: SECRET } });
const hsToken = await new SignJWT(claims()).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(SECRET));

const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
const edVerifier = await TokenVerifier.create({ key: { kind: "publicKey", publicKey: JSON.stringify(await exportJWK(publicKey)) } });
const edToken = await new SignJWT(claims()).setProtectedHeader({ alg: "EdDSA" }).sign(privateKey);

process.stdout.write(`${JSON.stringify({
  node: process.version,
  samples: SAMPLES,
  hs256: await measure(hsVerifier, hsToken),
  eddsa: await measure(edVerifier, edToken),
}, null, 2)}\n`);
