-- wrk script: announces for TORRENTS info-hashes (4-byte index + 16 bytes 0x5a, as the
-- whitelist), random peer id and port, one request per connection (Connection: close),
-- so a tracker with keep-alive is measured on opentracker's terms.
local torrents = tonumber(os.getenv("TORRENTS") or "1000")
local tail = string.rep("%5A", 16)
local counter = 0

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

local function hash(i)
  -- LuaJIT (wrk) has no bit operators in the language.
  return string.format("%%%02X%%%02X%%%02X%%%02X", math.floor(i / 16777216) % 256, math.floor(i / 65536) % 256,
    math.floor(i / 256) % 256, i % 256) .. tail
end

request = function()
  counter = counter + 1
  local i = math.random(0, torrents - 1)
  local peer = string.format("-WK0001-%012d", math.random(0, 999999999999))
  local left = (math.random(0, 1) == 0) and "0" or "1000"
  local path = "/announce?info_hash=" .. hash(i) .. "&peer_id=" .. peer .. "&port=" .. math.random(1024, 65000) ..
    "&uploaded=0&downloaded=0&left=" .. left .. "&event=started&compact=1&numwant=50"
  return wrk.format("GET", path, { ["Connection"] = "close" })
end
