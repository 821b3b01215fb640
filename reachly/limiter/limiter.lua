-- Reachly's global limiter: one decision over several limits, atomically.
--
-- Every limit is checked first; only if all allow is the use recorded in
-- all of them (all or nothing), so a step denied by its tenant's limit does
-- not consume its agent's budget. Time is Redis's own clock, the same for
-- every worker on every machine.
--
-- KEYS[i]   the counter of limit i
-- ARGV[1]   "acquire" or "peek" (check without recording)
-- ARGV[2]   a unique grant id (member name in sorted sets)
-- then four values per limit, from ARGV[3]:
--   kind     "window"  sliding log: at most `limit` weight in any `ms` window
--            "fixed"   calendar bucket: at most `limit` until the bucket ends,
--                      `ms` from now (the caller names the bucket in the key)
--            "lease"   concurrency: at most `limit` holders, each expiring
--                      after `ms` unless released
--   limit    integer
--   ms       integer, see kind
--   weight   integer >= 1 (tokens for LLM budgets; 1 otherwise)
--
-- Returns {allowed 1|0, retry_after_ms, index of the first denying limit
-- (0 if allowed), now_ms}. retry_after_ms is -1 when the weight alone
-- exceeds the limit (waiting cannot help).

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mode = ARGV[1]
local grant = ARGV[2]

local function window_state(key, limit, ms, weight)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - ms)
  local entries = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local used = 0
  for i = 1, #entries, 2 do
    used = used + tonumber(string.match(entries[i], ':(%d+)$'))
  end
  if used + weight <= limit then
    return 0
  end
  -- Denied: how long until enough of the oldest uses leave the window.
  local remaining = used
  for i = 1, #entries, 2 do
    remaining = remaining - tonumber(string.match(entries[i], ':(%d+)$'))
    if remaining + weight <= limit then
      return math.max(1, tonumber(entries[i + 1]) + ms - now)
    end
  end
  return ms
end

local function lease_state(key, limit)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) + 1 <= limit then
    return 0
  end
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(first[2]) - now)
end

local retry, denied = 0, 0
for i = 1, #KEYS do
  local base = 3 + (i - 1) * 4
  local kind, limit, ms, weight =
    ARGV[base], tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local wait
  if weight > limit then
    wait = -1
  elseif kind == 'window' then
    wait = window_state(KEYS[i], limit, ms, weight)
  elseif kind == 'fixed' then
    local used = tonumber(redis.call('GET', KEYS[i]) or '0')
    if used + weight <= limit then wait = 0 else wait = ms end
  elseif kind == 'lease' then
    wait = lease_state(KEYS[i], limit)
  else
    return redis.error_reply('unknown limit kind ' .. tostring(kind))
  end
  if wait ~= 0 then
    if denied == 0 then denied = i end
    if wait == -1 or retry == -1 then retry = -1 else retry = math.max(retry, wait) end
  end
end

if denied > 0 or mode == 'peek' then
  return {denied == 0 and 1 or 0, retry, denied, now}
end

for i = 1, #KEYS do
  local base = 3 + (i - 1) * 4
  local kind, ms, weight = ARGV[base], tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  if kind == 'window' then
    redis.call('ZADD', KEYS[i], now, grant .. ':' .. weight)
    redis.call('PEXPIRE', KEYS[i], ms + 1000)
  elseif kind == 'fixed' then
    redis.call('INCRBY', KEYS[i], weight)
    redis.call('PEXPIRE', KEYS[i], ms + 60000)
  else
    redis.call('ZADD', KEYS[i], now + ms, grant)
    redis.call('PEXPIRE', KEYS[i], ms + 1000)
  end
end
return {1, 0, 0, now}
