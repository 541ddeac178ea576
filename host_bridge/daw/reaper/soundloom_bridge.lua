-- Soundloom for REAPER: the shared part of the actions (see README.md beside this file).
--
-- Stock REAPER Lua has no sockets, so requests travel through the bridge's spool folder
-- (../lua/soundloom_spool.lua): the action writes the request and polls for its replies from a
-- reaper.defer loop, which keeps REAPER's UI responsive while the bridge works. Results come back as file
-- paths and are placed on the timeline, aligned to the samples of the rate REAPER runs at.
--
-- What each REAPER call does is as REAPER's ReaScript documentation (reascripthelp.html) states it;
-- the comments quote the parts this file depends on.

local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or ""
local spool = dofile(here .. "../lua/soundloom_spool.lua")

local M = {}

M.OPERATIONS = { generate = true, transfer = true, inpaint = true, vary = true, extend = true }
M.RENDER_ITEMS_TO_NEW_TAKE = 41999 -- "Item: Render items to new take" (take FX, playrate, pitch)
M.DEFAULT_RATE = 48000 -- only when neither the project nor an open audio device gives one

local function fail(message)
  reaper.MB(message, "Soundloom", 0)
  return false
end

---------------------------------------------------------------------------------------------------
-- Project state

-- ExtState "soundloom"/"spool" if set, else the bridge's default. "GetOS: Returns "Win32", "Win64",
-- "OSX32", "OSX64", "macOS-arm64", or "Other"" (Other: Linux).
function M.spool_folder()
  local configured = reaper.GetExtState("soundloom", "spool")
  if configured ~= nil and configured ~= "" then return configured end
  local system = reaper.GetOS()
  local kind = system:find("^Win") and "windows" or (system:find("^OSX") or system:find("^macOS")) and "macos"
  return spool.default_folder(kind or "other")
end

-- The rate REAPER runs the project at. "PROJECT_SRATE: samplerate (ignored unless PROJECT_SRATE_USE
-- set)": by default REAPER follows the audio device, whose rate GetAudioDeviceInfo("SRATE") gives ("returns
-- false if unknown attribute or device not open").
function M.project_rate()
  if reaper.GetSetProjectInfo(0, "PROJECT_SRATE_USE", 0, false) > 0 then
    local rate = reaper.GetSetProjectInfo(0, "PROJECT_SRATE", 0, false)
    if rate > 0 then return math.floor(rate + 0.5) end
  end
  local ok, device_rate = reaper.GetAudioDeviceInfo("SRATE")
  local rate = ok and tonumber(device_rate)
  if rate and rate > 0 then return math.floor(rate + 0.5) end
  return M.DEFAULT_RATE
end

-- Action 41999 renders every selected item, so select only `item` for it, then give the user back
-- their selection. Returns the new (active) take that holds the render.
local function render_alone(item)
  local selected = {}
  for i = 0, reaper.CountSelectedMediaItems(0) - 1 do selected[#selected + 1] = reaper.GetSelectedMediaItem(0, i) end
  reaper.SelectAllMediaItems(0, false)
  reaper.SetMediaItemSelected(item, true)
  reaper.Main_OnCommand(M.RENDER_ITEMS_TO_NEW_TAKE, 0)
  reaper.SelectAllMediaItems(0, false)
  for _, other in ipairs(selected) do reaper.SetMediaItemSelected(other, true) end
  reaper.UpdateArrange()
  return reaper.GetActiveTake(item)
end

-- The selected item as a request input: its file, and the part of the file the item plays. A take with
-- FX, a playrate other than 1 or a pitch shift is first rendered to a new take, so the bridge hears what
-- the user hears. A negative D_STARTOFFS means the item starts before its source (`lead` seconds of
-- silence); an item may also run past its source's end. Only the audio in between is sent.
function M.item_input(item)
  local take = reaper.GetActiveTake(item)
  if not take then return nil, "the selected item has no take" end
  local playrate = reaper.GetMediaItemTakeInfo_Value(take, "D_PLAYRATE")
  local pitch = reaper.GetMediaItemTakeInfo_Value(take, "D_PITCH")
  local rendered = reaper.TakeFX_GetCount(take) > 0 or math.abs(playrate - 1) > 1e-9 or math.abs(pitch) > 1e-9
  if rendered then take = render_alone(item) end
  local source = reaper.GetMediaItemTake_Source(take)
  local path = reaper.GetMediaSourceFileName(source, "")
  if not path or path == "" then return nil, "the selected item's take has no audio file (MIDI?)" end
  local offset = reaper.GetMediaItemTakeInfo_Value(take, "D_STARTOFFS")
  local item_length = reaper.GetMediaItemInfo_Value(item, "D_LENGTH")
  local source_length = reaper.GetMediaSourceLength(source)
  local lead, start = math.max(-offset, 0), math.max(offset, 0)
  local length = math.min(item_length - lead, source_length - start)
  if length <= 0 then return nil, "the selected item plays none of its source file" end
  return {
    path = path, rendered = rendered, offset = start, length = length, lead = lead,
    position = reaper.GetMediaItemInfo_Value(item, "D_POSITION"),
  }
end

---------------------------------------------------------------------------------------------------
-- Asking the user

-- "GetUserInputs: ... Values are returned as a comma-separated string. ... separator=X to use a
-- different separator for returned fields." Prompts are full of commas; a newline cannot be typed into a
-- one-line field. Captions stay comma-separated, so none may hold a comma.
local function ask(title, fields, defaults)
  local ok, answer = reaper.GetUserInputs(title, #fields, table.concat(fields, ",") .. ",separator=\n,extrawidth=300",
    table.concat(defaults, "\n"))
  if not ok then return nil end
  local values = {}
  for value in (answer .. "\n"):gmatch("([^\n]*)\n") do values[#values + 1] = value end
  return values
end

-- Build the request for `operation` from the project; returns message, placement or nil.
function M.build(operation, request_id)
  local rate = M.project_rate()
  local cursor = reaper.GetCursorPosition()
  local placement = { operation = operation, rate = rate }

  if operation == "generate" then
    local track = reaper.GetSelectedTrack(0, 0)
    if not track then return fail("Select a track: the sound is placed on it at the edit cursor.") end
    local values = ask("Soundloom: generate", { "Prompt", "Length (2.5 / 2 bars / 4 beats)", "Variations" },
      { "", "4", "1" })
    if not values then return nil end
    if values[1]:match("^%s*$") then return fail("The prompt is empty.") end
    local length = spool.parse_length(values[2] or "")
    if not length then return fail("Length: seconds (2.5), bars (2 bars) or beats (4 beats).") end
    -- "TimeMap_GetTimeSigAtTime: timesig_num, timesig_denom, tempo"; the tempo counts quarter notes.
    local beats_per_bar, beat_unit, bpm = reaper.TimeMap_GetTimeSigAtTime(0, cursor)
    local message = { "/soundloom/generate", request_id, values[1], length[1], length[2],
      "variations", math.tointeger(tonumber(values[3]) or 1) or 1, "rate", rate, "priority", "daw",
      "bpm", bpm + 0.0, "beats_per_bar", math.floor(beats_per_bar), "beat_unit", math.floor(beat_unit) }
    placement.track, placement.position = track, spool.snap(cursor, rate)
    return message, placement
  end

  local item = reaper.GetSelectedMediaItem(0, 0)
  if not item then return fail("Select an audio item first.") end
  local input, problem = M.item_input(item)
  if not input then return fail(problem) end
  placement.item, placement.input = item, input
  local message = { "/soundloom/" .. operation, request_id, input.path }
  local fields, defaults = { "Prompt" }, { "" }
  if operation == "transfer" then fields[2], defaults[2] = "Strength (0 to 1)", "0.5" end
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
    local audio_start = input.position + input.lead -- where the sent audio sits on the timeline
    local region_start = math.max(start, audio_start) - audio_start
    local region_end = math.min(finish, audio_start + input.length) - audio_start
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

---------------------------------------------------------------------------------------------------
-- Placing results

-- Put the result files on the timeline: a new item at the cursor (generate; variations as takes of one
-- item) or new takes on the item (edits, lined up with the audio they replace; extend also lengthens the
-- item). The item or track may have been deleted while the bridge worked: "ValidatePtr2: Return true if
-- the pointer is a valid object of the right type in proj"; then nothing is touched and the files named.
function M.place(placement, paths, durations)
  local results = table.concat(paths, "\n")
  if placement.operation == "generate" and not reaper.ValidatePtr2(0, placement.track, "MediaTrack*") then
    return fail("Soundloom: the track was deleted while the sound was made, so nothing was placed. " ..
      "The result is in the bridge's output folder:\n" .. results)
  end
  if placement.item and not reaper.ValidatePtr2(0, placement.item, "MediaItem*") then
    return fail("Soundloom: the item was deleted while Soundloom worked on it, so nothing was placed. " ..
      "The result is in the bridge's output folder:\n" .. results)
  end
  reaper.Undo_BeginBlock()
  local item, lead = placement.item, placement.input and placement.input.lead or 0
  if placement.operation == "generate" then
    item = reaper.AddMediaItemToTrack(placement.track)
    reaper.SetMediaItemInfo_Value(item, "D_POSITION", placement.position)
    reaper.SetMediaItemInfo_Value(item, "D_LENGTH", spool.snap(durations[1], placement.rate))
  end
  local first_take
  for i, path in ipairs(paths) do
    local take = reaper.AddTakeToMediaItem(item)
    reaper.SetMediaItemTake_Source(take, reaper.PCM_Source_CreateFromFile(path))
    reaper.SetMediaItemTakeInfo_Value(take, "D_STARTOFFS", -lead)
    reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", "Soundloom " .. placement.operation .. " " .. i, true)
    first_take = first_take or take
  end
  if placement.operation == "extend" then
    reaper.SetMediaItemInfo_Value(item, "D_LENGTH", spool.snap(lead + durations[1], placement.rate))
  end
  reaper.SetActiveTake(first_take)
  reaper.UpdateArrange()
  reaper.Undo_EndBlock("Soundloom: " .. placement.operation, -1)
  return true
end

local function error_text(reply, placement)
  local code, text = reply[3], reply[4]
  local input = placement.input
  if code == "bad_path" and input and input.rendered then
    return "Soundloom: bad_path: REAPER rendered the item (its take FX, playrate or pitch) to " .. input.path ..
      ", outside the folders the bridge may read. Save the project inside one of them (REAPER then renders " ..
      "beside it), or start the bridge with that folder: soundloom serve --root FOLDER. The bridge said: " .. text
  end
  return "Soundloom: " .. code .. ": " .. text
end

---------------------------------------------------------------------------------------------------
-- The round trip

-- Run one action. Started again while it waits, REAPER asks what to do: "New instance" runs both (each
-- has its own request id), "Terminate instances" ends this run, whose job is then cancelled in the
-- bridge (reaper.atexit) so that no result arrives for a request nobody waits for.
function M.run(operation)
  if not M.OPERATIONS[operation] then return fail("unknown operation " .. tostring(operation)) end
  local folder = M.spool_folder()
  local request_id = spool.request_id("reaper", reaper.time_precise())
  local message, placement = M.build(operation, request_id)
  if not message then return false end
  local ok, problem = spool.send(folder, message, request_id)
  if not ok then return fail(problem) end
  local finished = false
  reaper.atexit(function()
    if finished then return end
    spool.cancel(folder, request_id)
    reaper.MB("Soundloom stopped waiting for its " .. operation .. " (the action was ended), so the job " ..
      request_id .. " was cancelled in the bridge.", "Soundloom", 0)
  end)
  local started, last_poll = reaper.time_precise(), 0
  local function poll()
    local now = reaper.time_precise()
    if now - last_poll < spool.POLL_INTERVAL_S then return reaper.defer(poll) end
    last_poll = now
    local outcome, detail, durations = spool.outcome(spool.replies(folder, request_id))
    if outcome == "error" then
      finished = true
      return fail(error_text(detail, placement))
    elseif outcome == "done" then
      finished = true
      return M.place(placement, detail, durations)
    elseif now - started > spool.TIMEOUT_S then
      finished = true
      spool.cancel(folder, request_id)
      return fail("Soundloom: no result after " .. spool.TIMEOUT_S .. " s; the job was cancelled.")
    end
    reaper.defer(poll)
  end
  reaper.defer(poll)
  return true
end

---------------------------------------------------------------------------------------------------
-- Receiving takes the app sends ("Send to DAW")

-- Insert a pushed take at the edit cursor on the first selected track, on the sample.
function M.insert_take(take)
  local track = reaper.GetSelectedTrack(0, 0)
  if not track then
    return fail("Soundloom: select a track to receive takes on; this take was not placed:\n" .. take.path)
  end
  local rate = M.project_rate()
  reaper.Undo_BeginBlock()
  local item = reaper.AddMediaItemToTrack(track)
  reaper.SetMediaItemInfo_Value(item, "D_POSITION", spool.snap(reaper.GetCursorPosition(), rate))
  reaper.SetMediaItemInfo_Value(item, "D_LENGTH", spool.snap(take.duration_s, rate))
  local new = reaper.AddTakeToMediaItem(item)
  reaper.SetMediaItemTake_Source(new, reaper.PCM_Source_CreateFromFile(take.path))
  reaper.GetSetMediaItemTakeInfo_String(new, "P_NAME", take.path:match("([^/\\]+)$") or take.path, true)
  reaper.SetActiveTake(new)
  reaper.UpdateArrange()
  reaper.Undo_EndBlock("Soundloom: receive take", -1)
  return true
end

-- A toggle: on while it runs (its toolbar button lit), and it places every take the app pushes after it
-- started. Running it again stops it: "set_action_options(flag): 1: script will auto-terminate if
-- re-launched while already running" (REAPER 7.03+; older versions ask, and "Terminate instances" stops
-- it).
function M.receive_takes()
  if reaper.set_action_options then reaper.set_action_options(1) end
  local _, _, section, command = reaper.get_action_context()
  reaper.SetToggleCommandState(section, command, 1)
  reaper.RefreshToolbar2(section, command)
  reaper.atexit(function()
    reaper.SetToggleCommandState(section, command, 0)
    reaper.RefreshToolbar2(section, command)
  end)
  local folder = M.spool_folder()
  local seen, last_poll = spool.latest_take(folder), 0
  local function poll()
    local now = reaper.time_precise()
    if now - last_poll >= spool.POLL_INTERVAL_S then
      last_poll = now
      local latest = spool.latest_take(folder)
      for number = seen + 1, latest do
        local take = spool.read_take(folder, number)
        if take then M.insert_take(take) end
      end
      seen = math.max(seen, latest)
    end
    reaper.defer(poll)
  end
  reaper.defer(poll)
end

return M
