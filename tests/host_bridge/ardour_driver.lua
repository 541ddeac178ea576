-- Drives the Soundloom Ardour actions inside the real, headless Ardour (ardour7-lua), for test_ardour.py.
--
--   ardour7-lua ardour_driver.lua STEP STATE.lua
--
-- STATE.lua returns the plan (session folder and name, what the user selected and typed). Everything
-- below the editor is Ardour itself: its Session, tracks, playlists, tempo map, transport and the DSP
-- script engine. The editor is not: `ardour7-lua` has no GUI, so `Editor:get_selection()` and
-- `LuaDialog` are stood in for, with the shapes Ardour's own scripts use (share/scripts/s_selection.lua:
-- sel.tracks:routelist():iter(), sel.regions:regionlist():iter(), sel.time:start_sample(); and
-- jump_to_marker.lua / mixer_screenshot.lua: LuaDialog.Dialog(title, entries):run() returns the values
-- by key, or nil when cancelled; LuaDialog.Message(...):run()).
--
-- Steps: create (a session with tracks Dialog (mono) and FX (stereo) and dialog.wav placed on Dialog),
-- act (select, run actions, run the hook until nothing waits), receive (toggle receiving), report.
-- Prints one line "RESULT " .. JSON: {messages, regions [[track, name, position, length, layer]], range}.

local step, plan = arg[1], dofile(arg[2])
local scripts = ARDOUR.user_config_directory(-1) .. "/scripts/"
local function load_beside(name)
  return assert(load(assert(io.open(scripts .. name, "rb")):read("a"), "@" .. name))(scripts)
end
local gui = load_beside("soundloom_ardour_gui.lua")
local core, spool = gui.core, gui.core.spool
local messages = {}

local function list(items)
  return { iter = function() local i = 0; return function() i = i + 1; return items[i] end end }
end

local function install_editor(selection)
  Editor = {}
  function Editor:get_selection()
    return {
      tracks = { routelist = function() return list(selection.tracks or {}) end },
      regions = { regionlist = function() return list(selection.regions or {}) end },
      time = {
        start_sample = function() return (selection.range or { 0, 0 })[1] end,
        end_sample = function() return (selection.range or { 0, 0 })[2] end,
      },
    }
  end
  LuaDialog = {
    MessageType = { Info = 0, Warning = 1, Question = 2, Error = 3 },
    ButtonType = { OK = 0, Close = 1, Cancel = 2, Yes_No = 3, OK_Cancel = 4 },
    Dialog = function(title, entries)
      return { run = function() return plan.answers and plan.answers[title] or nil end }
    end,
    Message = function(title, text)
      return { run = function() messages[#messages + 1] = text end }
    end,
  }
end

local function region_on(track_name, index)
  local found = {}
  for region in Session:route_by_name(track_name):to_track():playlist():region_list():iter() do
    found[#found + 1] = region
  end
  return found[index or 1]
end

local function report()
  local regions = {}
  for route in Session:get_tracks():iter() do
    for region in route:to_track():playlist():region_list():iter() do
      regions[#regions + 1] = { route:name(), region:name(), region:position():samples(), region:length():samples(),
        region:layer() }
    end
  end
  local range = Session:locations():session_range_location()
  local extent = range and { range:start():samples(), range:_end():samples() } or {}
  print("RESULT " .. spool.encode({ messages, regions, extent }))
end

ARDOUR.config():set_hide_dummy_backend(false)
AudioEngine:set_backend("None (Dummy)", "", "")

if step == "create" then
  assert(create_session(plan.folder, plan.name, plan.rate), "cannot create the session")
  local dialog = Session:new_audio_track(1, 2, nil, 1, "Dialog", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true):front()
  Session:new_audio_track(2, 2, nil, 1, "FX", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true)
  local region, problem = core.place_file(dialog, plan.dialog_file, plan.dialog_position)
  assert(region, problem)
  Session:locations():session_range_location():set_start(Temporal.timepos_t(0), false) -- export from 0
else
  assert(load_session(plan.folder, plan.name), "cannot load the session")
  local selection = { tracks = {}, regions = {}, range = plan.range }
  for _, name in ipairs(plan.tracks or {}) do selection.tracks[#selection.tracks + 1] = Session:route_by_name(name) end
  for _, spec in ipairs(plan.regions or {}) do selection.regions[#selection.regions + 1] = region_on(spec[1], spec[2]) end
  install_editor(selection)
  if plan.playhead then
    Session:request_locate(plan.playhead, false, ARDOUR.LocateTransportDisposition.MustStop, ARDOUR.TransportRequestSource.TRS_UI)
    local waited = 0
    while Session:transport_sample() ~= plan.playhead and waited < 5000 do ARDOUR.LuaAPI.usleep(10000); waited = waited + 10 end
  end
  if not plan.hook_off then gui.tick() end -- the hook has run since Ardour started
  if step == "act" then
    for _, operation in ipairs(plan.actions or {}) do gui.run(operation) end
    for _, name in ipairs(plan.remove_regions or {}) do -- the user removes a region while Soundloom works
      local playlist = Session:route_by_name(name):to_track():playlist()
      playlist:remove_region(region_on(name))
    end
  elseif step == "receive" then
    gui.toggle_receiving()
  end
  local started = os.time()
  repeat -- the "Soundloom: place results" hook, ten times a second
    if not plan.hook_off then gui.tick() end
    ARDOUR.LuaAPI.usleep(100000)
  until plan.hook_off or (core.waiting() == 0 and not plan.ticks_s) or os.time() - started > (plan.ticks_s or plan.timeout_s or 180)
end
Session:save_state("", false, false, false, false, false)
report()
