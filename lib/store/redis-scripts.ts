// The Redis store's multi-step work, as Lua scripts Redis runs atomically:
// one round trip each, and the same behaviour whichever client sends them.
// Long argument lists are handed to HSET and SADD in chunks (Lua's unpack
// has a limit of a few thousand values). A script returns strings or numbers,
// never nil or false, which the two protocols (RESP2, RESP3) would tell apart.
import { luaScript } from './redis-link.js';

/** Values per HSET or SADD inside a script: even, so field/value pairs never straddle two calls. */
const CHUNK = 1000;

/**
 * A flush: the latest state of each changed thing into the state hash, and the messages announcing them.
 * KEYS: state hash, events channel. ARGV: how many field/value values follow (2n), the fields and values, then
 * the messages.
 */
export const FLUSH = luaScript(`
local n = tonumber(ARGV[1])
for i = 2, n + 1, ${CHUNK} do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + ${CHUNK - 1}, n + 1)))
end
for i = n + 2, #ARGV do redis.call('PUBLISH', KEYS[2], ARGV[i]) end
return 1`);

/**
 * A replica (re)joins: sets the epoch if Redis has none (it lost its data, or never had any) and reads it, and
 * whether this replica is still listed as alive. KEYS: epoch, replicas. ARGV: a new epoch id, this replica's id.
 * Returns { epoch, '1' or '0' }.
 */
export const REJOIN = luaScript(`
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local epoch = redis.call('GET', KEYS[1])
local listed = redis.call('ZSCORE', KEYS[2], ARGV[2])
return { epoch, listed and '1' or '0' }`);

/**
 * A heartbeat: alive until a time, and (when they changed) the fingerprints this replica holds, replaced at once
 * so a prune never sees the list half written. KEYS: replicas, this replica's members set. ARGV: alive-until (epoch
 * ms), replica id, the members set's lifetime (ms), '1' when the members follow (else '0'), the members.
 */
export const HEARTBEAT = luaScript(`
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[2])
  for i = 5, #ARGV, ${CHUNK} do
    redis.call('SADD', KEYS[2], unpack(ARGV, i, math.min(i + ${CHUNK - 1}, #ARGV)))
  end
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1`);

/**
 * The prune: drops replicas whose heartbeat expired, folds their counts into "retired", and removes the state,
 * hold and count fields of keys and accounts no live replica holds. KEYS: replicas, state hash, count hash. ARGV:
 * now (epoch ms), the members sets' key prefix. Returns how many fields it removed.
 */
export const PRUNE = luaScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
if #live == 0 then return 0 end
local alive, listed = {}, {}
for _, replica in ipairs(live) do
  alive[replica] = true
  for _, id in ipairs(redis.call('SMEMBERS', ARGV[2] .. replica)) do listed[id] = true end
end
local removed = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
  local id = string.match(field, ':([^:]*)$')
  if not id or not listed[id] then redis.call('HDEL', KEYS[2], field); removed = removed + 1 end
end
local counts = redis.call('HGETALL', KEYS[3])
for i = 1, #counts, 2 do
  local owner, id = string.match(counts[i], '^([^:]+):([^:]+)$')
  if not id or not listed[id] then
    redis.call('HDEL', KEYS[3], counts[i]); removed = removed + 1
  elseif owner ~= 'retired' and not alive[owner] then
    redis.call('HINCRBY', KEYS[3], 'retired:' .. id, math.floor(tonumber(counts[i + 1]) or 0))
    redis.call('HDEL', KEYS[3], counts[i])
  end
end
return removed`);
