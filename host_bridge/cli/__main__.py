"""`python3 -m soundloom.host_bridge.cli`: the `soundloom` command without its console script."""

import sys

from . import main

sys.exit(main())
