/**
 * Who is speaking: the audio level of each remote peer, read at a low rate, and an
 * active-speaker decision with hysteresis so that the highlight does not flicker.
 *
 * {@link nextSpeakerState} is the pure decision (table-tested); {@link SpeakerDetector} polls the
 * peers' connections and feeds it. The levels are what the connection knows anyway, no Web Audio
 * graph of our own: first the microphone receiver's `getSynchronizationSources()` `audioLevel`
 * (the level the sender writes into every RTP packet, RFC 6464; synchronous and nearly free in
 * browsers), else `getStats()` `inbound-rtp` `audioLevel` (0–1 linear, the same scale; what
 * @roamhq/wrtc offers, whose synchronization sources carry no level).
 */
import type { RemotePeer } from "./peer-link.ts";

/** How often the levels are read by default: 4 times a second is enough for a meter and a highlight. */
export const AUDIO_LEVEL_INTERVAL_MS = 250;

/** `audioLevel` above which a peer counts as speaking (about −26 dBov; room noise stays below). */
export const SPEAKING_LEVEL = 0.05;

/** How long a peer must be the loudest speaker before it takes over from the active one. */
export const SPEAKER_SWITCH_MS = 750;

/** Where the decision stands: the active speaker and the peer that may take over. */
export interface SpeakerState {
  /** The active speaker; stays through silence, until someone else speaks long enough or it leaves. */
  activeId: string | undefined;
  /** The loudest speaker when it is not the active one. */
  challengerId: string | undefined;
  /** Since when the challenger has led without interruption (ms, the caller's clock). */
  challengerSinceMs: number | undefined;
}

/** Nobody has spoken yet. */
export const NO_SPEAKER: SpeakerState = { activeId: undefined, challengerId: undefined, challengerSinceMs: undefined };

/** Thresholds of {@link nextSpeakerState}. */
export interface SpeakerRules {
  speakingLevel: number;
  switchAfterMs: number;
}

const DEFAULT_RULES: SpeakerRules = { speakingLevel: SPEAKING_LEVEL, switchAfterMs: SPEAKER_SWITCH_MS };

/**
 * The decision after one reading of `levels` (peer id → level, every peer present) at `nowMs`:
 * - the loudest peer at or above `speakingLevel` leads (a tie keeps the active speaker);
 * - a leader other than the active speaker becomes the challenger; once it has led for
 *   `switchAfterMs` without interruption it becomes the active speaker (the first speaker too:
 *   a cough does not take the stage);
 * - silence (nobody above the threshold) clears the challenger and keeps the active speaker;
 * - an active speaker or challenger missing from `levels` (it left) is dropped.
 * Pure.
 */
export function nextSpeakerState(state: SpeakerState, levels: ReadonlyMap<string, number>, nowMs: number, rules: SpeakerRules = DEFAULT_RULES): SpeakerState {
  const activeId = state.activeId !== undefined && levels.has(state.activeId) ? state.activeId : undefined;
  let leaderId: string | undefined;
  let leaderLevel = rules.speakingLevel;
  for (const [id, level] of levels) {
    if (level > leaderLevel || (level === leaderLevel && level >= rules.speakingLevel && (leaderId === undefined || id === activeId))) {
      leaderId = id;
      leaderLevel = level;
    }
  }
  if (leaderId === undefined || leaderId === activeId) {
    return { activeId, challengerId: undefined, challengerSinceMs: undefined };
  }
  const since = state.challengerId === leaderId && state.challengerSinceMs !== undefined ? state.challengerSinceMs : nowMs;
  if (nowMs - since >= rules.switchAfterMs) {
    return { activeId: leaderId, challengerId: undefined, challengerSinceMs: undefined };
  }
  return { activeId, challengerId: leaderId, challengerSinceMs: since };
}

/** One peer's audio level, as the `levels` event reports it. */
export interface PeerAudioLevel {
  peerId: string;
  /** 0–1, linear (`inbound-rtp` `audioLevel`); 0 when the peer sends no audio. */
  level: number;
  /** At or above {@link SPEAKING_LEVEL}. */
  speaking: boolean;
}

/** Options of a {@link SpeakerDetector}. */
export interface SpeakerDetectorOptions {
  /** The peers to read, at each poll. */
  peers: () => Iterable<RemotePeer>;
  intervalMs?: number;
  /** Every poll's levels, one entry per peer (0 while its connection is down). */
  onLevels: (levels: PeerAudioLevel[]) => void;
  /** The active speaker changed (`undefined`: it left and nobody has taken over yet). */
  onActiveSpeaker: (peerId: string | undefined, previousId: string | undefined) => void;
  rules?: SpeakerRules;
}

/**
 * The level the microphone's RTP packets carry (`getSynchronizationSources()`), when the receiver
 * reports one; `undefined` when it cannot tell (no such receiver, no level in its sources).
 */
function packetAudioLevel(connection: RTCPeerConnection, microphoneId: string | undefined): number | undefined {
  const receiver = connection.getReceivers().find((candidate) => candidate.track.id === microphoneId);
  if (!receiver || typeof receiver.getSynchronizationSources !== "function") {
    return undefined;
  }
  // A muted microphone still sends packets, with level 0; a source silent for 10 s is gone from the list.
  return receiver.getSynchronizationSources()[0]?.audioLevel;
}

/**
 * The audio level of `peer`'s microphone on its current connection: from its packets when the
 * receiver tells (see {@link packetAudioLevel}), else from `getStats()`: the `inbound-rtp` audio
 * report of the microphone's track when it can be told apart (`trackIdentifier`), else the
 * loudest audio report (a screen's audio is then counted too). 0 without audio.
 */
async function peerAudioLevel(peer: RemotePeer): Promise<number> {
  const connection = peer.peerConnection;
  if (!connection || !peer.isConnected) {
    return 0;
  }
  const microphoneId = peer.trackBySource("microphone")?.id;
  const fromPackets = packetAudioLevel(connection, microphoneId);
  if (fromPackets !== undefined) {
    return fromPackets;
  }
  let loudest = 0;
  let microphone: number | undefined;
  for (const report of (await connection.getStats()).values()) {
    if (report.type === "inbound-rtp" && report.kind === "audio" && typeof report.audioLevel === "number") {
      loudest = Math.max(loudest, report.audioLevel);
      if (microphoneId !== undefined && report.trackIdentifier === microphoneId) {
        microphone = report.audioLevel;
      }
    }
  }
  return microphone ?? loudest;
}

/** Polls the peers' audio levels and decides the active speaker; see the module comment. */
export class SpeakerDetector {
  readonly #options: SpeakerDetectorOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #polling = false;
  #state: SpeakerState = NO_SPEAKER;

  constructor(options: SpeakerDetectorOptions) {
    this.#options = options;
  }

  /** The active speaker, if any. */
  get activeId(): string | undefined {
    return this.#state.activeId;
  }

  /** Starts polling (again). Safe to call while running. */
  start(): void {
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => void this.#poll(), this.#options.intervalMs ?? AUDIO_LEVEL_INTERVAL_MS);
    }
  }

  /** Stops polling; a poll in flight reports nothing. Safe to call twice. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #poll(): Promise<void> {
    // A slow getStats() (a busy machine) skips a beat instead of piling polls up.
    if (this.#polling) {
      return;
    }
    this.#polling = true;
    try {
      const peers = [...this.#options.peers()];
      const readings = await Promise.all(peers.map((peer) => peerAudioLevel(peer).catch(() => 0)));
      if (this.#timer === undefined) {
        return;
      }
      const speakingLevel = this.#options.rules?.speakingLevel ?? SPEAKING_LEVEL;
      const levels = peers.map((peer, index) => {
        const level = readings[index] ?? 0;
        return { peerId: peer.id, level, speaking: level >= speakingLevel };
      });
      this.#options.onLevels(levels);
      const previousId = this.#state.activeId;
      this.#state = nextSpeakerState(this.#state, new Map(levels.map(({ peerId, level }) => [peerId, level])), performance.now(), this.#options.rules);
      if (this.#state.activeId !== previousId) {
        this.#options.onActiveSpeaker(this.#state.activeId, previousId);
      }
    } finally {
      this.#polling = false;
    }
  }
}
