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
-- Returns the number of keys written. The HSET argument table is built once and refilled per
-- key, and the stored time is decoded inline: this script is the Redis side of every write.

local call, byte, tonumber, unpack = redis.call, string.byte, tonumber, unpack
local ts_field = ARGV[1]
local n = tonumber(ARGV[2])
local per_key = 3 + n
local args = {ts_field, false}
for j = 1, n do
  args[2 * j + 1] = ARGV[2 + j]
  args[2 * j + 2] = false
end
local written = 0
for i = 1, #KEYS do
  local o = per_key * i
  local current = call('HGET', KEYS[i], ts_field)
  local newer = true
  if current then
    local sec = tonumber(ARGV[o])
    local csec, cnanos, pos, len = 0, 0, 1, #current
    while pos <= len do
      local tag = byte(current, pos)
      pos = pos + 1
      local v, mult = 0, 1
      while true do
        local b = byte(current, pos)
        if b == nil then break end
        pos = pos + 1
        v = v + (b % 128) * mult
        if b < 128 then break end
        mult = mult * 128
      end
      if tag == 8 then csec = v elseif tag == 16 then cnanos = v end
    end
    if csec > sec or (csec == sec and cnanos > tonumber(ARGV[o + 1])) then newer = false end
  end
  if newer then
    args[2] = ARGV[o + 2]
    for j = 1, n do args[2 * j + 2] = ARGV[o + 2 + j] end
    call('HSET', KEYS[i], unpack(args))
    written = written + 1
  end
end
return written
