ardour {
	["type"]    = "EditorAction",
	name        = "Soundloom: Receive takes from the app (toggle)",
	license     = "MIT",
	author      = "Soundloom",
	description = [[On: every take the Soundloom app sends ("Send to DAW") is placed at the playhead on the selected track, by the "Soundloom: place results" hook. Run again: off.]]
}

function factory () return function ()
	local folder = ARDOUR.user_config_directory (-1) .. "/scripts/"
	local file = assert (io.open (folder .. "soundloom_ardour_gui.lua", "rb"), "Soundloom is not installed in " .. folder)
	assert (load (file:read ("a"), "@soundloom_ardour_gui.lua")) (folder).toggle_receiving ()
end end
