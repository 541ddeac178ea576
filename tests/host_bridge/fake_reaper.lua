-- A fake `reaper` API for running Soundloom's ReaScripts under plain lua5.4: it serves a project state
-- (a Lua file returning a table), records every call that changes the project, runs deferred functions
-- until none are left, then prints {calls, items, messages} as JSON.
--
--   lua5.4 fake_reaper.lua STATE.lua "ACTION SCRIPT.lua"

local state = dofile(arg[1])
local script = arg[2]
local calls, deferred, messages = {}, {}, {}
local clock = 0.0

local function record(name, ...)
  calls[#calls + 1] = { name, ... }
end

local tracks = {}
for i, track in ipairs(state.tracks or {}) do tracks[i] = { kind = "track", index = i - 1, name = track.name } end

local function new_take(item, source)
  local take = { kind = "take", item = item, source = source, info = { D_STARTOFFS = 0.0, D_PLAYRATE = 1.0 },
    fx = 0, name = "" }
  item.takes[#item.takes + 1] = take
  return take
end

local items = {}
for _, spec in ipairs(state.items or {}) do
  local item = { kind = "item", track = tracks[spec.track + 1], takes = {}, selected = spec.selected,
    info = { D_POSITION = spec.position, D_LENGTH = spec.length } }
  local take = new_take(item, { file = spec.file })
  take.info.D_STARTOFFS, take.info.D_PLAYRATE, take.fx = spec.offset or 0.0, spec.playrate or 1.0, spec.fx or 0
  item.active = take
  items[#items + 1] = item
end

reaper = {}

function reaper.GetOS() return "Linux-x86_64" end
function reaper.GetExtState(section, key) return (state.extstate or {})[section .. "/" .. key] or "" end
function reaper.GetSetProjectInfo(_, name) return name == "PROJECT_SRATE" and state.project_rate or 0 end
function reaper.GetAudioDeviceInfo() return true, "44100" end
function reaper.GetCursorPosition() return state.cursor end
function reaper.TimeMap_GetTimeSigAtTime() return state.beats_per_bar, 4, state.bpm end
function reaper.GetSet_LoopTimeRange() return state.time_selection[1], state.time_selection[2] end
function reaper.GetSelectedTrack(_, index) return state.selected_track and tracks[state.selected_track + 1] end
function reaper.GetSelectedMediaItem(_, index)
  local found = -1
  for _, item in ipairs(items) do
    if item.selected then
      found = found + 1
      if found == index then return item end
    end
  end
  return nil
end
function reaper.GetUserInputs(title, count, captions, defaults)
  record("GetUserInputs", title, captions, defaults)
  if state.inputs == nil then return false, "" end
  return true, state.inputs
end
function reaper.MB(text, title) messages[#messages + 1] = text; return 1 end
function reaper.ShowConsoleMsg(text) messages[#messages + 1] = text end
function reaper.GetActiveTake(item) return item.active end
function reaper.GetMediaItemTake_Source(take) return take.source end
function reaper.GetMediaSourceFileName(source) return source.file end
function reaper.GetMediaItemInfo_Value(item, key) return item.info[key] end
function reaper.GetMediaItemTakeInfo_Value(take, key) return take.info[key] end
function reaper.TakeFX_GetCount(take) return take.fx end
function reaper.SetMediaItemInfo_Value(item, key, value)
  record("SetMediaItemInfo_Value", key, value); item.info[key] = value; return true
end
function reaper.SetMediaItemTakeInfo_Value(take, key, value)
  record("SetMediaItemTakeInfo_Value", key, value); take.info[key] = value; return true
end
function reaper.GetSetMediaItemTakeInfo_String(take, key, value, set)
  if set then take.name = value end
  return true, take.name
end
function reaper.Main_OnCommand(command)
  record("Main_OnCommand", command)
  if command == 41999 then -- render items to new take: what REAPER writes for each selected item
    for _, item in ipairs(items) do
      if item.selected then
        local take = new_take(item, { file = state.render_file })
        item.active = take
      end
    end
  end
end
function reaper.AddMediaItemToTrack(track)
  local item = { kind = "item", track = track, takes = {}, info = { D_POSITION = 0.0, D_LENGTH = 0.0 } }
  items[#items + 1] = item
  record("AddMediaItemToTrack", track.index)
  return item
end
function reaper.AddTakeToMediaItem(item) record("AddTakeToMediaItem"); return new_take(item, nil) end
function reaper.PCM_Source_CreateFromFile(path) record("PCM_Source_CreateFromFile", path); return { file = path } end
function reaper.SetMediaItemTake_Source(take, source) take.source = source; return true end
function reaper.SetActiveTake(take) take.item.active = take end
function reaper.UpdateArrange() end
function reaper.Undo_BeginBlock() record("Undo_BeginBlock") end
function reaper.Undo_EndBlock(name) record("Undo_EndBlock", name) end
function reaper.time_precise() return clock end
function reaper.defer(f) deferred[#deferred + 1] = f end

-- Run the action, then its defer loop, as REAPER would (about 30 times a second).
local folder = script:match("^(.*[/\\])") or ""
local bridge = dofile(folder .. "soundloom_bridge.lua")
package.loaded["soundloom_bridge"] = bridge
dofile(script)
local started = os.time()
while #deferred > 0 and os.time() - started < (state.timeout or 120) do
  local now = deferred
  deferred = {}
  for _, f in ipairs(now) do f() end
  os.execute("sleep 0.03")
  clock = clock + 0.03
end

local out_items = {}
for i, item in ipairs(items) do
  local takes = {}
  for j, take in ipairs(item.takes) do
    takes[j] = { take.source and take.source.file or "", take.info.D_STARTOFFS, take.name, take == item.active }
  end
  out_items[i] = { item.track.index, item.info.D_POSITION, item.info.D_LENGTH, takes }
end
print(bridge.encode({ calls, out_items, messages, #deferred }))
