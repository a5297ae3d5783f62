/**
 * The Lua scripts through which every node changes the shared state in Redis. Each state change
 * and its fan-out is ONE script, so that it is atomic across nodes: a join checks the capacity,
 * adds the member and queues `connection_list` for every member in one step (two nodes racing for
 * the last seat: exactly one wins), a leave removes the member and queues `close_connection` +
 * `rest_connection_list` for the rest.
 *
 * Keys (docs/scaling.md):
 * - `wr:room:<room>` hash: member id → `{"u": username, "o": join ordinal}`, and `#` → the last
 *   ordinal handed out (join order survives in a hash).
 * - `wr:session:<id>` hash: `node` (its owner), `room`, `username`, `token` (SHA-256 of its resume
 *   token), `suspended` (grace deadline, Redis time in ms, while its socket is gone), `lost` (its
 *   inbox overflowed), `c:<node>` (the last relay counter of that node, to drop a resent relay).
 * - `wr:inbox:<id>` stream: what is addressed to the session and not yet written to its socket;
 *   one field `f`, the frame. The owner deletes entries once written. At most `INBOX_MAX` entries,
 *   expiring `INBOX_TTL_MS` after the last one was added.
 * - `wr:node:<node>` set: the sessions that node owns. `wr:nodes` sorted set: node → its last
 *   heartbeat, in Redis time (node clocks do not matter).
 * - Channel `wr:wake:<node>`: `w <id> <id>…` (those inboxes have entries), `t <id>` (that session
 *   was resumed on another node: close its socket with 4004).
 *
 * Only commands Valkey serves too (EVAL, HASH, SET, ZSET, STREAM commands, PUBLISH, TIME). The
 * scripts touch keys they compute, so the deployment is one primary (with replicas and Sentinel
 * for failover), not Redis Cluster.
 *
 * Every script takes `ARGV[1]` = inbox bound (entries) and `ARGV[2]` = inbox lifetime (ms), so
 * that the shared library below can deliver.
 */

/** The library every script starts with: key names, Redis time, room lists, delivery, session end. */
const LIBRARY = `
local INBOX_MAX = tonumber(ARGV[1])
local INBOX_TTL_MS = tonumber(ARGV[2])
local function session_key(id) return 'wr:session:' .. id end
local function inbox_key(id) return 'wr:inbox:' .. id end
local function room_key(room) return 'wr:room:' .. room end
local function node_key(node) return 'wr:node:' .. node end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function members_of(room)
  local flat = redis.call('HGETALL', room_key(room))
  local list = {}
  for i = 1, #flat, 2 do
    if flat[i] ~= '#' then
      local member = cjson.decode(flat[i + 1])
      list[#list + 1] = { id = flat[i], username = member.u, o = member.o }
    end
  end
  table.sort(list, function(a, b) return a.o < b.o end)
  return list
end
local function list_json(list)
  local parts = {}
  for i, member in ipairs(list) do
    parts[i] = '{"id":' .. cjson.encode(member.id) .. ',"username":' .. cjson.encode(member.username) .. '}'
  end
  return '[' .. table.concat(parts, ',') .. ']'
end
local wakes = {}
local function deliver(id, frame)
  local skey = session_key(id)
  local node = redis.call('HGET', skey, 'node')
  if not node then return false end
  local ikey = inbox_key(id)
  if redis.call('XLEN', ikey) >= INBOX_MAX then
    redis.call('HSET', skey, 'lost', '1')
    return false
  end
  redis.call('XADD', ikey, '*', 'f', frame)
  redis.call('PEXPIRE', ikey, INBOX_TTL_MS)
  local ids = wakes[node]
  if ids then ids[#ids + 1] = id else wakes[node] = { id } end
  return true
end
local function send_wakes()
  for node, ids in pairs(wakes) do
    redis.call('PUBLISH', 'wr:wake:' .. node, 'w ' .. table.concat(ids, ' '))
  end
end
local function end_session(id)
  local skey = session_key(id)
  local session = redis.call('HMGET', skey, 'node', 'room')
  if not session[1] then return false end
  redis.call('DEL', skey, inbox_key(id))
  redis.call('SREM', node_key(session[1]), id)
  local room = session[2]
  if room then
    redis.call('HDEL', room_key(room), id)
    local rest = members_of(room)
    if #rest == 0 then
      redis.call('DEL', room_key(room))
    else
      local closed = '{"type":"close_connection","id":' .. cjson.encode(id) .. '}'
      local listed = '{"type":"rest_connection_list","list":' .. list_json(rest) .. '}'
      for _, member in ipairs(rest) do
        deliver(member.id, closed)
        deliver(member.id, listed)
      end
    end
  end
  return true
end
`;

/**
 * join: ARGV[3] id, [4] room, [5] username, [6] node, [7] capacity, [8] token hash.
 * → `{"ok", list JSON}` | `{"already_in_room"}` | `{"room_full"}`. A join resent after a lost reply
 * (same room, same node) answers `ok` again without announcing twice.
 */
const JOIN = `
local id, room, username, node = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local skey = session_key(id)
local current = redis.call('HMGET', skey, 'room', 'node')
if current[1] then
  if current[1] == room and current[2] == node then return { 'ok', list_json(members_of(room)) } end
  return { 'already_in_room' }
end
local list = members_of(room)
if #list >= tonumber(ARGV[7]) then return { 'room_full' } end
local ordinal = redis.call('HINCRBY', room_key(room), '#', 1)
redis.call('HSET', room_key(room), id, cjson.encode({ u = username, o = ordinal }))
redis.call('HSET', skey, 'node', node, 'room', room, 'username', username, 'token', ARGV[8])
redis.call('SADD', node_key(node), id)
list[#list + 1] = { id = id, username = username, o = ordinal }
local listed = list_json(list)
local frame = '{"type":"connection_list","newUserId":' .. cjson.encode(id) .. ',"list":' .. listed .. '}'
for _, member in ipairs(list) do deliver(member.id, frame) end
send_wakes()
return { 'ok', listed }
`;

/**
 * leave: ARGV[3] id, [4] node that must own it, [5] `any` | `suspended` (only while still
 * suspended: a grace timer that lost the race to a resume changes nothing).
 * → `ok` | `gone` (no such session) | `moved` (another node owns it) | `resumed`.
 */
const LEAVE = `
local session = redis.call('HMGET', session_key(ARGV[3]), 'node', 'suspended')
if not session[1] then return 'gone' end
if session[1] ~= ARGV[4] then return 'moved' end
if ARGV[5] == 'suspended' and not session[2] then return 'resumed' end
end_session(ARGV[3])
send_wakes()
return 'ok'
`;

/** suspend: ARGV[3] id, [4] node, [5] grace ms. Marks the session suspended until Redis time + grace. → 1 | 0 (not its owner). */
const SUSPEND = `
local skey = session_key(ARGV[3])
if redis.call('HGET', skey, 'node') ~= ARGV[4] then return 0 end
redis.call('HSET', skey, 'suspended', now_ms() + tonumber(ARGV[5]))
return 1
`;

/**
 * resume: ARGV[3] id, [4] token hash, [5] next token hash, [6] node taking it.
 * → `{"ok", room, username, list JSON}` | `{"refused"}`. The previous owner (another node) is told
 * `t <id>` on its wake channel. Resent after a lost reply (the next token already in place, this
 * node the owner), it answers `ok` again.
 */
const RESUME = `
local id = ARGV[3]
local skey = session_key(id)
local session = redis.call('HMGET', skey, 'node', 'room', 'username', 'token', 'suspended', 'lost')
if not session[1] or not session[2] then return { 'refused' } end
if session[4] == ARGV[5] and session[1] == ARGV[6] then
  return { 'ok', session[2], session[3], list_json(members_of(session[2])) }
end
if session[4] ~= ARGV[4] or session[6] then return { 'refused' } end
if session[5] and tonumber(session[5]) < now_ms() then return { 'refused' } end
redis.call('HDEL', skey, 'suspended')
redis.call('HSET', skey, 'node', ARGV[6], 'token', ARGV[5])
if session[1] ~= ARGV[6] then
  redis.call('SREM', node_key(session[1]), id)
  redis.call('SADD', node_key(ARGV[6]), id)
  redis.call('PUBLISH', 'wr:wake:' .. session[1], 't ' .. id)
end
return { 'ok', session[2], session[3], list_json(members_of(session[2])) }
`;

/**
 * relay: ARGV[3] target id, [4] the sender's room, [5] stamped frame, [6] sending node, [7] that
 * node's relay counter. → 1 (queued, or a resent duplicate dropped) | 0 (the target is not in that room).
 */
const RELAY = `
local skey = session_key(ARGV[3])
local target = redis.call('HMGET', skey, 'room', 'c:' .. ARGV[6])
if target[1] ~= ARGV[4] then return 0 end
if target[2] and tonumber(target[2]) >= tonumber(ARGV[7]) then return 1 end
redis.call('HSET', skey, 'c:' .. ARGV[6], ARGV[7])
deliver(ARGV[3], ARGV[5])
send_wakes()
return 1
`;

/**
 * read: ARGV[3] id, [4] node, [5] cursor (last entry id written), [6] most entries.
 * → `{"ok", id1, frame1, id2, frame2…}` | `{"gone"}` | `{"moved"}` | `{"lost"}` (the inbox overflowed).
 */
const READ = `
local session = redis.call('HMGET', session_key(ARGV[3]), 'node', 'lost')
if not session[1] then return { 'gone' } end
if session[1] ~= ARGV[4] then return { 'moved' } end
if session[2] then return { 'lost' } end
local entries = redis.call('XRANGE', inbox_key(ARGV[3]), '(' .. ARGV[5], '+', 'COUNT', tonumber(ARGV[6]))
local out = { 'ok' }
for _, entry in ipairs(entries) do
  out[#out + 1] = entry[1]
  out[#out + 1] = entry[2][2]
end
return out
`;

/** heartbeat: ARGV[3] node. Scores it with Redis time. → that time in ms. */
const HEARTBEAT = `
local now = now_ms()
redis.call('ZADD', 'wr:nodes', now, ARGV[3])
return now
`;

/**
 * reap: ARGV[3] this node, [4] bound ms (dead-after + grace). Every other node whose heartbeat is
 * older than the bound leaves the directory and its sessions end, inside this one script: a
 * second reaper finds nothing, so each ends exactly once. → the ended session ids.
 */
const REAP = `
local cutoff = now_ms() - tonumber(ARGV[4])
local ended = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', 'wr:nodes', '-inf', '(' .. cutoff)) do
  if node ~= ARGV[3] then
    redis.call('ZREM', 'wr:nodes', node)
    for _, id in ipairs(redis.call('SMEMBERS', node_key(node))) do
      if end_session(id) then ended[#ended + 1] = id end
    end
    redis.call('DEL', node_key(node))
  end
end
send_wakes()
return ended
`;

/**
 * start: ARGV[3] this node. Ends what a previous run under the same node id left behind (its
 * sockets are gone), then heartbeats. → the ended session ids.
 */
const START = `
local ended = {}
for _, id in ipairs(redis.call('SMEMBERS', node_key(ARGV[3]))) do
  if end_session(id) then ended[#ended + 1] = id end
end
redis.call('DEL', node_key(ARGV[3]))
redis.call('ZADD', 'wr:nodes', now_ms(), ARGV[3])
send_wakes()
return ended
`;

/** The scripts by name, each with the library in front. */
export const SCRIPTS = {
  join: LIBRARY + JOIN,
  leave: LIBRARY + LEAVE,
  suspend: LIBRARY + SUSPEND,
  resume: LIBRARY + RESUME,
  relay: LIBRARY + RELAY,
  read: LIBRARY + READ,
  heartbeat: LIBRARY + HEARTBEAT,
  reap: LIBRARY + REAP,
  start: LIBRARY + START,
} as const;

/** A script's name. */
export type ScriptName = keyof typeof SCRIPTS;

/** The inbox stream of session `id` (for XDEL and XLEN from the node). */
export function inboxKey(id: string): string {
  return `wr:inbox:${id}`;
}

/** The wake channel of `node`. */
export function wakeChannel(node: string): string {
  return `wr:wake:${node}`;
}
