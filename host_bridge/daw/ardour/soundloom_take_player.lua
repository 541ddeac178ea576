ardour {
	["type"]    = "dsp",
	name        = "Soundloom Take Player",
	category    = "Utility",
	license     = "MIT",
	author      = "Soundloom",
	description = [[Plays one Soundloom result from shared memory so that Track:bounce_range can record it into the session. Used by the Soundloom actions; it has no use on its own.]]
}

-- Ardour's Lua cannot make a region from a file without the GUI's import (Editor:do_import). What it can
-- do headless: read a file (ARDOUR.Readable.load, resampled to the session rate), run a DSP script on a
-- track, and bounce that track's output into a new source and region (Track:bounce_range). The actions
-- load the take into this processor's shared memory and bounce it; soundloom_ardour.lua says how.
--
-- Shared memory (ints, then floats): [0] frames per channel, [1] channels, then each channel's frames.

function dsp_ioconfig ()
	return { { audio_in = -1, audio_out = -1 } }
end

local position = 0 -- frames played since the processor was added: a bounce starts at the take's start

function dsp_run (ins, outs, n_samples)
	local shm = self:shmem ()
	local header = shm:to_int (0):array ()
	local frames, channels = header[1], header[2]
	local available = math.max (0, math.min (n_samples, frames - position))
	for c = 1, #outs do
		ARDOUR.DSP.memset (outs[c], 0, n_samples)
		if available > 0 then
			if #outs == 1 and channels > 1 then -- a mono track hears the mix of all channels
				for source = 1, channels do
					local samples = shm:to_float (2 + (source - 1) * frames + position)
					ARDOUR.DSP.mix_buffers_with_gain (outs[c], samples, available, 1 / channels)
				end
			else
				local source = math.min (c, channels)
				ARDOUR.DSP.copy_vector (outs[c], shm:to_float (2 + (source - 1) * frames + position), available)
			end
		end
	end
	position = position + n_samples
end
