/**
 * The text of the element's one polite live region: joins, leaves, the people count, connection
 * changes and chat messages, throttled so that a burst (five people joining at once, a flurry of
 * chat) becomes one announcement instead of a queue a screen reader reads for a minute.
 */

/** Shortest time between two announcements. */
export const ANNOUNCE_INTERVAL_MS = 1_500;

/** Delay before even the first announcement, so that what arrives together is read together. */
export const ANNOUNCE_GATHER_MS = 300;

/** The people count as announced: "4 people in the room". */
export function peopleCount(count: number): string {
  return count === 1 ? "You are the only one in the room" : `${count} people in the room`;
}

/** Most items read in one announcement; the rest of a burst is summarised as "and N more". */
export const ANNOUNCE_MAX_ITEMS = 3;

/** Collects announcements and publishes them as one text at most every {@link ANNOUNCE_INTERVAL_MS}. */
export class Announcer {
  readonly #onChange: () => void;
  #pending: string[] = [];
  /** Computes the sentence read after the items (the people count, as it is when read), latest wins. */
  #trailer: (() => string) | undefined;
  #text = "";
  #lastAtMs = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `onChange` is called whenever {@link Announcer.text} changes (re-render the region). */
  constructor(onChange: () => void) {
    this.#onChange = onChange;
  }

  /** What the live region holds now. */
  get text(): string {
    return this.#text;
  }

  /**
   * Queues `item` ("Ada joined"); `trailer`, when given, computes the closing sentence of the
   * next announcement ("3 people in the room") when it is made.
   */
  announce(item: string, trailer?: () => string): void {
    this.#pending.push(item);
    if (trailer !== undefined) {
      this.#trailer = trailer;
    }
    if (this.#timer === undefined) {
      const waitMs = Math.max(ANNOUNCE_GATHER_MS, this.#lastAtMs + ANNOUNCE_INTERVAL_MS - performance.now());
      this.#timer = setTimeout(() => this.#flush(), waitMs);
    }
  }

  /** Drops what is queued and stops the timer (the element left the document). */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = [];
    this.#trailer = undefined;
  }

  #flush(): void {
    this.#timer = undefined;
    const items = this.#pending.splice(0);
    const shown = items.length > ANNOUNCE_MAX_ITEMS ? [...items.slice(0, ANNOUNCE_MAX_ITEMS - 1), `and ${items.length - ANNOUNCE_MAX_ITEMS + 1} more`] : items;
    const sentences = this.#trailer === undefined ? shown : [...shown, this.#trailer()];
    this.#trailer = undefined;
    this.#lastAtMs = performance.now();
    this.#text = sentences.map((sentence) => (/[.!?…]$/.test(sentence) ? sentence : `${sentence}.`)).join(" ");
    this.#onChange();
  }
}
