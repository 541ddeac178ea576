"""The DAW side: the scripts a user installs into REAPER and Ardour (Lua, in reaper/, ardour/, lua/), the
Ableton Live client (AbletonOSC), MIDI clock and audition, tempo, and the outbox of takes the app sends."""
