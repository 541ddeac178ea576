-- Soundloom for Ardour: the session side of the actions (see README.md beside this file).
--
-- Everything here uses only Ardour's Session API (no Editor, no dialogs), so it runs the same inside the
-- GUI and in the headless `ardour7-lua`. soundloom_ardour_gui.lua reads the selection and asks the user;
-- the actions and the hook call it. Load this file with its folder as the argument:
--     local core = load(io.open(folder .. "soundloom_ardour.lua"):read("a"))(folder)
--
-- Ardour's Lua cannot receive OSC, so requests go through the bridge's spool folder, as REAPER's do
-- (soundloom_spool.lua). Ardour's Lua has no way to wait without freezing the GUI either, so an action
-- only sends its request and notes it in spool/ardour-pending.json; `poll()`, called every tenth of a
-- second by the "Soundloom: place results" hook, places each result when it is done.
--
-- Placing a file: Ardour 7's Lua has no file import usable without the GUI (Editor:do_import needs it),
-- and no region or source factory for a file. What it has: ARDOUR.Readable.load reads a file (resampled
-- to the session rate), a DSP script can play that from shared memory ("Soundloom Take Player",
-- soundloom_take_player.lua), Track:bounce_range records a track's output into a new source and region
-- in the session's audio folder, and Playlist:add_region puts it on the timeline. Sample-exact: the
-- player sits after the fader, so the bounce is the file's samples, unscaled.

local scripts = ...
local spool = assert(load(assert(io.open(scripts .. "soundloom_spool.lua", "rb")):read("a"),
  "@soundloom_spool.lua"))()

local M = { spool = spool }

M.PLAYER = "Soundloom Take Player"
M.EDITS = { transfer = true, inpaint = true, extend = true, vary = true }
local BLOCK = 8192 -- samples read or written at a time

---------------------------------------------------------------------------------------------------
-- Where things are

local function system()
  if os.getenv("OS") == "Windows_NT" then return "windows" end
  local mac = io.open("/System/Library/CoreServices/SystemVersion.plist", "rb")
  if mac then mac:close(); return "macos" end
  return "other"
end

-- The spool folder: the first line of soundloom_spool.txt beside these scripts if there is one (a
-- bridge started with --spool or another data folder), else the bridge's default. Found once per load:
-- the hook asks for it several times a tick.
local spool_folder
function M.spool_folder()
  if spool_folder then return spool_folder end
  spool_folder = spool.default_folder(system())
  local configured = io.open(scripts .. "soundloom_spool.txt", "rb")
  if configured then
    local line = (configured:read("l") or ""):match("^%s*(.-)%s*$")
    configured:close()
    if line ~= "" then spool_folder = line end
  end
  return spool_folder
end

local function read_list(path)
  local file = io.open(path, "rb")
  if not file then return {} end
  local text = file:read("a")
  file:close()
  local ok, list = pcall(spool.decode, text)
  return ok and type(list) == "table" and list or {}
end

local function write_list(path, list)
  local file = assert(io.open(path .. ".part", "wb"))
  file:write(spool.encode(list))
  file:close()
  os.rename(path .. ".part", path)
end

---------------------------------------------------------------------------------------------------
-- WAV files (RIFF, PCM or IEEE float): enough to check a result before Ardour reads it (Readable.load
-- aborts the whole program on a file it cannot open) and to hand the bridge a region as a file.

function M.wav_info(path)
  local file = io.open(path, "rb")
  if not file then return nil, "cannot open " .. path end
  local header = file:read(12) or ""
  if #header < 12 or header:sub(1, 4) ~= "RIFF" or header:sub(9, 12) ~= "WAVE" then
    file:close()
    return nil, path .. " is not a WAV file"
  end
  local info = {}
  while true do
    local chunk = file:read(8)
    if not chunk or #chunk < 8 then break end
    local id, size = chunk:sub(1, 4), string.unpack("<I4", chunk, 5)
    if id == "fmt " then
      local body = file:read(size)
      info.format, info.channels, info.rate = string.unpack("<I2I2I4", body)
      info.bits = string.unpack("<I2", body, 15)
      if size % 2 == 1 then file:read(1) end
    elseif id == "data" then
      info.data_bytes = size
      break
    else
      file:seek("cur", size + size % 2)
    end
  end
  file:close()
  if not info.rate or not info.data_bytes or info.channels == 0 or info.bits == 0 then
    return nil, path .. " has no readable audio (fmt or data chunk missing)"
  end
  return info
end

-- Write `channels` x `frames` float samples, read block by block through `read(channel, pos, count, buf)`,
-- as a 32-bit float WAV (WAVE_FORMAT_IEEE_FLOAT with its fact chunk).
local function write_float_wav(path, rate, channels, frames, read)
  local file, problem = io.open(path, "wb")
  if not file then return nil, problem end
  local data_bytes = frames * channels * 4
  file:write("RIFF", string.pack("<I4", 4 + 26 + 12 + 8 + data_bytes), "WAVE")
  file:write("fmt ", string.pack("<I4I2I2I4I4I2I2I2", 18, 3, channels, rate, rate * channels * 4, channels * 4, 32, 0))
  file:write("fact", string.pack("<I4I4", 4, frames))
  file:write("data", string.pack("<I4", data_bytes))
  local buffers = {}
  for c = 1, channels do buffers[c] = ARDOUR.DSP.DspShm(BLOCK) end
  local position = 0
  while position < frames do
    local count = math.min(BLOCK, frames - position)
    local samples = {}
    for c = 1, channels do samples[c] = read(c - 1, position, count, buffers[c]:to_float(0)) end
    local interleaved = {}
    for i = 1, count do
      for c = 1, channels do interleaved[#interleaved + 1] = samples[c][i] end
    end
    for first = 1, #interleaved, 4096 do
      local last = math.min(first + 4095, #interleaved)
      file:write(string.pack("<" .. string.rep("f", last - first + 1), table.unpack(interleaved, first, last)))
    end
    position = position + count
  end
  file:close()
  return path
end

-- The region's own audio (every channel, its whole length) as a float WAV in the session's export
-- folder, which the bridge reads when the session lies under one of its --root folders.
function M.region_wav(region, name)
  local readable = region:to_audioregion():to_readable()
  local path = ARDOUR.LuaAPI.build_filename(Session:path(), "export", name .. ".wav")
  return write_float_wav(path, Session:nominal_sample_rate(), readable:n_channels(), readable:readable_length(),
    function(channel, position, count, buffer)
      local got = readable:read(buffer, position, count, channel)
      local values = buffer:array()
      for i = got + 1, count do values[i] = 0 end
      return values
    end)
end

---------------------------------------------------------------------------------------------------
-- Placing a file on a track

-- The region with this id (a string) on `playlist` now. Playlist:region_by_id also finds regions that
-- were removed (it keeps them for undo), so the current list is searched instead.
local function region_on(playlist, id)
  for region in playlist:region_list():iter() do
    if region:to_stateful():id():to_s() == id then return region end
  end
  return nil
end

local function track_of(region)
  local id = region:to_stateful():id():to_s()
  for route in Session:get_tracks():iter() do
    local track = route:to_track()
    if not track:isnil() and region_on(track:playlist(), id) then return route end
  end
  return nil
end

-- Bounce `path` onto `route` as a new region starting at sample `position`, on top of what is there.
-- Returns the region, or nil and why.
function M.place_file(route, path, position)
  local track = route:to_track()
  if track:isnil() or track:to_audio_track():isnil() then
    return nil, route:name() .. " is not an audio track"
  end
  local info, problem = M.wav_info(path)
  if not info then return nil, problem end
  local readables = ARDOUR.Readable.load(Session, path)
  local channels = readables:size()
  local frames = readables:at(0):readable_length()
  local player = ARDOUR.LuaAPI.new_luaproc(Session, M.PLAYER)
  if player:isnil() then
    return nil, "the \"" .. M.PLAYER .. "\" DSP script (soundloom_take_player.lua) is not in " .. scripts
  end
  local memory = player:to_insert():plugin(0):to_luaproc():shmem()
  memory:allocate(2 + frames * channels)
  local header = memory:to_int(0):array()
  header[1], header[2] = frames, channels
  for c = 0, channels - 1 do readables:at(c):read(memory:to_float(2 + c * frames), 0, frames, 0) end
  route:add_processor_by_index(player, -1, nil, true) -- after the fader: the file's samples, unscaled
  local name = path:match("([^/\\]+)%.%w+$") or "Soundloom"
  local region = track:bounce_range(0, frames, ARDOUR.InterThreadInfo(), track:main_outs(), false, name)
  route:remove_processor(player, nil, true)
  if region:isnil() then return nil, "Ardour could not bounce " .. path .. " onto " .. route:name() end
  local playlist = track:playlist()
  -- "insert file" is the operation name of Ardour's own import: during it, a region added to a playlist
  -- also extends the session range (Session::playlist_region_added), so exports include it.
  Session:begin_reversible_command("insert file")
  playlist:to_stateful():clear_changes()
  playlist:add_region(region, Temporal.timepos_t(position), 1, false)
  Session:add_stateful_diff_command(playlist:to_statefuldestructible())
  Session:commit_reversible_command(nil)
  return region
end

---------------------------------------------------------------------------------------------------
-- Requests

local function pending_path() return M.spool_folder() .. "/ardour-pending.json" end

-- The tempo at `position` in quarter notes a minute, and the time signature there.
local function tempo_at(position)
  local map = Temporal.TempoMap.read()
  local at = Temporal.timepos_t(position)
  local tempo, meter = map:tempo_at(at), map:meter_at(at)
  return tempo:quarter_notes_per_minute(), meter:divisions_per_bar(), meter:note_value()
end

-- Send one request. `target`: {track = Route, position = samples} for generate, {region = Region} for
-- the edits (inpaint also `range = {start, end}` in timeline samples). `answers`: prompt, length,
-- variations, strength, seconds. Returns the request id, or nil and why.
function M.request(operation, target, answers)
  local rate = Session:nominal_sample_rate()
  local request_id = spool.request_id("ardour", ARDOUR.LuaAPI.monotonic_time() / 1e6)
  local message, record
  if operation ~= "vary" and not (answers.prompt or ""):find("%S") then return nil, "The prompt is empty." end
  if operation == "generate" then
    if not target.track then return nil, "Select a track: the sound is placed on it at the playhead." end
    local length = spool.parse_length(answers.length or "")
    if not length then return nil, "Length: seconds (2.5), bars (2 bars) or beats (4 beats)." end
    local bpm, beats_per_bar, beat_unit = tempo_at(target.position)
    message = { "/soundloom/generate", request_id, answers.prompt, length[1], length[2],
      "variations", math.tointeger(tonumber(answers.variations) or 1) or 1, "rate", rate, "priority", "daw",
      "bpm", bpm + 0.0, "beats_per_bar", math.floor(beats_per_bar), "beat_unit", math.floor(beat_unit) }
    record = { request_id, operation, target.track:to_stateful():id():to_s(), target.position, "", Session:path() }
  elseif M.EDITS[operation] then
    local region = target.region
    if not region or region:to_audioregion():isnil() then return nil, "Select an audio region first." end
    local route = track_of(region)
    if not route then return nil, "The selected region is on no track." end
    local input, problem = M.region_wav(region, "soundloom-" .. request_id)
    if not input then return nil, "cannot write the region for Soundloom: " .. tostring(problem) end
    message = { "/soundloom/" .. operation, request_id, input }
    if operation ~= "vary" then message[#message + 1] = answers.prompt end
    if operation == "transfer" then
      local strength = tonumber(answers.strength)
      if not strength then return nil, "Strength is a number from 0 to 1." end
      message[#message + 1], message[#message + 2] = "strength", strength + 0.0
    elseif operation == "extend" then
      local seconds = tonumber(answers.seconds)
      if not seconds then return nil, "Seconds to add is a number." end
      message[#message + 1], message[#message + 2] = "seconds", seconds + 0.0
    elseif operation == "inpaint" then
      local first = region:position():samples()
      local last = first + region:length():samples()
      local range = target.range or { 0, 0 }
      local start, finish = math.max(range[1], first), math.min(range[2], last)
      if finish <= start then return nil, "Make a range selection over the region: that part is regenerated." end
      for _, value in ipairs({ "start", (start - first) / rate, "end", (finish - first) / rate }) do
        message[#message + 1] = value
      end
    end
    for _, value in ipairs({ "rate", rate, "priority", "daw" }) do message[#message + 1] = value end
    record = { request_id, operation, route:to_stateful():id():to_s(), 0, region:to_stateful():id():to_s(),
      Session:path() }
  else
    return nil, "unknown operation " .. tostring(operation)
  end
  local sent, problem = spool.send(M.spool_folder(), message, request_id)
  if not sent then return nil, problem end
  local pending = read_list(pending_path())
  pending[#pending + 1] = record
  write_list(pending_path(), pending)
  return request_id
end

local function error_text(reply, operation)
  local code, text = reply[3], reply[4]
  if code == "bad_path" and M.EDITS[operation] then
    return "Soundloom: bad_path: the bridge may not read this session's export folder (" ..
      ARDOUR.LuaAPI.build_filename(Session:path(), "export") .. "). Start it with the session's folder " ..
      "among its inputs: soundloom serve --root FOLDER. The bridge said: " .. text
  end
  return "Soundloom: " .. code .. ": " .. text
end

-- Place one finished request's results: generate at its playhead position, edits where the region is
-- now, on top of it. Variations are stacked, the first on top. A deleted track or removed region is left
-- alone, and the message names the result files.
local function place(record, paths)
  local _, operation, track_id, position, region_id = table.unpack(record)
  local results = table.concat(paths, "\n")
  local route = Session:route_by_id(PBD.ID(track_id))
  if route:isnil() then
    return "Soundloom: the track was deleted while Soundloom worked, so nothing was placed. The result " ..
      "is in the bridge's output folder:\n" .. results
  end
  if region_id ~= "" then
    local region = region_on(route:to_track():playlist(), region_id)
    if not region then
      return "Soundloom: the region was removed from its track while Soundloom worked, so nothing was " ..
        "placed. The result is in the bridge's output folder:\n" .. results
    end
    position = region:position():samples()
  end
  for i = #paths, 1, -1 do
    local region, problem = M.place_file(route, paths[i], position)
    if not region then return "Soundloom: " .. problem end
  end
  return nil
end

-- A request belongs to the session it was made in; another session open later leaves it waiting.
local function ours(record) return record[6] == Session:path() end

function M.waiting()
  local count = 0
  for _, record in ipairs(read_list(pending_path())) do if ours(record) then count = count + 1 end end
  return count
end

-- Look at every pending request of this session once: place what is done, report what failed. Returns the
-- messages for the user (empty when there is nothing to say).
function M.poll()
  local path = pending_path()
  local pending, waiting, messages = read_list(path), {}, {}
  for _, record in ipairs(pending) do
    local outcome, detail = nil, nil
    if ours(record) then outcome, detail = spool.outcome(spool.replies(M.spool_folder(), record[1])) end
    if outcome == "done" then
      messages[#messages + 1] = place(record, detail)
    elseif outcome == "error" then
      messages[#messages + 1] = error_text(detail, record[2])
    else
      waiting[#waiting + 1] = record
    end
  end
  if #waiting < #pending then write_list(path, waiting) end
  return messages
end

---------------------------------------------------------------------------------------------------
-- The hook's heartbeat: an action can tell whether anything will place its result.

local function beat_path() return M.spool_folder() .. "/ardour-hook.json" end
local last_beat

function M.hook_beat()
  local now = os.time()
  if now ~= last_beat then write_list(beat_path(), { now }); last_beat = now end
end

function M.hook_alive()
  local beat = read_list(beat_path())[1]
  return beat ~= nil and os.time() - beat <= 3
end

---------------------------------------------------------------------------------------------------
-- Takes the app pushes ("Send to DAW")

local function receiving_path() return M.spool_folder() .. "/ardour-receiving.json" end

-- Switch receiving on (from the newest take now: earlier ones are not this session's) or off.
function M.set_receiving(on)
  if on then
    write_list(receiving_path(), { spool.latest_take(M.spool_folder()) })
  else
    os.remove(receiving_path())
  end
end

function M.receiving()
  return read_list(receiving_path())[1] ~= nil
end

-- Place every take pushed since the last call on `route` at sample `position` (the playhead), while
-- receiving is on. Returns messages for the user.
function M.receive_takes(route, position)
  local seen = read_list(receiving_path())[1]
  if not seen then return {} end
  local folder, messages = M.spool_folder(), {}
  local latest = spool.latest_take(folder)
  for number = seen + 1, latest do
    local take = spool.read_take(folder, number)
    if take and not route then
      messages[#messages + 1] = "Soundloom: select a track to receive takes on; this take was not placed:\n" ..
        take.path
    elseif take then
      local region, problem = M.place_file(route, take.path, position)
      if not region then messages[#messages + 1] = "Soundloom: " .. problem end
    end
  end
  if latest > seen then write_list(receiving_path(), { latest }) end
  return messages
end

return M
