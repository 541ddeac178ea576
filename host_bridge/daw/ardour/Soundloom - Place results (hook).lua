ardour {
	["type"]    = "EditorHook",
	name        = "Soundloom: place results",
	license     = "MIT",
	author      = "Soundloom",
	description = [[Every tenth of a second: places the results of the Soundloom actions when the bridge has them, and the takes the app sends while receiving is on. Add it once in Edit > Lua Scripts > Script Manager > Action Hooks.]]
}

-- http://manual.ardour.org/lua-scripting/class_reference/#LuaSignal.LuaSignal
function signals ()
	return LuaSignal.Set ():add ({ [LuaSignal.LuaTimerDS] = true })
end

function factory ()
	local gui, last_problem
	return function (signal, ref, ...)
		local ok, problem = pcall (function ()
			if not gui then
				local folder = ARDOUR.user_config_directory (-1) .. "/scripts/"
				local file = assert (io.open (folder .. "soundloom_ardour_gui.lua", "rb"), "Soundloom is not installed in " .. folder)
				gui = assert (load (file:read ("a"), "@soundloom_ardour_gui.lua")) (folder)
			end
			gui.tick ()
		end)
		if not ok and problem ~= last_problem then print ("Soundloom: " .. tostring (problem)) end -- once, not ten times a second
		last_problem = not ok and problem or nil
	end
end
