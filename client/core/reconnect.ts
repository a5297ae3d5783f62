/**
 * Reconnect policies: how long to wait before each attempt to reach the server again, and when to
 * stop trying.
 *
 * A policy is a plain function so that an application can swap in its own (a fixed delay in a
 * test, a longer budget on mobile) without subclassing anything. The default is exponential
 * backoff with full jitter: the delay is drawn uniformly from `[0, min(cap, base × factor^(n−1))]`,
 * which spreads a room full of clients that lost the same server over the whole window instead of
 * letting them knock again in lockstep (the "thundering herd" after a restart).
 */

/**
 * The delay in milliseconds before reconnect attempt `attempt` (1-based, counted from the moment
 * the connection was lost), or `null` to give up. Called once per attempt.
 */
export type ReconnectPolicy = (attempt: number) => number | null;

/** Options of {@link exponentialBackoff}. */
export interface BackoffOptions {
  /** Upper bound of the first delay. */
  baseDelayMs?: number;
  /** Growth of the upper bound per attempt. */
  factor?: number;
  /** The upper bound never grows past this. */
  maxDelayMs?: number;
  /** Give up after this many attempts. */
  maxAttempts?: number;
  /** Source of randomness in `[0, 1)`; tests pass a constant. */
  random?: () => number;
}

/** Upper bound of the first delay of {@link DEFAULT_RECONNECT_POLICY}. */
export const RECONNECT_BASE_DELAY_MS = 250;
/** Growth of the bound per attempt. */
export const RECONNECT_FACTOR = 2;
/** Largest delay between two attempts. */
export const RECONNECT_MAX_DELAY_MS = 5_000;
/**
 * Attempts before {@link DEFAULT_RECONNECT_POLICY} gives up. With the defaults above the delays
 * add up to about 90 s on average and 3 min at most: enough for a server restart or a train
 * tunnel; past that the user is better served by an error than by a spinner.
 */
export const RECONNECT_MAX_ATTEMPTS = 40;

/**
 * Exponential backoff with full jitter. The policy is stateless (the attempt number is all it
 * needs), so one policy may serve any number of clients.
 */
export function exponentialBackoff(options: BackoffOptions = {}): ReconnectPolicy {
  const baseDelayMs = options.baseDelayMs ?? RECONNECT_BASE_DELAY_MS;
  const factor = options.factor ?? RECONNECT_FACTOR;
  const maxDelayMs = options.maxDelayMs ?? RECONNECT_MAX_DELAY_MS;
  const maxAttempts = options.maxAttempts ?? RECONNECT_MAX_ATTEMPTS;
  const random = options.random ?? Math.random;
  return (attempt) => {
    if (attempt > maxAttempts) {
      return null;
    }
    // `factor ** (attempt − 1)` overflows to Infinity long after the cap applies; min() handles it.
    const boundMs = Math.min(maxDelayMs, baseDelayMs * factor ** (Math.max(1, attempt) - 1));
    return Math.round(random() * boundMs);
  };
}

/** The policy a {@link MeshSession} uses unless told otherwise. */
export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = exponentialBackoff();
