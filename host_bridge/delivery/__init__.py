"""Delivery: from an engine result to files a sound designer drags into a timeline (render, names,
provenance chunks, atomic writes that never replace anything). The command line, the bridge and the app
all write takes through it."""
