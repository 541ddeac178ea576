-- Soundloom for Ardour: what the actions do in the editor. It reads the editor's selection and the
-- playhead, asks the user (LuaDialog, as Ardour's own scripts do), and leaves the session work to
-- soundloom_ardour.lua. Load it with its folder as the argument, like the core.

local scripts = ...
local function load_beside(name)
  local file = assert(io.open(scripts .. name, "rb"), "Soundloom: " .. name .. " is not in " .. scripts)
  local chunk = assert(load(file:read("a"), "@" .. name))
  file:close()
  return chunk(scripts)
end
local core = load_beside("soundloom_ardour.lua")

local G = { core = core }

local function say(text)
  LuaDialog.Message("Soundloom", text, LuaDialog.MessageType.Info, LuaDialog.ButtonType.Close):run()
end

local function ask(title, fields)
  local spec = {}
  for _, field in ipairs(fields) do
    spec[#spec + 1] = { type = "entry", key = field[1], title = field[2], default = field[3] or "" }
  end
  return LuaDialog.Dialog(title, spec):run()
end

local QUESTIONS = {
  generate = { { "prompt", "Prompt" }, { "length", "Length (2.5, 2 bars, 4 beats)", "4" }, { "variations", "Variations", "1" } },
  transfer = { { "prompt", "Prompt" }, { "strength", "Strength (0 to 1)", "0.5" } },
  inpaint = { { "prompt", "Prompt" } },
  extend = { { "prompt", "Prompt" }, { "seconds", "Seconds to add", "2" } },
  vary = {},
}

-- The first selected track, and the first selected region (Editor:get_selection(): tracks, regions and
-- the range selection, as Ardour's s_selection.lua snippet shows).
local function selection()
  local sel = Editor:get_selection()
  local track, region
  for route in sel.tracks:routelist():iter() do track = track or route end
  for r in sel.regions:regionlist():iter() do region = region or r end
  return track, region, { sel.time:start_sample(), sel.time:end_sample() }
end

-- One action: generate at the playhead on the selected track, or an edit of the selected region.
function G.run(operation)
  local track, region, range = selection()
  local target
  if operation == "generate" then
    target = { track = track, position = Session:transport_sample() }
    if not track then return say("Select a track: the sound is placed on it at the playhead.") end
  else
    if not region then return say("Select an audio region first.") end
    target = { region = region, range = range }
  end
  local answers = {}
  if #QUESTIONS[operation] > 0 then
    answers = ask("Soundloom: " .. operation, QUESTIONS[operation])
    if not answers then return end -- cancelled
  end
  local request_id, problem = core.request(operation, target, answers)
  if not request_id then return say(problem) end
  if not core.hook_alive() then
    say("Soundloom sent the request. Its result is placed by the \"Soundloom: place results\" hook, which " ..
      "is not running: add it in Edit > Lua Scripts > Script Manager > Action Hooks.")
  end
end

-- Receiving takes from the app, on or off.
function G.toggle_receiving()
  core.set_receiving(not core.receiving())
  say(core.receiving() and "Soundloom: takes sent from the app are placed at the playhead on the selected track."
    or "Soundloom: no longer receiving takes from the app.")
end

-- The hook's tick (every 100 ms): place finished results, receive pushed takes, say what went wrong.
function G.tick()
  core.hook_beat()
  local messages = core.poll()
  if core.receiving() then
    local track = selection()
    for _, message in ipairs(core.receive_takes(track, Session:transport_sample())) do messages[#messages + 1] = message end
  end
  for _, message in ipairs(messages) do say(message) end
end

return G
