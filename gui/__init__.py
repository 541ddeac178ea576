"""The desktop app: a PyQt6 window that hosts the bridge and the engine in one process.

Nothing here imports torch: engine work runs on the bridge's worker thread and comes back as Qt signals;
playback runs in sounddevice's callback.
"""
