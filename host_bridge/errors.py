"""The host bridge's one exception type: a problem outside the engine a user can act on.

Each part narrows it where a caller branches on the kind (a refused OSC request carries an error code,
an output path problem names the file); the command line and the app print any of them as one line.
"""


class BridgeError(Exception):
    """A bad port, MIDI API, Live answer, path or request: the message says what to do."""
