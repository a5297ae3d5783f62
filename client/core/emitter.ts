/**
 * A small typed event emitter that runs the same in a browser and in Node (no `node:events`).
 */

/** Maps each event name to the payload its listeners receive. */
export type EventMap = Record<string, unknown>;

/** A listener for one event of `Events`. */
export type Listener<Events extends EventMap, Name extends keyof Events> = (payload: Events[Name]) => void;

/** Called when a listener throws; the default writes to `console.error`. */
export type ListenerErrorHandler = (error: unknown, eventName: string) => void;

const reportToConsole: ListenerErrorHandler = (error, eventName) => {
  console.error(`webrtc-room: a "${eventName}" listener threw`, error);
};

/**
 * Base class for objects that emit typed events. Subclasses call {@link TypedEmitter.emit};
 * users call `on`/`off`/`once`. A listener that throws is reported and the remaining listeners
 * still run, so one faulty UI handler cannot stall the mesh.
 */
export class TypedEmitter<Events extends EventMap> {
  readonly #listeners = new Map<keyof Events, Set<Listener<Events, keyof Events>>>();
  readonly #onListenerError: ListenerErrorHandler;

  constructor(onListenerError: ListenerErrorHandler = reportToConsole) {
    this.#onListenerError = onListenerError;
  }

  /** Adds `listener` for `name`; returns a function that removes it. */
  on<Name extends keyof Events>(name: Name, listener: Listener<Events, Name>): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as Listener<Events, keyof Events>);
    return () => this.off(name, listener);
  }

  /** Adds `listener` for the next `name` event only; returns a function that removes it. */
  once<Name extends keyof Events>(name: Name, listener: Listener<Events, Name>): () => void {
    const remove = this.on(name, (payload) => {
      remove();
      listener(payload);
    });
    return remove;
  }

  /** Removes `listener` from `name`; unknown listeners are ignored. */
  off<Name extends keyof Events>(name: Name, listener: Listener<Events, Name>): void {
    const set = this.#listeners.get(name);
    set?.delete(listener as Listener<Events, keyof Events>);
    if (set?.size === 0) {
      this.#listeners.delete(name);
    }
  }

  /** Number of listeners currently registered for `name`. */
  listenerCount(name: keyof Events): number {
    return this.#listeners.get(name)?.size ?? 0;
  }

  /** Calls every listener of `name` with `payload`, in registration order. */
  protected emit<Name extends keyof Events>(name: Name, payload: Events[Name]): void {
    const set = this.#listeners.get(name);
    if (!set) {
      return;
    }
    // A copy, so that listeners may add or remove listeners (or `once` may fire) mid-loop.
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch (error) {
        this.#onListenerError(error, String(name));
      }
    }
  }

  /** Drops every listener; used by subclasses when they close for good. */
  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}
