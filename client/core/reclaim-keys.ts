/**
 * Where a phone keeps the reclaim key of its login: the proof an open-mode server asks of a
 * `login` whose user id is still online (the same user reloading the page, or opening a second
 * tab), so that this browser takes its own login over while a stranger typing the same user id is
 * refused `user_online`.
 *
 * A key belongs to one server and one user id. In a browser the default store is `localStorage`
 * (shared by the tabs of one origin and kept across reloads) when the page may use it; private
 * modes and sandboxed frames may refuse it, and then, like in Node, keys live in memory for the
 * life of the page or process.
 */

/** Keeps the last reclaim key a server gave each user id. */
export interface ReclaimKeyStore {
  /** The key `userID`'s last accepted login on `serverUrl` received, if this store has one. */
  get(serverUrl: string, userID: string): string | undefined;
  /** Remembers `key`, the one `userID`'s accepted login on `serverUrl` just received. */
  set(serverUrl: string, userID: string, key: string): void;
}

/** Prefix of the `localStorage` entries of {@link BrowserReclaimKeyStore}. */
export const RECLAIM_KEY_STORAGE_PREFIX = "webrtc-room:reclaim-key:";

/** The name of the entry for `userID` on `serverUrl` (JSON keeps the two parts apart whatever they hold). */
function entryName(serverUrl: string, userID: string): string {
  return RECLAIM_KEY_STORAGE_PREFIX + JSON.stringify([serverUrl, userID]);
}

/** Keys in memory: for Node, and for pages that may not use `localStorage`. */
export class MemoryReclaimKeyStore implements ReclaimKeyStore {
  readonly #keys = new Map<string, string>();

  get(serverUrl: string, userID: string): string | undefined {
    return this.#keys.get(entryName(serverUrl, userID));
  }

  set(serverUrl: string, userID: string, key: string): void {
    this.#keys.set(entryName(serverUrl, userID), key);
  }
}

/** The part of the Web Storage API the store uses. */
export type KeyValueStorage = Pick<Storage, "getItem" | "setItem">;

/**
 * Keys in a Web Storage area (`localStorage`), with a memory copy for when the storage throws
 * (quota, or access revoked after the page started): the page keeps its own login either way.
 */
export class BrowserReclaimKeyStore implements ReclaimKeyStore {
  readonly #storage: KeyValueStorage;
  readonly #fallback = new MemoryReclaimKeyStore();

  constructor(storage: KeyValueStorage) {
    this.#storage = storage;
  }

  get(serverUrl: string, userID: string): string | undefined {
    try {
      return this.#storage.getItem(entryName(serverUrl, userID)) ?? this.#fallback.get(serverUrl, userID);
    } catch {
      return this.#fallback.get(serverUrl, userID);
    }
  }

  set(serverUrl: string, userID: string, key: string): void {
    this.#fallback.set(serverUrl, userID, key);
    try {
      this.#storage.setItem(entryName(serverUrl, userID), key);
    } catch {
      // The memory copy serves this page; another tab or a reload will be refused `user_online`.
    }
  }
}

/**
 * `globalThis.localStorage` when this page may use it. Reading the property itself throws in
 * some private modes and sandboxed frames, hence the guard.
 */
function usableLocalStorage(): KeyValueStorage | undefined {
  try {
    const storage = (globalThis as { localStorage?: KeyValueStorage }).localStorage;
    return storage !== undefined && storage !== null ? storage : undefined;
  } catch {
    return undefined;
  }
}

let defaultStore: ReclaimKeyStore | undefined;

/**
 * The store phones use unless given one: `localStorage` when usable, memory otherwise; one per
 * page or process, so every phone of this page (or Node process) proves the same logins.
 */
export function defaultReclaimKeyStore(): ReclaimKeyStore {
  if (defaultStore === undefined) {
    const storage = usableLocalStorage();
    defaultStore = storage === undefined ? new MemoryReclaimKeyStore() : new BrowserReclaimKeyStore(storage);
  }
  return defaultStore;
}
