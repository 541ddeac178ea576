-- Soundloom for REAPER: the shared part of the five actions (see README.md beside this file).
--
-- Stock REAPER Lua has no sockets, so requests travel through the bridge's spool folder: the action
-- writes requests/ID.json (a JSON array, the same message an OSC client would send) and polls
-- replies/ID.json from a reaper.defer loop, which keeps REAPER's UI responsive while the bridge works.
-- Results come back as file paths and are placed on the timeline, aligned to the project's samples.

local M = {}

M.OPERATIONS = { generate = true, transfer = true, inpaint = true, vary = true, extend = true }
M.POLL_INTERVAL_S = 0.2
M.TIMEOUT_S = 1800
M.RENDER_ITEMS_TO_NEW_TAKE = 41999 -- "Item: Render items to new take" (applies take FX and playrate)

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
          out[#out + 1] = utf8.char(tonumber(text:sub(position + 2, position + 5), 16))
          position = position + 6
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
-- Where the bridge's spool folder is: ExtState "soundloom"/"spool", $SOUNDLOOM_SPOOL, else the
-- bridge's default (its data folder, as `soundloom serve` prints at start).

function M.spool_folder()
  local configured = reaper.GetExtState("soundloom", "spool")
  if configured ~= nil and configured ~= "" then return configured end
  local from_env = os.getenv("SOUNDLOOM_SPOOL")
  if from_env and from_env ~= "" then return from_env end
  local data = os.getenv("SOUNDLOOM_DATA_DIR")
  if data and data ~= "" then return data .. "/spool" end
  local system = reaper.GetOS()
  if system:find("Win") then return os.getenv("LOCALAPPDATA") .. "\\soundloom\\spool" end
  if system:find("OSX") or system:find("macOS") then
    return os.getenv("HOME") .. "/Library/Application Support/soundloom/spool"
  end
  local xdg = os.getenv("XDG_DATA_HOME")
  return ((xdg and xdg ~= "") and xdg or (os.getenv("HOME") .. "/.local/share")) .. "/soundloom/spool"
end

local function write_file(path, text)
  local file, message = io.open(path, "wb")
  if not file then return false, message end
  file:write(text)
  file:close()
  return true
end

local function read_file(path)
  local file = io.open(path, "rb")
  if not file then return nil end
  local text = file:read("a")
  file:close()
  return text
end

function M.send(message, request_id)
  local requests = M.spool_folder() .. "/requests/"
  local temporary = requests .. "." .. request_id .. ".part"
  local ok, problem = write_file(temporary, M.encode(message))
  if not ok then
    return false, "cannot write to the Soundloom spool folder (" .. tostring(problem) ..
        "); is `soundloom serve` running?"
  end
  os.rename(temporary, requests .. request_id .. ".json") -- appears whole: the bridge reads *.json only
  return true
end

function M.replies(request_id)
  local text = read_file(M.spool_folder() .. "/replies/" .. request_id .. ".json")
  if not text or text == "" then return {} end
  local ok, decoded = pcall(M.decode, text)
  return ok and decoded or {}
end

---------------------------------------------------------------------------------------------------
-- Project state

function M.project_rate()
  local rate = reaper.GetSetProjectInfo(0, "PROJECT_SRATE", 0, false)
  if rate and rate > 0 then return math.floor(rate + 0.5) end
  local ok, device_rate = reaper.GetAudioDeviceInfo("SRATE", "")
  return (ok and tonumber(device_rate)) or 48000
end

function M.snap(seconds, rate)
  return math.floor(seconds * rate + 0.5) / rate
end

local function source_file(take)
  local source = reaper.GetMediaItemTake_Source(take)
  local name = reaper.GetMediaSourceFileName(source, "")
  return name
end

-- The selected item as a request input: its file and the region of it the item plays. Items with take
-- FX or a playrate other than 1 are first rendered to a new take, so the bridge hears what the user hears.
function M.item_input(item)
  local take = reaper.GetActiveTake(item)
  if not take then return nil, "the selected item has no take" end
  local playrate = reaper.GetMediaItemTakeInfo_Value(take, "D_PLAYRATE")
  if reaper.TakeFX_GetCount(take) > 0 or math.abs(playrate - 1) > 1e-9 then
    reaper.Main_OnCommand(M.RENDER_ITEMS_TO_NEW_TAKE, 0)
    take = reaper.GetActiveTake(item)
  end
  local path = source_file(take)
  if not path or path == "" then return nil, "the selected item's take has no audio file (MIDI?)" end
  return {
    take = take,
    path = path,
    offset = reaper.GetMediaItemTakeInfo_Value(take, "D_STARTOFFS"),
    length = reaper.GetMediaItemInfo_Value(item, "D_LENGTH"),
    position = reaper.GetMediaItemInfo_Value(item, "D_POSITION"),
  }
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

---------------------------------------------------------------------------------------------------
-- The round trip

local function ask(title, fields, defaults)
  local ok, answer = reaper.GetUserInputs(title, #fields, table.concat(fields, ",") .. ",extrawidth=300",
    table.concat(defaults, ","))
  if not ok then return nil end
  local values = {}
  for value in (answer .. ","):gmatch("([^,]*),") do values[#values + 1] = value end
  return values
end

local function fail(message)
  reaper.MB(message, "Soundloom", 0)
  return false
end

-- Build the request for `operation` from the project; returns message, placement or nil.
function M.build(operation, request_id)
  local rate = M.project_rate()
  local cursor = reaper.GetCursorPosition()
  local beats_per_bar, _, bpm = reaper.TimeMap_GetTimeSigAtTime(0, cursor)
  local placement = { operation = operation, rate = rate }

  if operation == "generate" then
    local track = reaper.GetSelectedTrack(0, 0)
    if not track then return fail("Select a track: the sound is placed on it at the edit cursor.") end
    local values = ask("Soundloom: generate", { "Prompt", "Length (2.5, 2 bars, 4 beats)", "Variations" },
      { "", "4", "1" })
    if not values then return nil end
    if values[1]:match("^%s*$") then return fail("The prompt is empty.") end
    local length = M.parse_length(values[2] or "")
    if not length then return fail("Length: seconds (2.5), bars (2 bars) or beats (4 beats).") end
    local message = { "/soundloom/generate", request_id, values[1], length[1], length[2],
      "variations", math.tointeger(tonumber(values[3]) or 1) or 1, "rate", rate, "priority", "daw",
      "bpm", bpm + 0.0, "beats_per_bar", math.floor(beats_per_bar) }
    placement.track, placement.position = track, M.snap(cursor, rate)
    return message, placement
  end

  local item = reaper.GetSelectedMediaItem(0, 0)
  if not item then return fail("Select an audio item first.") end
  local input, problem = M.item_input(item)
  if not input then return fail(problem) end
  placement.item, placement.input = item, input
  local message = { "/soundloom/" .. operation, request_id, input.path }
  local fields, defaults = { "Prompt" }, { "" }
  if operation == "transfer" then fields[2], defaults[2] = "Strength (0-1)", "0.5" end
  if operation == "extend" then fields[2], defaults[2] = "Seconds to add", "2" end
  if operation ~= "vary" then
    local values = ask("Soundloom: " .. operation, fields, defaults)
    if not values then return nil end
    if values[1]:match("^%s*$") then return fail("The prompt is empty.") end
    message[#message + 1] = values[1]
    if operation == "transfer" then
      local strength = tonumber(values[2])
      if not strength then return fail("Strength is a number from 0 to 1.") end
      message[#message + 1], message[#message + 2] = "strength", strength + 0.0
    elseif operation == "extend" then
      local seconds = tonumber(values[2])
      if not seconds then return fail("Seconds to add is a number.") end
      message[#message + 1], message[#message + 2] = "seconds", seconds + 0.0
    end
  end
  if operation == "inpaint" then
    local start, finish = reaper.GetSet_LoopTimeRange(false, false, 0, 0, false)
    local region_start = math.max(start, input.position) - input.position
    local region_end = math.min(finish, input.position + input.length) - input.position
    if finish <= start or region_end <= region_start then
      return fail("Make a time selection over the selected item: that region is regenerated.")
    end
    for _, value in ipairs({ "start", region_start + 0.0, "end", region_end + 0.0 }) do
      message[#message + 1] = value
    end
  end
  local tail = { "in_offset", input.offset + 0.0, "in_length", input.length + 0.0, "rate", rate, "priority", "daw" }
  for _, value in ipairs(tail) do message[#message + 1] = value end
  return message, placement
end

-- Put the result files on the timeline: new items at the cursor (generate; variations as takes of
-- one item) or new takes on the selected item (edits; extend also lengthens the item).
function M.place(placement, paths, durations)
  reaper.Undo_BeginBlock()
  local item = placement.item
  if placement.operation == "generate" then
    item = reaper.AddMediaItemToTrack(placement.track)
    reaper.SetMediaItemInfo_Value(item, "D_POSITION", placement.position)
    reaper.SetMediaItemInfo_Value(item, "D_LENGTH", M.snap(durations[1], placement.rate))
  end
  local first_take
  for i, path in ipairs(paths) do
    local take = reaper.AddTakeToMediaItem(item)
    reaper.SetMediaItemTake_Source(take, reaper.PCM_Source_CreateFromFile(path))
    reaper.SetMediaItemTakeInfo_Value(take, "D_STARTOFFS", 0)
    reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", "Soundloom " .. placement.operation .. " " .. i, true)
    first_take = first_take or take
  end
  if placement.operation == "extend" then
    reaper.SetMediaItemInfo_Value(item, "D_LENGTH", M.snap(durations[1], placement.rate))
  end
  reaper.SetActiveTake(first_take)
  reaper.UpdateArrange()
  reaper.Undo_EndBlock("Soundloom: " .. placement.operation, -1)
end

function M.run(operation)
  if not M.OPERATIONS[operation] then return fail("unknown operation " .. tostring(operation)) end
  local request_id = string.format("reaper-%d-%06d", os.time(), math.random(0, 999999))
  local message, placement = M.build(operation, request_id)
  if not message then return false end
  local ok, problem = M.send(message, request_id)
  if not ok then return fail(problem) end
  local started, last_poll = reaper.time_precise(), 0
  local function poll()
    local now = reaper.time_precise()
    if now - last_poll < M.POLL_INTERVAL_S then return reaper.defer(poll) end
    last_poll = now
    local durations = {}
    for _, reply in ipairs(M.replies(request_id)) do
      if reply[1] == "/soundloom/result" then durations[#durations + 1] = reply[4] end
      if reply[1] == "/soundloom/error" then return fail("Soundloom: " .. reply[3] .. ": " .. reply[4]) end
      if reply[1] == "/soundloom/done" then
        local paths = {}
        for i = 3, #reply do paths[#paths + 1] = reply[i] end
        M.place(placement, paths, durations)
        return true
      end
    end
    if now - started > M.TIMEOUT_S then return fail("Soundloom: no result after " .. M.TIMEOUT_S .. " s") end
    reaper.defer(poll)
  end
  reaper.defer(poll)
  return true
end

return M
