ardour {
	["type"]    = "EditorAction",
	name        = "Soundloom: Generate at playhead",
	license     = "MIT",
	author      = "Soundloom",
	description = [[Generate a sound from a prompt onto the selected track, at the playhead (variations stacked, the first on top). Needs soundloom serve (or the Soundloom app) and the "Soundloom: place results" hook; see README.md.]]
}

function factory () return function ()
	local folder = ARDOUR.user_config_directory (-1) .. "/scripts/"
	local file = assert (io.open (folder .. "soundloom_ardour_gui.lua", "rb"), "Soundloom is not installed in " .. folder)
	assert (load (file:read ("a"), "@soundloom_ardour_gui.lua")) (folder).run ("generate")
end end
