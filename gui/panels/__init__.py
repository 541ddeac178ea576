"""The main window's panels, one per thing it shows: ask, edit a clip, jobs, takes and audition, shape,
history and settings. Each builds its widgets and keeps its own state; the window wires their signals."""
