"""Rendering on a Ray cluster: connecting to one, and the actors that each hold a loaded model.

`ray` is an extra (`pip install 'soundloom[cluster]'`): nothing here imports it at module level, so a
plain install imports this package and is told, in one line, what to install when it asks for a cluster.
"""
