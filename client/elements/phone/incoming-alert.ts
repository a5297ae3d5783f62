/**
 * How an incoming call gets the user's attention while it rings: a ringtone generated with Web
 * Audio (no audio file: two oscillators, the North American ring's 440 + 480 Hz, in a pattern), the
 * tab's title flashing "Incoming call from Ann", and a system notification when the tab is hidden
 * and the user allowed notifications. {@link IncomingCallAlert.stop} ends all three at once,
 * whatever ended the ring (answer, decline, cancel, timeout, hang-up, sign-out).
 *
 * Browsers let a page make sound only after a user gesture on it: on `/call` the click on Sign in
 * is one, and an `AudioContext` created later may play. A page that never had one rings silently
 * and still flashes its title.
 */

/** One ring cycle: two bursts, then silence until the next cycle. */
export const RING_PERIOD_MS = 3_000;

/** When each burst of a cycle starts and how long it sounds. */
const RING_BURSTS_MS: ReadonlyArray<{ atMs: number; durationMs: number }> = [
  { atMs: 0, durationMs: 400 },
  { atMs: 600, durationMs: 400 },
];

/** The two frequencies sounded together in a burst. */
const RING_TONES_HZ = [440, 480] as const;

/** Loudness of the ring (of 1): audible, not startling. */
const RING_GAIN = 0.08;

/** Ramp at both ends of a burst, so that it does not click. */
const RING_RAMP_S = 0.02;

/** How often the title alternates between the caller and the page's own title. */
export const TITLE_FLASH_MS = 1_000;

/** The tag of the system notification, so that a second one replaces the first. */
const NOTIFICATION_TAG = "webrtc-phone-incoming-call";

/** What {@link IncomingCallAlert.start} needs to know about the ring. */
export interface RingOptions {
  /** The caller's display name. */
  callerName: string;
  /** False when the ringtone is switched off; the title and the notification still go. */
  sound: boolean;
}

/** The ringtone of one ring: its own `AudioContext`, closed when the ring stops. */
class Ringtone {
  readonly #context: AudioContext;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor() {
    this.#context = new AudioContext();
    this.#cycle();
    this.#timer = setInterval(() => this.#cycle(), RING_PERIOD_MS);
  }

  /** Silences the ring at once: closing the context stops every oscillator it scheduled. */
  stop(): void {
    clearInterval(this.#timer);
    void this.#context.close().catch(() => undefined);
  }

  /** Schedules the bursts of one cycle from now. */
  #cycle(): void {
    const context = this.#context;
    const startS = context.currentTime;
    for (const burst of RING_BURSTS_MS) {
      const fromS = startS + burst.atMs / 1_000;
      const toS = fromS + burst.durationMs / 1_000;
      const gain = context.createGain();
      gain.gain.setValueAtTime(0, fromS);
      gain.gain.linearRampToValueAtTime(RING_GAIN, fromS + RING_RAMP_S);
      gain.gain.setValueAtTime(RING_GAIN, toS - RING_RAMP_S);
      gain.gain.linearRampToValueAtTime(0, toS);
      gain.connect(context.destination);
      for (const frequency of RING_TONES_HZ) {
        const oscillator = context.createOscillator();
        oscillator.frequency.value = frequency;
        oscillator.connect(gain);
        oscillator.start(fromS);
        oscillator.stop(toS);
      }
    }
  }
}

/** The ring, the title and the notification of the incoming call ringing now, if any. */
export class IncomingCallAlert {
  #ringtone: Ringtone | undefined;
  #titleTimer: ReturnType<typeof setInterval> | undefined;
  /** The page's title before the ring, restored when it stops. */
  #pageTitle: string | undefined;
  #notification: Notification | undefined;
  #onVisibilityChange: (() => void) | undefined;
  #callerName: string | undefined;

  /** True while a call rings here. */
  get ringing(): boolean {
    return this.#callerName !== undefined;
  }

  /**
   * Asks for permission to show notifications, once, when the user has not answered yet. Call it
   * from a user gesture (the sign-in button): browsers ignore or penalise a request without one.
   */
  static askPermission(): void {
    if (typeof Notification !== "undefined" && Notification.permission === "default") {
      void Notification.requestPermission().catch(() => undefined);
    }
  }

  /** Starts ringing for `callerName`; a ring already going is left as it is. */
  start(options: RingOptions): void {
    if (this.#callerName !== undefined) {
      return;
    }
    this.#callerName = options.callerName;
    if (options.sound) {
      this.#startRingtone();
    }
    this.#flashTitle(`Incoming call from ${options.callerName}`);
    this.#notifyWhenHidden();
  }

  /** Switches the ringtone of the ring going on off (or back on) without stopping the rest. */
  setSound(sound: boolean): void {
    if (!sound) {
      this.#ringtone?.stop();
      this.#ringtone = undefined;
    } else if (this.#callerName !== undefined && !this.#ringtone) {
      this.#startRingtone();
    }
  }

  /** Stops the ring, restores the title and closes the notification. Safe to call any time. */
  stop(): void {
    this.#callerName = undefined;
    this.#ringtone?.stop();
    this.#ringtone = undefined;
    clearInterval(this.#titleTimer);
    this.#titleTimer = undefined;
    if (this.#pageTitle !== undefined) {
      document.title = this.#pageTitle;
      this.#pageTitle = undefined;
    }
    if (this.#onVisibilityChange) {
      document.removeEventListener("visibilitychange", this.#onVisibilityChange);
      this.#onVisibilityChange = undefined;
    }
    this.#notification?.close();
    this.#notification = undefined;
  }

  #startRingtone(): void {
    if (typeof AudioContext === "undefined") {
      return;
    }
    try {
      this.#ringtone = new Ringtone();
    } catch {
      // No audio output, or audio refused: the call still rings visibly.
    }
  }

  #flashTitle(text: string): void {
    const pageTitle = document.title;
    this.#pageTitle = pageTitle;
    document.title = text;
    this.#titleTimer = setInterval(() => {
      document.title = document.title === text ? pageTitle : text;
    }, TITLE_FLASH_MS);
  }

  /** Shows the notification now if the tab is hidden, or as soon as it is hidden while ringing. */
  #notifyWhenHidden(): void {
    const notify = (): void => {
      if (document.visibilityState !== "hidden" || this.#notification || this.#callerName === undefined) {
        return;
      }
      if (typeof Notification === "undefined" || Notification.permission !== "granted") {
        return;
      }
      const notification = new Notification(`Incoming call from ${this.#callerName}`, {
        body: "Open the tab to answer.",
        tag: NOTIFICATION_TAG,
        requireInteraction: true,
      });
      notification.addEventListener("click", () => {
        window.focus();
        notification.close();
      });
      this.#notification = notification;
    };
    this.#onVisibilityChange = notify;
    document.addEventListener("visibilitychange", notify);
    notify();
  }
}
