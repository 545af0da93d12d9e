/**
 * The announce as one atomic Lua script, so that several tracker processes sharing a Redis
 * never double-count a peer. Per swarm (hash-tagged by info-hash): a hash of TCP peers, a
 * hash of WebRTC peers, a sorted set of last-seen times, and a counts hash (s = seeders,
 * l = leechers, d = completed). Each announce first drops up to 100 stale peers of its own
 * swarm, so expiry costs nothing extra between announces; idle swarms vanish by PEXPIRE.
 *
 * A peer's value: seeder flag ('1'/'0'), uploaded, ',', downloaded, ',', 20-byte peer id,
 * then the compact address (empty for WebRTC peers).
 */
export const announceScript = `
local kind, peerKey, value = ARGV[1], ARGV[2], ARGV[3]
local seeder = ARGV[4] == '1'
local event, now, cutoff = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local numwant, infoHash, maxPeers = tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10])
local handsSeeders = ARGV[11] == '1'
local hk = kind == 't' and KEYS[1] or KEYS[2]
local member = kind .. peerKey

local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[7], 'LIMIT', 0, 100)
for _, m in ipairs(stale) do
  local k = string.sub(m, 1, 1) == 't' and KEYS[1] or KEYS[2]
  local v = redis.call('HGET', k, string.sub(m, 2))
  if v then
    redis.call('HDEL', k, string.sub(m, 2))
    redis.call('HINCRBY', KEYS[4], string.sub(v, 1, 1) == '1' and 's' or 'l', -1)
  end
  redis.call('ZREM', KEYS[3], m)
end

local prev = redis.call('HGET', hk, peerKey)
local function counts()
  local c = redis.call('HMGET', KEYS[4], 's', 'l', 'd')
  return tonumber(c[1]) or 0, tonumber(c[2]) or 0, tonumber(c[3]) or 0
end

if event == 'stopped' then
  if prev then
    redis.call('HDEL', hk, peerKey)
    redis.call('ZREM', KEYS[3], member)
    redis.call('HINCRBY', KEYS[4], string.sub(prev, 1, 1) == '1' and 's' or 'l', -1)
  end
  local s, l, d = counts()
  return {s, l, d, prev or ''}
end

if not prev then
  if redis.call('ZCARD', KEYS[3]) >= maxPeers then return {-1} end
  redis.call('HINCRBY', KEYS[4], seeder and 's' or 'l', 1)
  if event == 'completed' and seeder then redis.call('HINCRBY', KEYS[4], 'd', 1) end
else
  local wasSeeder = string.sub(prev, 1, 1) == '1'
  if wasSeeder ~= seeder then
    redis.call('HINCRBY', KEYS[4], 's', seeder and 1 or -1)
    redis.call('HINCRBY', KEYS[4], 'l', seeder and -1 or 1)
  end
  if event == 'completed' and seeder and not wasSeeder then redis.call('HINCRBY', KEYS[4], 'd', 1) end
end
redis.call('HSET', hk, peerKey, value)
redis.call('ZADD', KEYS[3], now, member)
redis.call('ZADD', KEYS[5], now, infoHash)
local keep = math.floor((now - cutoff) * 2)
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], keep) end

local s, l, d = counts()
local out = {s, l, d, prev or ''}
if numwant > 0 then
  local got = redis.call('HRANDFIELD', hk, numwant + 1, 'WITHVALUES')
  local n = 0
  for i = 1, #got, 2 do
    if n >= numwant then break end
    local v = got[i + 1]
    if got[i] ~= peerKey and not (not handsSeeders and string.sub(v, 1, 1) == '1') then
      out[#out + 1] = v
      n = n + 1
    end
  end
end
return out
`;
