ardour {
	["type"]    = "EditorAction",
	name        = "Soundloom: Inpaint range in region",
	license     = "MIT",
	author      = "Soundloom",
	description = [[Regenerate the part of the selected region inside the range selection; the result, as long as the region, is placed on top of it. Needs soundloom serve (or the Soundloom app) and the "Soundloom: place results" hook; see README.md.]]
}

function factory () return function ()
	local folder = ARDOUR.user_config_directory (-1) .. "/scripts/"
	local file = assert (io.open (folder .. "soundloom_ardour_gui.lua", "rb"), "Soundloom is not installed in " .. folder)
	assert (load (file:read ("a"), "@soundloom_ardour_gui.lua")) (folder).run ("inpaint")
end end
