"""The ReaPack index of the REAPER actions (`daw/reaper/index.xml`), so REAPER users install and update them
by adding one repository URL in ReaPack (Extensions > ReaPack > Import repositories).

One package, "Soundloom DAW actions", at the project's version: every action is a `main` source (it
appears in REAPER's action list); the shared Lua files are plain sources. Each source's `file` is its path
under the package's category folder, the same as under `daw/` here, so `reaper/soundloom_bridge.lua` still
finds `../lua/soundloom_spool.lua` after ReaPack installs them. See ReaPack's index format (cfillion/reapack
wiki, "Index Format"): a source's download URL is the element's text.

    python3 -m soundloom.host_bridge.daw.reapack            # rewrite daw/reaper/index.xml (maintainers)
    python3 -m soundloom.host_bridge.daw.reapack --local F  # this installation's files, file:// URLs
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from ..home import soundloom_version

DAW = Path(__file__).parent
INDEX = DAW / "reaper" / "index.xml"
# Where the repository publishes tagged sources; each release's index points at its own tag.
PUBLISHED = "https://raw.githubusercontent.com/soundloom/soundloom/v{version}/host_bridge/daw/"
DESCRIPTION = (
    "Soundloom's REAPER actions: generate at the edit cursor, style-transfer, inpaint, extend and vary "
    "the selected item, and receive takes from the Soundloom app. They need a running `soundloom serve` "
    "(or the Soundloom app)."
)


def shipped_files() -> list[str]:
    """The files ReaPack installs, as paths under daw/: the REAPER scripts and the shared spool module."""
    scripts = sorted(path.relative_to(DAW).as_posix() for path in (DAW / "reaper").glob("*.lua"))
    return [*scripts, "lua/soundloom_spool.lua"]


def is_action(file: str) -> bool:
    return Path(file).name.startswith("Soundloom - ")


def build_index(url_of: Callable[[str], str], version: str) -> str:
    """The index XML; `url_of(file)` gives each file's download URL."""
    main = ' main="main"'  # an action: ReaPack registers it in REAPER's action list
    sources = "\n".join(
        f"        <source{main if is_action(file) else ''} file={quoteattr(file)}>"
        f"{escape(url_of(file))}</source>"
        for file in shipped_files()
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<index version="1" name="Soundloom">
  <category name="Soundloom">
    <reapack name="Soundloom DAW actions" type="script" desc="Soundloom DAW actions">
      <metadata>
        <description><![CDATA[{DESCRIPTION}]]></description>
      </metadata>
      <version name={quoteattr(version)} author="Soundloom">
{sources}
      </version>
    </reapack>
  </category>
</index>
"""


def published_index(version: str | None = None) -> str:
    version = version or soundloom_version()
    return build_index(lambda file: PUBLISHED.format(version=version) + quote(file), version)


def local_index() -> str:
    return build_index(lambda file: (DAW / file).resolve().as_uri(), soundloom_version())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m soundloom.host_bridge.daw.reapack", description=__doc__)
    parser.add_argument("--local", type=Path, help="write an index of this installation's files here instead")
    args = parser.parse_args(argv)
    if args.local:
        args.local.write_text(local_index())
        print(f"{args.local}: import it in ReaPack as {args.local.resolve().as_uri()}")
    else:
        INDEX.write_text(published_index())
        print(INDEX)
    return 0


if __name__ == "__main__":
    sys.exit(main())
