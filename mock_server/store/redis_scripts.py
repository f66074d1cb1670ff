"""The Redis store's atomic steps, as Lua scripts (Redis runs each one alone: no other
replica's command lands in the middle). Numbers travel as strings: Redis would cut a Lua
number returned to an integer."""

CREATE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {'exists'} end
local balance = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or ARGV[5])
local credits = tonumber(ARGV[4])
if credits > balance then return {'poor', string.format('%.17g', balance)} end
local left = string.format('%.17g', balance - credits)
redis.call('HSET', KEYS[2], ARGV[3], left)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[6] ~= '' then redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1]) end
redis.call('ZADD', KEYS[4], ARGV[7], ARGV[1])
redis.call('HINCRBY', KEYS[5], ARGV[3] .. ':tasks', 1)
redis.call('HINCRBY', KEYS[5], ARGV[3] .. ':bytes', ARGV[8])
return {'ok', left}
"""

# KEYS: tasks, settled, ends, balances, due, delivery, delivery counter
# ARGV: task id, refund, initial balance, then (due, delivery) pairs
SETTLE = """
local row = redis.call('HGET', KEYS[1], ARGV[1])
if not row or redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[3], ARGV[1])
local api_key = cjson.decode(row)[2]
local refund = tonumber(ARGV[2])
if refund ~= 0 then
  local balance = tonumber(redis.call('HGET', KEYS[4], api_key) or ARGV[3])
  redis.call('HSET', KEYS[4], api_key, string.format('%.17g', balance + refund))
end
for i = 4, #ARGV, 2 do
  local id = redis.call('INCR', KEYS[7])
  redis.call('HSET', KEYS[6], id, cjson.encode({api_key, ARGV[i + 1], tonumber(ARGV[i])}))
  redis.call('ZADD', KEYS[5], ARGV[i], id)
end
return 1
"""

# KEYS: due, claims, owners, delivery. ARGV: now, owner, limit, wall seconds.
# Claims of owners whose lease ran out are taken over first, then due deliveries.
CLAIM = """
local out = {}
local limit = tonumber(ARGV[3])
local claims = redis.call('HGETALL', KEYS[2])
for i = 1, #claims, 2 do
  if #out >= 2 * limit then break end
  if claims[i + 1] ~= ARGV[2] then
    local until_s = redis.call('HGET', KEYS[3], claims[i + 1])
    if not until_s or tonumber(until_s) < tonumber(ARGV[4]) then
      redis.call('HSET', KEYS[2], claims[i], ARGV[2])
      table.insert(out, claims[i])
      table.insert(out, redis.call('HGET', KEYS[4], claims[i]))
    end
  end
end
local room = limit - #out / 2
if room > 0 then
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, room)
  for _, id in ipairs(ids) do
    redis.call('ZREM', KEYS[1], id)
    redis.call('HSET', KEYS[2], id, ARGV[2])
    table.insert(out, id)
    table.insert(out, redis.call('HGET', KEYS[4], id))
  end
end
return out
"""

# KEYS: due, claims, owners, delivery. ARGV: owner ('' for everyone's).
RELEASE = """
local claims = redis.call('HGETALL', KEYS[2])
for i = 1, #claims, 2 do
  if ARGV[1] == '' or claims[i + 1] == ARGV[1] then
    redis.call('HDEL', KEYS[2], claims[i])
    local held = redis.call('HGET', KEYS[4], claims[i])
    if held then redis.call('ZADD', KEYS[1], cjson.decode(held)[3], claims[i]) end
  end
end
if ARGV[1] == '' then redis.call('DEL', KEYS[3]) else redis.call('HDEL', KEYS[3], ARGV[1]) end
return 0
"""

# KEYS: the queue (a list of "1|scenario" call outcomes, "0|scenario" task outcomes), control.
POP_SCENARIO = """
local head = redis.call('LINDEX', KEYS[1], 0)
if not head or string.sub(head, 1, 1) ~= ARGV[1] then return false end
redis.call('LPOP', KEYS[1])
redis.call('HINCRBY', KEYS[2], 'queued', -1)
return string.sub(head, 3)
"""

# KEYS: the key's set of queue names, control. Empties the key's queues.
CLEAR_QUEUES = """
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('HINCRBY', KEYS[2], 'queued', -redis.call('LLEN', name))
  redis.call('DEL', name)
end
redis.call('DEL', KEYS[1])
return 0
"""

# The token bucket of mock_server.sim.ratelimit.take, in Lua. KEYS: the key's buckets.
# ARGV: operation, count, seconds, now.
TAKE_TOKEN = """
local count = tonumber(ARGV[2])
local per_ms = count / (tonumber(ARGV[3]) * 1000)
local now = tonumber(ARGV[4])
local tokens = count
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held then
  local sep = string.find(held, ':', 1, true)
  local at = tonumber(string.sub(held, sep + 1))
  tokens = math.min(count, tonumber(string.sub(held, 1, sep - 1)) + math.max(0, now - at) * per_ms)
end
local wait = false
if tokens >= 1 then tokens = tokens - 1 else wait = string.format('%.17g', (1 - tokens) / per_ms / 1000) end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.17g', tokens) .. ':' .. ARGV[4])
return wait
"""

NEXT_NUMBER = """
local number = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') + 1, tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%d', number))
return string.format('%d', number)
"""

SAVE_CLOCK = """
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 0
"""
