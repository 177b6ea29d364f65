-- Event-time monotonic write of one feature view's values for many entities, atomically.
--
-- KEYS[i]      the entity's Redis hash (Feast layout)
-- ARGV[1]      the view's timestamp field, "_ts:<view>"
-- ARGV[2]      n, the number of feature fields
-- ARGV[3..2+n] the feature hash fields (murmur3 of "<view>:<feature>")
-- then for each key, 3+n values: seconds, nanos, serialized Timestamp, n serialized Values
--
-- A key is written when it has no timestamp for the view yet, or when the new event time is
-- not older than the stored one; so replays and out-of-order delivery converge. The stored
-- Timestamp is a protobuf message whose bytes do not sort, hence the varint decoding here.
-- Returns the number of keys written.

local function read_varint(s, pos)
  local result, mult = 0, 1
  while true do
    local b = string.byte(s, pos)
    if b == nil then return result, pos end
    pos = pos + 1
    result = result + (b % 128) * mult
    if b < 128 then return result, pos end
    mult = mult * 128
  end
end

local function decode_ts(s)
  local sec, nanos, pos = 0, 0, 1
  local len = #s
  while pos <= len do
    local tag = string.byte(s, pos)
    local v
    v, pos = read_varint(s, pos + 1)
    if tag == 8 then sec = v elseif tag == 16 then nanos = v end
  end
  return sec, nanos
end

local ts_field = ARGV[1]
local n = tonumber(ARGV[2])
local per_key = 3 + n
local base = 3 + n
local written = 0
for i = 1, #KEYS do
  local o = base + (i - 1) * per_key
  local sec = tonumber(ARGV[o])
  local nanos = tonumber(ARGV[o + 1])
  local current = redis.call('HGET', KEYS[i], ts_field)
  local newer = true
  if current then
    local csec, cnanos = decode_ts(current)
    if csec > sec or (csec == sec and cnanos > nanos) then newer = false end
  end
  if newer then
    local args = {ts_field, ARGV[o + 2]}
    for j = 1, n do
      args[#args + 1] = ARGV[2 + j]
      args[#args + 1] = ARGV[o + 2 + j]
    end
    redis.call('HSET', KEYS[i], unpack(args))
    written = written + 1
  end
end
return written
