import { FIELDS } from './fields.js';
import { STEP_COUNT_FIELD } from './steps.js';
import { LuaScript } from './script.js';

/*
 * The store's server-side steps. Every script that writes gets KEYS[1] = the record's hash and
 * KEYS[2] = its bucket's expiry index; both carry the same hash tag, so each script touches one
 * Cluster slot. Timestamps arrive as decimal strings and are stored as given; Lua converts them to
 * numbers only to compare (they are below 2^53, so doubles hold them exactly).
 *
 * Kept lean on purpose (each runs once or twice per request): the caller passes the record's purge
 * time instead of the script re-reading what it just wrote, Redis' TIME is read once per script,
 * the index is trimmed only where records enter it (create, takeover), and a change is published
 * only when a waiter marked the record as watched (see watchScript).
 */

const PRELUDE = `
local function server_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- After a write: score the record in the index by when it may be purged ("purge_at": retention,
-- and for an in-progress record not before its lease ends), and let Redis delete it "grace" ms
-- after that instant by the server clock, never sooner than "grace" ms from now. The engine's
-- clock decides expiry; the Redis TTL only cleans up, late enough never to remove a record the
-- engine still counts as live.
local function keep(id, purge_at, grace, now)
  redis.call('ZADD', KEYS[2], purge_at, id)
  redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', math.max(tonumber(purge_at), now) + grace))
end

-- Index entries older than what Redis has deleted by now are dropped where records enter the
-- index, so it stays bounded even when nobody calls purgeExpired.
local function trim(grace, now)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%.0f', now - grace))
end
`;

const script = (body: string) => new LuaScript(PRELUDE + body);

/** The record's fields as a Lua argument list, in FIELDS order (for HMGET). */
const FIELD_LIST = FIELDS.map((f) => `'${f}'`).join(', ');
/** Position of `status` in FIELDS (1-based, as Lua counts): present exactly when the record exists. */
const STATUS_AT = FIELDS.indexOf('status') + 1;

/*
 * The claim scripts carry a deadline: the Redis server time after which the store has given up on
 * the call (RedisStore's commandTimeout, moved onto Redis' clock). A claim that reaches Redis later
 * (it sat in a socket buffer during a blackhole, or the client resent it after reconnecting) writes
 * nothing and answers -1: the request that sent it already answered 503, and a record created now
 * would only block its key until the lease ran out. They reply {result, Redis time in ms, ...},
 * from which the store keeps its estimate of Redis' clock.
 */

/**
 * create and createOrGet. ARGV: id, grace, deadline, purge time, read ("1": answer the existing
 * record's FIELDS after the result), field-value pairs. Inserts only when the hash does not exist.
 * Replies {1, t} (created), {0, t} or {0, t, ...FIELDS values} (exists), {-1, t} (too late).
 * EXISTS comes before the twelve-field HMGET so that a first execution (no record) does not build
 * and read twelve nils (about 0.8 µs of Redis time); a replay pays one EXISTS more (about 0.5 µs).
 */
export const claimScript = script(`
local t = server_now()
if t > tonumber(ARGV[3]) then return {-1, t} end
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[5] ~= '1' then return {0, t} end
  local cur = redis.call('HMGET', KEYS[1], ${FIELD_LIST})
  if cur[${STATUS_AT}] then return {0, t, unpack(cur)} end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
local grace = tonumber(ARGV[2])
keep(ARGV[1], ARGV[4], grace, t)
trim(grace, t)
return {1, t}
`);

/**
 * ARGV: id, grace, channel, expected token, now, deadline, purge time, field-value pairs of the new
 * record. Decided here from the stored expiry: an expired record (a new logical operation) is
 * replaced whole, steps included; a record whose lease ran out keeps its steps (see steps.ts) for
 * the taker to resume, only its own fields are replaced.
 */
export const takeOverScript = script(`
local t = server_now()
if t > tonumber(ARGV[6]) then return {-1, t} end
local cur = redis.call('HMGET', KEYS[1], 'token', 'status', 'expires_at', 'lease_expires_at', 'watched')
if cur[1] ~= ARGV[4] then return {0, t} end
local now = tonumber(ARGV[5])
local expired = tonumber(cur[3]) <= now
local lease_over = cur[2] == 'in_progress' and cur[4] and tonumber(cur[4]) <= now
if not (expired or lease_over) then return {0, t} end
if expired then
  redis.call('DEL', KEYS[1])
else
  redis.call('HDEL', KEYS[1], ${FIELD_LIST}, 'watched')
end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
local grace = tonumber(ARGV[2])
keep(ARGV[1], ARGV[7], grace, t)
trim(grace, t)
if cur[5] then redis.call('PUBLISH', ARGV[3], 'taken_over') end
return {1, t}
`);

/**
 * ARGV: id, grace, token, lease expiry, now. The expiry never ends before the lease, so after a
 * renew the purge time is the (possibly raised) expiry.
 */
export const renewScript = script(`
local cur = redis.call('HMGET', KEYS[1], 'token', 'status', 'expires_at')
if cur[1] ~= ARGV[3] or cur[2] ~= 'in_progress' then return 0 end
local purge_at = cur[3]
if tonumber(cur[3]) < tonumber(ARGV[4]) then
  purge_at = ARGV[4]
  redis.call('HSET', KEYS[1], 'lease_expires_at', ARGV[4], 'updated_at', ARGV[5], 'expires_at', ARGV[4])
else
  redis.call('HSET', KEYS[1], 'lease_expires_at', ARGV[4], 'updated_at', ARGV[5])
end
keep(ARGV[1], purge_at, tonumber(ARGV[2]), server_now())
return 1
`);

/**
 * ARGV: id, grace, token, index, index + 1, the step's value, lease expiry, now. Appends step
 * "index" to the in-progress record held with the token when exactly "index" steps are recorded,
 * and renews the lease like renewScript, in the same script (a takeover that read the old lease
 * then fails its reclaimable check). Answers 1, or 0 with nothing changed.
 */
export const recordStepScript = script(`
local cur = redis.call('HMGET', KEYS[1], 'token', 'status', 'expires_at', '${STEP_COUNT_FIELD}')
if cur[1] ~= ARGV[3] or cur[2] ~= 'in_progress' or (cur[4] or '0') ~= ARGV[4] then return 0 end
local purge_at = cur[3]
if tonumber(cur[3]) < tonumber(ARGV[7]) then
  purge_at = ARGV[7]
  redis.call('HSET', KEYS[1], 'step:' .. ARGV[4], ARGV[6], '${STEP_COUNT_FIELD}', ARGV[5], 'lease_expires_at', ARGV[7], 'updated_at', ARGV[8], 'expires_at', ARGV[7])
else
  redis.call('HSET', KEYS[1], 'step:' .. ARGV[4], ARGV[6], '${STEP_COUNT_FIELD}', ARGV[5], 'lease_expires_at', ARGV[7], 'updated_at', ARGV[8])
end
keep(ARGV[1], purge_at, tonumber(ARGV[2]), server_now())
return 1
`);

/**
 * KEYS[1] = a record. ARGV: token. {1, the values of "step:0".."step:n-1"} for the in-progress
 * record held with the token, {0} when the token no longer holds it.
 */
export const loadStepsScript = new LuaScript(`
local cur = redis.call('HMGET', KEYS[1], 'token', 'status', '${STEP_COUNT_FIELD}')
if cur[1] ~= ARGV[1] or cur[2] ~= 'in_progress' then return {0} end
local n = tonumber(cur[3] or '0')
if n == 0 then return {1} end
local names = {}
for i = 0, n - 1 do names[i + 1] = 'step:' .. i end
local values = redis.call('HMGET', KEYS[1], unpack(names))
return {1, unpack(values)}
`);

/** ARGV: id, grace, channel, token, response, completed at, expires at. */
export const completeScript = script(`
local cur = redis.call('HMGET', KEYS[1], 'token', 'status', 'watched')
if cur[1] ~= ARGV[4] or cur[2] ~= 'in_progress' then return 0 end
redis.call('HDEL', KEYS[1], 'lease_expires_at')
redis.call('HSET', KEYS[1], 'status', 'completed', 'response', ARGV[5], 'updated_at', ARGV[6], 'expires_at', ARGV[7])
keep(ARGV[1], ARGV[7], tonumber(ARGV[2]), server_now())
if cur[3] then redis.call('PUBLISH', ARGV[3], 'completed') end
return 1
`);

/** ARGV: id, channel, token. */
export const releaseScript = new LuaScript(`
local cur = redis.call('HMGET', KEYS[1], 'token', 'status', 'watched')
if cur[1] ~= ARGV[3] or cur[2] ~= 'in_progress' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if cur[3] then redis.call('PUBLISH', ARGV[2], 'released') end
return 1
`);

/**
 * KEYS[1] = a record. Run by a waiter once its subscription is live: marks an in-progress record
 * as watched (so that completing, releasing or taking it over publishes on its channel) and
 * answers 1; answers 0 when the record is no longer in progress (the change already happened).
 * Atomic with those scripts: either they ran first and the waiter reads the change, or they see
 * the mark and publish to a subscription that is already live. The mark is not part of the record
 * (get reads FIELDS only) and goes with it; a takeover writes a fresh record without it.
 */
export const watchScript = new LuaScript(`
if redis.call('HGET', KEYS[1], 'status') ~= 'in_progress' then return 0 end
redis.call('HSET', KEYS[1], 'watched', '1')
return 1
`);

/**
 * KEYS[1] = a bucket's index. ARGV: now, offset, count. Index entries purgeable at "now", oldest
 * first, as a flat [id, score, ...] array (a script reply has that one shape under RESP2 and RESP3).
 */
export const candidatesScript = new LuaScript(`
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', ARGV[2], ARGV[3])
`);

/**
 * KEYS[1] = a bucket's index, KEYS[2..n] = records of that bucket. ARGV[1] = now, ARGV[i] = the
 * id of KEYS[i]. Deletes each record that is purgeable at "now" (checked again here: it may have
 * changed since it was listed) and drops index entries whose record Redis already deleted.
 * Returns {records deleted, dangling entries dropped}.
 */
export const purgeScript = new LuaScript(`
local now = tonumber(ARGV[1])
local deleted, dropped = 0, 0
for i = 2, #KEYS do
  local v = redis.call('HMGET', KEYS[i], 'status', 'expires_at', 'lease_expires_at')
  if not v[1] then
    redis.call('ZREM', KEYS[1], ARGV[i])
    dropped = dropped + 1
  elseif tonumber(v[2]) <= now and (v[1] == 'completed' or not v[3] or tonumber(v[3]) <= now) then
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], ARGV[i])
    deleted = deleted + 1
  end
end
return {deleted, dropped}
`);
