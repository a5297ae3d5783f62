/**
 * Who is speaking: the audio level of each remote peer, read at a low rate, and an
 * active-speaker decision with hysteresis so that the highlight does not flicker.
 *
 * {@link nextSpeakerState} is the pure decision (table-tested); {@link SpeakerDetector} polls the
 * peers' connections and feeds it. The levels are what the connection measures anyway, no Web
 * Audio graph of our own: `getStats()` `inbound-rtp` of the microphone, as the RMS over the poll
 * interval from `totalAudioEnergy` / `totalSamplesDuration` ({@link levelBetween}), so that speech
 * between two polls counts, not just the instant of the poll (an RTP packet's RFC 6464 level from
 * `getSynchronizationSources()` would be cheaper, but it is one 10–20 ms instant per poll).
 */
import type { RemotePeer } from "./peer-link.ts";

/** How often the levels are read by default: 4 times a second is enough for a meter and a highlight. */
export const AUDIO_LEVEL_INTERVAL_MS = 250;

/** `audioLevel` above which a peer counts as speaking (about −26 dBov; room noise stays below). */
export const SPEAKING_LEVEL = 0.05;

/** How long a peer must be the loudest speaker before it takes over from the active one. */
export const SPEAKER_SWITCH_MS = 750;

/** A challenger's silence shorter than this (a breath between words) does not reset its lead. */
export const SPEAKER_GAP_MS = 500;

/** Where the decision stands: the active speaker and the peer that may take over. */
export interface SpeakerState {
  /** The active speaker; stays through silence, until someone else speaks long enough or it leaves. */
  activeId: string | undefined;
  /** The loudest speaker when it is not the active one. */
  challengerId: string | undefined;
  /** Since when the challenger has led, with no one else leading and no gap of silence (ms, the caller's clock). */
  challengerSinceMs: number | undefined;
  /** When the challenger last led. */
  challengerHeardMs: number | undefined;
}

/** Nobody has spoken yet. */
export const NO_SPEAKER: SpeakerState = { activeId: undefined, challengerId: undefined, challengerSinceMs: undefined, challengerHeardMs: undefined };

/** Thresholds of {@link nextSpeakerState}. */
export interface SpeakerRules {
  speakingLevel: number;
  switchAfterMs: number;
  /** Longest silence of the challenger that keeps its lead. */
  maxGapMs: number;
}

const DEFAULT_RULES: SpeakerRules = { speakingLevel: SPEAKING_LEVEL, switchAfterMs: SPEAKER_SWITCH_MS, maxGapMs: SPEAKER_GAP_MS };

/**
 * The decision after one reading of `levels` (peer id → level, every peer present) at `nowMs`:
 * - the loudest peer at or above `speakingLevel` leads (a tie keeps the active speaker);
 * - a leader other than the active speaker becomes the challenger; once it has led for
 *   `switchAfterMs` it becomes the active speaker (the first speaker too: a cough does not take
 *   the stage). Its lead survives silences up to `maxGapMs` (pauses between words); it ends when
 *   someone else leads or the active speaker speaks louder;
 * - silence keeps the active speaker;
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
  const noChallenger = { activeId, challengerId: undefined, challengerSinceMs: undefined, challengerHeardMs: undefined };
  if (leaderId === undefined) {
    // Silence: a challenger keeps its lead through a short gap.
    const heardMs = state.challengerHeardMs;
    return state.challengerId !== undefined && heardMs !== undefined && nowMs - heardMs <= rules.maxGapMs && levels.has(state.challengerId)
      ? { ...state, activeId }
      : noChallenger;
  }
  if (leaderId === activeId) {
    return noChallenger;
  }
  const since = state.challengerId === leaderId && state.challengerSinceMs !== undefined ? state.challengerSinceMs : nowMs;
  if (nowMs - since >= rules.switchAfterMs) {
    return { activeId: leaderId, challengerId: undefined, challengerSinceMs: undefined, challengerHeardMs: undefined };
  }
  return { activeId, challengerId: leaderId, challengerSinceMs: since, challengerHeardMs: nowMs };
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

/** What `getStats()` said about a peer's microphone at one poll. */
export interface AudioReading {
  /** `inbound-rtp` `audioLevel`: the level of the last frame played out. */
  level: number;
  /** `totalAudioEnergy` and `totalSamplesDuration`, when reported: the level over any interval. */
  totalEnergy: number | undefined;
  totalSeconds: number | undefined;
}

/**
 * The level over the interval between two readings: the RMS of the audio received meanwhile,
 * `sqrt(Δenergy / Δduration)` (the statistics spec's own recipe, same 0–1 scale as
 * `audioLevel`), which a short burst inside the interval still moves; the last frame's
 * `audioLevel` when there is no earlier reading or no energy. Pure.
 */
export function levelBetween(previous: AudioReading | undefined, current: AudioReading): number {
  if (previous?.totalEnergy === undefined || previous.totalSeconds === undefined || current.totalEnergy === undefined || current.totalSeconds === undefined) {
    return current.level;
  }
  const seconds = current.totalSeconds - previous.totalSeconds;
  const energy = current.totalEnergy - previous.totalEnergy;
  return seconds > 0 && energy >= 0 ? Math.min(1, Math.sqrt(energy / seconds)) : current.level;
}

/**
 * `peer`'s microphone on its current connection: the `inbound-rtp` audio report of the
 * microphone's track when it can be told apart (`trackIdentifier`), else the loudest audio report
 * (a screen's audio is then counted too). `undefined` without audio.
 */
async function readPeerAudio(peer: RemotePeer): Promise<AudioReading | undefined> {
  const connection = peer.peerConnection;
  if (!connection || !peer.isConnected) {
    return undefined;
  }
  const microphoneId = peer.trackBySource("microphone")?.id;
  let loudest: AudioReading | undefined;
  let microphone: AudioReading | undefined;
  for (const report of (await connection.getStats()).values()) {
    if (report.type === "inbound-rtp" && report.kind === "audio" && typeof report.audioLevel === "number") {
      const reading: AudioReading = {
        level: report.audioLevel,
        totalEnergy: typeof report.totalAudioEnergy === "number" ? report.totalAudioEnergy : undefined,
        totalSeconds: typeof report.totalSamplesDuration === "number" ? report.totalSamplesDuration : undefined,
      };
      if (!loudest || reading.level > loudest.level) {
        loudest = reading;
      }
      if (microphoneId !== undefined && report.trackIdentifier === microphoneId) {
        microphone = reading;
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
  /** Each peer's reading at the last poll (a rebuilt connection starts its totals again: see levelBetween). */
  #readings = new Map<RemotePeer, AudioReading>();

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
      const readings = await Promise.all(peers.map((peer) => readPeerAudio(peer).catch(() => undefined)));
      if (this.#timer === undefined) {
        return;
      }
      const speakingLevel = this.#options.rules?.speakingLevel ?? SPEAKING_LEVEL;
      const previous = this.#readings;
      this.#readings = new Map();
      const levels = peers.map((peer, index) => {
        const reading = readings[index];
        if (reading) {
          this.#readings.set(peer, reading);
        }
        const level = reading ? levelBetween(previous.get(peer), reading) : 0;
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
