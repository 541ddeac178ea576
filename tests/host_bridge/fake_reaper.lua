-- A stand-in for REAPER's ReaScript API, for running Soundloom's actions under plain lua5.4.
--
--   lua5.4 fake_reaper.lua STATE.lua "ACTION SCRIPT.lua"
--
-- STATE.lua returns the project (tracks, items, settings and what the user types); the double runs the
-- action and its defer loop as REAPER does, then prints {calls, items, messages, pending, toggles} as
-- JSON. Each behaviour below is written from REAPER's ReaScript documentation (reascripthelp.html,
-- "REAPER API functions"), cited beside it, and misbehaves where REAPER does:
--   * GetUserInputs joins the typed values with "," unless the captions carry "separator=X";
--   * PROJECT_SRATE is only the project's rate when PROJECT_SRATE_USE is set; by default REAPER runs at
--     the audio device's rate, and GetAudioDeviceInfo fails when no device is open;
--   * GetOS says "Other" on Linux; GetSelectedTrack honours its index;
--   * action 41999 renders every selected item, into the default media folder of an unsaved project;
--   * items and tracks can be deleted while an action waits: a dead pointer is an error, as in REAPER,
--     and ValidatePtr2 tells;
--   * REAPER builds with Lua 5.3 start math.random from the same seed in every script run.

local state = dofile(arg[1])
local script = arg[2]
local calls, deferred, messages, exits = {}, {}, {}, {}
local clock = state.clock_start or 1000.0 -- time_precise: a high-resolution clock, different each run
local toggles, action_options = {}, {}
local SEPARATOR_DEFAULT = ","

local function record(name, ...)
  calls[#calls + 1] = { name, ... }
end

-- Objects: a table per track, item and take; `dead` once deleted. ReaScript raises on a dead pointer
-- ("bad argument: expected MediaItem*"), which a script cannot catch as a plain nil.
local function alive(object, kind, fn)
  if type(object) ~= "table" or object.kind ~= kind then
    error(fn .. ": expected " .. kind .. "*, got " .. type(object), 3)
  end
  if object.dead then error(fn .. ": " .. kind .. "* pointer is no longer valid", 3) end
  return object
end

local tracks = {}
for i, spec in ipairs(state.tracks or {}) do
  tracks[i] = { kind = "MediaTrack", index = i - 1, name = spec.name, selected = spec.selected or false }
end

local items = {}
local function new_take(item, source)
  local take = { kind = "MediaItem_Take", item = item, source = source,
    info = { D_STARTOFFS = 0.0, D_PLAYRATE = 1.0, D_PITCH = 0.0, D_VOL = 1.0 }, fx = 0, name = "" }
  item.takes[#item.takes + 1] = take
  return take
end
for _, spec in ipairs(state.items or {}) do
  local item = { kind = "MediaItem", track = tracks[spec.track + 1], takes = {}, selected = spec.selected or false,
    info = { D_POSITION = spec.position, D_LENGTH = spec.length } }
  local take = new_take(item, { file = spec.file, length = spec.source_length or 3600.0 })
  take.info.D_STARTOFFS = spec.offset or 0.0
  take.info.D_PLAYRATE = spec.playrate or 1.0
  take.info.D_PITCH = spec.pitch or 0.0
  take.fx = spec.fx or 0
  item.active = take
  items[#items + 1] = item
end

local function copy_file(from, to)
  local source = assert(io.open(from, "rb"))
  local bytes = source:read("a")
  source:close()
  local target = assert(io.open(to, "wb"))
  target:write(bytes)
  target:close()
end

reaper = {}

-- "GetOS: Returns "Win32", "Win64", "OSX32", "OSX64", "macOS-arm64", or "Other"."
function reaper.GetOS() return state.os or "Other" end

function reaper.GetExtState(section, key) return (state.extstate or {})[section .. "/" .. key] or "" end
function reaper.SetExtState(section, key, value) state.extstate = state.extstate or {}; state.extstate[section .. "/" .. key] = value end
function reaper.HasExtState(section, key) return (state.extstate or {})[section .. "/" .. key] ~= nil end

-- "GetSetProjectInfo ... PROJECT_SRATE: samplerate (ignored unless PROJECT_SRATE_USE set);
--  PROJECT_SRATE_USE: set to 1 if project samplerate is used". Both come back as floats.
function reaper.GetSetProjectInfo(_, desc, value, is_set)
  if is_set then error("GetSetProjectInfo: the actions must not change the project settings") end
  if desc == "PROJECT_SRATE" then return (state.project_rate or 44100) + 0.0 end
  if desc == "PROJECT_SRATE_USE" then return (state.project_rate_use or 0) + 0.0 end
  return 0.0
end

-- "GetAudioDeviceInfo: get information about the currently open audio device. attribute can be MODE,
--  IDENT_IN, IDENT_OUT, BSIZE, SRATE, BPS. returns false if unknown attribute or device not open."
function reaper.GetAudioDeviceInfo(attribute)
  if state.device_open == false then return false, "" end
  local values = { SRATE = tostring(state.device_rate or 44100), BSIZE = "512", BPS = "24", MODE = "ALSA" }
  if values[attribute] == nil then return false, "" end
  return true, values[attribute]
end

function reaper.GetCursorPosition() return state.cursor or 0.0 end

-- "TimeMap_GetTimeSigAtTime: get the effective time signature and tempo":
-- timesig_num, timesig_denom, tempo. REAPER's tempo counts quarter notes.
function reaper.TimeMap_GetTimeSigAtTime(_, time)
  local signature = state.time_signature or { 4, 4 }
  return signature[1], signature[2], (state.bpm or 120.0) + 0.0
end

function reaper.GetSet_LoopTimeRange(is_set, is_loop, start, finish)
  if is_set then error("GetSet_LoopTimeRange: the actions only read the time selection") end
  local range = state.time_selection or { 0.0, 0.0 }
  return range[1], range[2]
end

-- The `index`-th (zero-based) selected, living object of `objects`.
local function nth_selected(objects, index)
  local found = -1
  for _, object in ipairs(objects) do
    if object.selected and not object.dead then
      found = found + 1
      if found == index then return object end
    end
  end
  return nil
end

-- "GetSelectedTrack(proj, seltrackidx): Get a selected track from a project by selected track count
--  (zero-based)."
function reaper.GetSelectedTrack(_, index) return nth_selected(tracks, index) end
function reaper.GetSelectedMediaItem(_, index) return nth_selected(items, index) end

function reaper.CountSelectedMediaItems()
  local count = 0
  for _, item in ipairs(items) do if item.selected and not item.dead then count = count + 1 end end
  return count
end

function reaper.SetMediaItemSelected(item, selected)
  alive(item, "MediaItem", "SetMediaItemSelected").selected = selected
  record("SetMediaItemSelected", selected)
end

function reaper.SelectAllMediaItems(_, selected)
  for _, item in ipairs(items) do if not item.dead then item.selected = selected end end
  record("SelectAllMediaItems", selected)
end

function reaper.IsMediaItemSelected(item) return alive(item, "MediaItem", "IsMediaItemSelected").selected end

-- "GetUserInputs: ... Values are returned as a comma-separated string. ... You can supply special extra
--  information via additional caption fields: extrawidth=XXX to increase text field width, separator=X
--  to use a different separator for returned fields." The captions themselves stay comma-separated;
--  the defaults (retvals_csv) and the answer use the separator. Maximum fields is 16.
function reaper.GetUserInputs(title, num_inputs, captions_csv, retvals_csv)
  local separator, captions = SEPARATOR_DEFAULT, {}
  for caption in (captions_csv .. ","):gmatch("([^,]*),") do
    if caption:find("^separator=") then
      separator = caption:sub(#"separator=" + 1, #"separator=" + 1)
    elseif not caption:find("^extrawidth=") then
      captions[#captions + 1] = caption
    end
  end
  if num_inputs > 16 or #captions ~= num_inputs then
    error("GetUserInputs: " .. num_inputs .. " fields but captions " .. captions_csv)
  end
  local defaults = {}
  for value in (retvals_csv .. separator):gmatch("(.-)" .. separator:gsub("%p", "%%%0")) do
    defaults[#defaults + 1] = value
  end
  record("GetUserInputs", title, captions, defaults, separator)
  if state.inputs == nil then return false, "" end -- the user pressed Cancel
  local typed = {}
  for i = 1, num_inputs do
    local value = state.inputs[i]
    if value == nil then value = defaults[i] or "" end -- left as it was
    if value:find("\n") then error("GetUserInputs: a one-line field cannot hold a newline") end
    typed[i] = value
  end
  return true, table.concat(typed, separator)
end

function reaper.MB(text, title) messages[#messages + 1] = text; return 1 end
function reaper.ShowMessageBox(text, title) messages[#messages + 1] = text; return 1 end
function reaper.ShowConsoleMsg(text) messages[#messages + 1] = text end

function reaper.GetActiveTake(item) return alive(item, "MediaItem", "GetActiveTake").active end
function reaper.GetMediaItemTake_Item(take) return alive(take, "MediaItem_Take", "GetMediaItemTake_Item").item end
function reaper.GetMediaItem_Track(item) return alive(item, "MediaItem", "GetMediaItem_Track").track end
function reaper.GetMediaItemTake_Source(take) return alive(take, "MediaItem_Take", "GetMediaItemTake_Source").source end
function reaper.GetMediaSourceFileName(source) return source.file or "" end
-- "GetMediaSourceLength: Returns the length of the source media." (lengthIsQN false for audio)
function reaper.GetMediaSourceLength(source) return source.length or 0.0, false end
function reaper.GetMediaItemInfo_Value(item, key) return alive(item, "MediaItem", "GetMediaItemInfo_Value").info[key] or 0.0 end
function reaper.GetMediaItemTakeInfo_Value(take, key)
  return alive(take, "MediaItem_Take", "GetMediaItemTakeInfo_Value").info[key] or 0.0
end
function reaper.TakeFX_GetCount(take) return alive(take, "MediaItem_Take", "TakeFX_GetCount").fx end
function reaper.SetMediaItemInfo_Value(item, key, value)
  alive(item, "MediaItem", "SetMediaItemInfo_Value")
  record("SetMediaItemInfo_Value", key, value); item.info[key] = value; return true
end
function reaper.SetMediaItemTakeInfo_Value(take, key, value)
  alive(take, "MediaItem_Take", "SetMediaItemTakeInfo_Value")
  record("SetMediaItemTakeInfo_Value", key, value); take.info[key] = value; return true
end
function reaper.GetSetMediaItemTakeInfo_String(take, key, value, set)
  alive(take, "MediaItem_Take", "GetSetMediaItemTakeInfo_String")
  if set then take.name = value end
  return true, take.name
end

-- Action 41999 "Item: Render items to new take": every selected item gets a new active take holding its
-- render, written beside the project's media, or, in a project never saved, into REAPER's default
-- recording path (Preferences > Paths), wherever that is.
function reaper.Main_OnCommand(command, flag)
  record("Main_OnCommand", command)
  if command ~= 41999 then return end
  local folder = state.project_saved and state.project_media_folder or state.default_media_folder
  for _, item in ipairs(items) do
    if item.selected and not item.dead then
      state.renders = (state.renders or 0) + 1
      local source = item.active.source
      local name = source.file:match("([^/\\]+)%.%w+$") or "item"
      local path = string.format("%s/%s-render-%03d.wav", folder, name, state.renders)
      copy_file(source.file, path)
      local take = new_take(item, { file = path, length = item.info.D_LENGTH })
      item.active = take
    end
  end
end

function reaper.AddMediaItemToTrack(track)
  alive(track, "MediaTrack", "AddMediaItemToTrack")
  local item = { kind = "MediaItem", track = track, takes = {}, selected = false,
    info = { D_POSITION = 0.0, D_LENGTH = 0.0 } }
  items[#items + 1] = item
  record("AddMediaItemToTrack", track.index)
  return item
end
function reaper.AddTakeToMediaItem(item)
  alive(item, "MediaItem", "AddTakeToMediaItem")
  record("AddTakeToMediaItem")
  return new_take(item, nil)
end
function reaper.PCM_Source_CreateFromFile(path) record("PCM_Source_CreateFromFile", path); return { file = path } end
function reaper.SetMediaItemTake_Source(take, source)
  alive(take, "MediaItem_Take", "SetMediaItemTake_Source").source = source
  return true
end
function reaper.SetActiveTake(take) alive(take, "MediaItem_Take", "SetActiveTake").item.active = take end

-- "ValidatePtr2(proj, pointer, ctypename): Return true if the pointer is a valid object of the right
--  type in proj (proj is ignored if pointer is itself a project)."
function reaper.ValidatePtr2(_, pointer, ctypename)
  return type(pointer) == "table" and pointer.kind .. "*" == ctypename and not pointer.dead
end

function reaper.UpdateArrange() end
function reaper.Undo_BeginBlock() record("Undo_BeginBlock") end
function reaper.Undo_EndBlock(name) record("Undo_EndBlock", name) end
function reaper.time_precise() return clock end
function reaper.defer(f) deferred[#deferred + 1] = f end
function reaper.atexit(f) exits[#exits + 1] = f end

-- "get_action_context: is_new_value, filename, sectionID, cmdID, mode, resolution, val"
function reaper.get_action_context() return false, script, 0, state.command_id or 55555, -1, -1, -1 end
function reaper.SetToggleCommandState(section, command, value) toggles[#toggles + 1] = value; return true end
function reaper.RefreshToolbar2() end
-- "set_action_options(flag): 1: script will auto-terminate if re-launched while already running ..."
function reaper.set_action_options(flag) action_options[#action_options + 1] = flag end

-- REAPER 6 and older embed Lua 5.3, where math.random starts from the same seed in every run.
if state.lua53_random ~= false then math.randomseed(0) end
if state.now then os.time = function() return state.now end end

-- Run the action, then its defer loop, as REAPER does (about 30 times a second).
dofile(script)
local started, ticks, terminated = os.time(), 0, false
while #deferred > 0 and os.time() - started < (state.timeout or 120) do
  local now = deferred
  deferred = {}
  for _, f in ipairs(now) do f() end
  ticks = ticks + 1
  for _, doomed in ipairs(state.delete_after or {}) do -- the user deletes an item or track meanwhile
    if doomed.ticks == ticks then
      local victim = doomed.item and items[doomed.item + 1] or tracks[doomed.track + 1]
      victim.dead = true
      for _, item in ipairs(items) do if item.track == victim then item.dead = true end end
    end
  end
  if state.terminate_after == ticks then -- "Terminate instances" in REAPER's task-control dialog
    terminated, deferred = true, {}
  end
  os.execute("sleep 0.03")
  clock = clock + 0.03
end
for _, f in ipairs(exits) do f() end

local out_items = {}
for _, item in ipairs(items) do
  if not item.dead then
    local takes = {}
    for j, take in ipairs(item.takes) do
      takes[j] = { take.source and take.source.file or "", take.info.D_STARTOFFS, take.name, take == item.active }
    end
    out_items[#out_items + 1] = { item.track.index, item.info.D_POSITION, item.info.D_LENGTH, takes, item.selected }
  end
end
local json = dofile((script:match("^(.*[/\\])") or "") .. "../lua/soundloom_spool.lua")
print(json.encode({ calls, out_items, messages, #deferred, toggles, action_options, terminated }))
