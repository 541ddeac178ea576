"""The jobs layer: what every surface asks for, typed (`JobSpec`), planned once (`JobPlanner`), run once
(`JobRunner`). The OSC bridge, the command line, the app and batch build JobSpecs; nothing here knows OSC.
"""
