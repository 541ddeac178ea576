-- Soundloom's spool protocol for DAW scripting hosts whose Lua has no sockets (REAPER, Ardour).
--
-- A request is the same message an OSC client would send, as a JSON array written to
-- spool/requests/ID.json (via a temporary name, so it appears whole); the bridge rewrites
-- spool/replies/ID.json with every reply so far. Takes the desktop app pushes ("Send to DAW") appear as
-- spool/takes/N.json, with the newest N in spool/takes/latest. See host_bridge/osc/PROTOCOL.md.
--
-- Plain Lua 5.3/5.4 (REAPER embeds either, Ardour 5.3): io, os and string only.

local M = {}

M.POLL_INTERVAL_S = 0.2
M.TIMEOUT_S = 1800

---------------------------------------------------------------------------------------------------
-- JSON (only what the spool needs: arrays, strings, numbers, booleans, null)

local function encode_string(text)
  local escaped = text:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
    return named[c] or string.format("\\u%04x", c:byte())
  end)
  return '"' .. escaped .. '"'
end

function M.encode(value)
  local kind = type(value)
  if kind == "string" then
    return encode_string(value)
  elseif kind == "number" then
    if math.type(value) == "integer" then return string.format("%d", value) end
    local text = string.format("%.17g", value)
    if not text:find("[%.eEn]") then text = text .. ".0" end -- a float stays a float (OSC f, not i)
    return text
  elseif kind == "boolean" then
    return tostring(value)
  elseif kind == "table" then
    local parts = {}
    for i = 1, #value do parts[i] = M.encode(value[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  return "null"
end

function M.decode(text)
  local position = 1
  local function skip() position = text:find("[^%s]", position) or #text + 1 end
  local value
  local function read_string()
    local out = {}
    position = position + 1
    while true do
      local c = text:sub(position, position)
      if c == "" then error("unterminated string") end
      if c == '"' then position = position + 1; return table.concat(out) end
      if c == "\\" then
        local e = text:sub(position + 1, position + 1)
        if e == "u" then
          local code = tonumber(text:sub(position + 2, position + 5), 16)
          if not code then error("bad \\u escape") end
          position = position + 6
          local low = text:sub(position, position + 1) == "\\u" and tonumber(text:sub(position + 2, position + 5), 16)
          if code >= 0xD800 and code <= 0xDBFF and low and low >= 0xDC00 and low <= 0xDFFF then
            code = 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00) -- a surrogate pair: one character
            position = position + 6
          elseif code >= 0xD800 and code <= 0xDFFF then
            code = 0xFFFD -- a lone surrogate is no character: the replacement one, as UTF-8 decoders do
          end
          out[#out + 1] = utf8.char(code)
        else
          out[#out + 1] = ({ n = "\n", r = "\r", t = "\t", b = "\b", f = "\f" })[e] or e
          position = position + 2
        end
      else
        out[#out + 1] = c
        position = position + 1
      end
    end
  end
  value = function()
    skip()
    local c = text:sub(position, position)
    if c == "[" then
      local list = {}
      position = position + 1
      skip()
      if text:sub(position, position) == "]" then position = position + 1; return list end
      while true do
        list[#list + 1] = value()
        skip()
        local separator = text:sub(position, position)
        position = position + 1
        if separator == "]" then return list end
        if separator ~= "," then error("expected , or ] in JSON") end
      end
    elseif c == '"' then
      return read_string()
    elseif text:sub(position, position + 3) == "true" then
      position = position + 4; return true
    elseif text:sub(position, position + 4) == "false" then
      position = position + 5; return false
    elseif text:sub(position, position + 3) == "null" then
      position = position + 4; return nil
    end
    local number = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", position)
    if not number or number == "" then error("unexpected JSON at " .. position) end
    position = position + #number
    return tonumber(number)
  end
  return value()
end

---------------------------------------------------------------------------------------------------
-- Files

local function read_file(path)
  local file = io.open(path, "rb")
  if not file then return nil end
  local text = file:read("a")
  file:close()
  return text
end

local function write_file(path, text)
  local file, message = io.open(path, "wb")
  if not file then return false, message end
  file:write(text)
  file:close()
  return true
end

-- The bridge's default spool folder, as `soundloom serve` prints it: $SOUNDLOOM_SPOOL, else spool/ in
-- $SOUNDLOOM_DATA_DIR, else in the platform's user data folder. `system` is "windows", "macos" or other.
function M.default_folder(system)
  local from_env = os.getenv("SOUNDLOOM_SPOOL")
  if from_env and from_env ~= "" then return from_env end
  local data = os.getenv("SOUNDLOOM_DATA_DIR")
  if data and data ~= "" then return data .. "/spool" end
  if system == "windows" then return (os.getenv("LOCALAPPDATA") or "") .. "\\soundloom\\spool" end
  if system == "macos" then return os.getenv("HOME") .. "/Library/Application Support/soundloom/spool" end
  local xdg = os.getenv("XDG_DATA_HOME")
  return ((xdg and xdg ~= "") and xdg or (os.getenv("HOME") .. "/.local/share")) .. "/soundloom/spool"
end

---------------------------------------------------------------------------------------------------
-- Requests and replies

-- A request id no other run will pick: the clock to the microsecond, and a random number seeded from
-- it (Lua 5.3 starts math.random from the same seed in every run, so it cannot be trusted alone).
function M.request_id(prefix, clock_s)
  local micros = math.floor(clock_s * 1e6)
  math.randomseed(micros % 2147483647)
  return string.format("%s-%d-%06d-%06d", prefix, os.time(), micros % 1000000, math.random(0, 999999))
end

function M.send(folder, message, request_id)
  local requests = folder .. "/requests/"
  local temporary = requests .. "." .. request_id .. ".part"
  local ok, problem = write_file(temporary, M.encode(message))
  if not ok then
    return false, "cannot write to the Soundloom spool folder " .. folder .. " (" .. tostring(problem) ..
        "); is `soundloom serve` (or the Soundloom app) running?"
  end
  os.rename(temporary, requests .. request_id .. ".json") -- appears whole: the bridge reads *.json only
  return true
end

function M.replies(folder, request_id)
  local text = read_file(folder .. "/replies/" .. request_id .. ".json")
  if not text or text == "" then return {} end
  local ok, decoded = pcall(M.decode, text)
  return ok and decoded or {}
end

function M.cancel(folder, request_id)
  return M.send(folder, { "/soundloom/cancel", request_id }, request_id .. "-cancel")
end

-- What the replies so far say: "done" with the result paths and durations, "error" with the reply
-- (["/soundloom/error", id, code, text]), or nil while the job runs.
function M.outcome(replies)
  local durations = {}
  for _, reply in ipairs(replies) do
    if reply[1] == "/soundloom/result" then durations[#durations + 1] = reply[4] end
    if reply[1] == "/soundloom/error" then return "error", reply end
    if reply[1] == "/soundloom/done" then
      local paths = {}
      for i = 3, #reply do paths[#paths + 1] = reply[i] end
      return "done", paths, durations
    end
  end
  return nil
end

-- "2.5" seconds, or "2 bars" / "2b", or "3 beats"
function M.parse_length(text)
  local number, unit = text:match("^%s*([%d%.]+)%s*(%a*)%s*$")
  number = tonumber(number)
  if not number or number <= 0 then return nil end
  unit = unit:lower()
  if unit == "" or unit == "s" or unit:find("^sec") then return { "duration", number + 0.0 } end
  if unit == "b" or unit:find("^bar") then return { "bars", number + 0.0 } end
  if unit:find("^beat") then return { "beats", number + 0.0 } end
  return nil
end

function M.snap(seconds, rate)
  return math.floor(seconds * rate + 0.5) / rate
end

---------------------------------------------------------------------------------------------------
-- Takes pushed by the app

function M.latest_take(folder)
  return math.tointeger(tonumber(read_file(folder .. "/takes/latest") or "") or 0) or 0
end

-- Take number `n` as {path=, duration_s=, sample_rate=}, or nil if it is gone or unreadable.
function M.read_take(folder, n)
  local text = read_file(folder .. "/takes/" .. n .. ".json")
  local ok, message = pcall(M.decode, text or "")
  if not ok or type(message) ~= "table" or message[1] ~= "/soundloom/take" then return nil end
  return { path = message[2], duration_s = message[3], sample_rate = message[4] }
end

return M
