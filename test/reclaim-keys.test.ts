/**
 * Where phones keep reclaim keys (client/core/reclaim-keys.ts): per server and user id, in a Web
 * Storage area when the page may use one, in memory when it may not or when it throws.
 */
import { describe, expect, it } from "vitest";
import { BrowserReclaimKeyStore, MemoryReclaimKeyStore, RECLAIM_KEY_STORAGE_PREFIX, defaultReclaimKeyStore, type KeyValueStorage } from "../client/core/phone.ts";

/** A Storage stand-in over a Map, as `localStorage` behaves. */
class MapStorage implements KeyValueStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

/** A storage that refuses every access, as some private modes and sandboxed frames do. */
const refusingStorage: KeyValueStorage = {
  getItem() {
    throw new DOMException("denied", "SecurityError");
  },
  setItem() {
    throw new DOMException("quota", "QuotaExceededError");
  },
};

const SERVER = "wss://a.example/ws";

describe("reclaim key stores", () => {
  it.each([
    ["memory", () => new MemoryReclaimKeyStore()],
    ["a storage area", () => new BrowserReclaimKeyStore(new MapStorage())],
    ["a storage area that throws", () => new BrowserReclaimKeyStore(refusingStorage)],
  ])("%s keeps one key per server and user id", (_label, makeStore) => {
    const store = makeStore();
    expect(store.get(SERVER, "alice")).toBeUndefined();
    store.set(SERVER, "alice", "key-1");
    store.set(SERVER, "bob", "key-2");
    store.set("wss://b.example/ws", "alice", "key-3");
    expect(store.get(SERVER, "alice")).toBe("key-1");
    expect(store.get(SERVER, "bob")).toBe("key-2");
    expect(store.get("wss://b.example/ws", "alice")).toBe("key-3");
    store.set(SERVER, "alice", "key-4");
    expect(store.get(SERVER, "alice")).toBe("key-4");
  });

  it("a storage area is shared by every store on it, as the tabs of one origin share localStorage", () => {
    const storage = new MapStorage();
    new BrowserReclaimKeyStore(storage).set(SERVER, "alice", "key-1");
    expect(new BrowserReclaimKeyStore(storage).get(SERVER, "alice")).toBe("key-1");
    expect([...storage.items.keys()]).toEqual([`${RECLAIM_KEY_STORAGE_PREFIX}["${SERVER}","alice"]`]);
  });

  it("the default store, in Node without localStorage, is one memory store for the process", () => {
    expect(defaultReclaimKeyStore()).toBeInstanceOf(MemoryReclaimKeyStore);
    expect(defaultReclaimKeyStore()).toBe(defaultReclaimKeyStore());
  });
});
