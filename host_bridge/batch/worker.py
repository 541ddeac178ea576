"""A batch worker: one loaded model that renders units into finished take files.

The same class runs in the driver's process (the local path) and as a Ray actor (`--ray`). It renders a
unit (engine, effects, export, provenance) into the bytes of each take's WAV, then either writes them to
the output folder itself, when it sees that folder (shared storage: it finds the marker the driver wrote
there), or ships them back for the driver to write (`--collect`, or a node without the folder).

Every take's provenance carries its take key under `batch`, so a file that a lost worker wrote but never
reported is recognised and adopted on the next try, never written a second time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import traceback
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import soundfile as sf

from ...engine import EditRequest, GeneratedAudio, GenerationRequest
from ...engine.api import Engine
from ...engine.errors import EngineError
from ...presets import PresetError, render
from ..delivery.deliver import encode_take, read_file_provenance, request_provenance
from ..delivery.files import OutputError, write_file
from ..engine_loader import model_loader
from ..errors import BridgeError
from .plan import Take, Unit

log = logging.getLogger(__name__)

MARKER = ".soundloom-batch"  # the driver's token in the output folder: a worker that reads it shares it


@dataclass
class TakeFile:
    """One finished take: its file name in the output folder and what the manifest records of it."""

    key: str
    name: str
    sha256: str
    size: int
    duration_s: float
    provenance: dict[str, Any]
    data: bytes | None = field(default=None, repr=False)  # the file, when the driver must write it
    adopted: bool = False  # found already written by a lost worker, not rendered again


@dataclass
class UnitOutcome:
    takes: list[TakeFile] = field(default_factory=list)
    error: str = ""  # one line for people; empty when the unit rendered
    trace: str = ""  # a defect's traceback, for the driver's log
    worker: str = ""


def is_take(path: Path, key: str) -> bool:
    """Whether the file at `path` is the batch take `key` (its provenance says so)."""
    provenance = read_file_provenance(path) if path.is_file() else None
    return bool(provenance) and (provenance.get("batch") or {}).get("take") == key


def adopt(path: Path, key: str) -> TakeFile:
    """The manifest's facts of a take file already in place."""
    data = path.read_bytes()
    provenance = read_file_provenance(path) or {}
    duration_s = round(sf.info(str(path)).duration, 3)
    return TakeFile(key, path.name, _sha256(data), len(data), duration_s, provenance, None, True)


def land(out: Path, take: TakeFile) -> TakeFile:
    """Write a rendered take's bytes as `out/take.name`, atomically and never over another file; a file
    already there that is this very take (a lost worker's) is adopted instead."""
    assert take.data is not None
    path = out / take.name
    try:
        write_file(path, take.data, overwrite=False)
    except OutputError:
        if is_take(path, take.key):
            return adopt(path, take.key)
        raise
    return replace(take, data=None)  # written: the manifest needs its facts, not its bytes again


class TakeWorker:
    def __init__(
        self,
        model: str,
        device: str,
        dtype: str,
        allow_pickle: bool,
        out: str,
        marker: str = "",
        collect: bool = False,
    ):
        """`marker`: the token the driver wrote to OUT/.soundloom-batch; a worker that reads the same token
        (or, in the driver's process, is given none) writes into OUT itself, unless told to `collect`
        (ship every take back). Nothing loads until `start`."""
        self._load = model_loader(device, dtype, allow_pickle)
        self.model_name = model
        self.model: Engine | None = None  # loaded by start()
        self.out = Path(out)
        self.shared = not collect and (not marker or _read(self.out / MARKER) == marker)
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def start(self) -> dict[str, Any]:
        """Load the model (BridgeError says why it cannot); what the driver logs of this worker."""
        self.model = self._load(self.model_name)
        return {"worker": self.name, "shared": self.shared}

    def render(self, unit: Unit, request: GenerationRequest | EditRequest) -> UnitOutcome:
        """Render every take of `unit` not already in place; failures come back as the outcome's error."""
        try:
            return UnitOutcome(self._render(unit, request), worker=self.name)
        except (EngineError, BridgeError, PresetError) as error:
            return UnitOutcome(error=str(error), worker=self.name)
        except Exception as error:  # a defect: the driver logs the trace, the batch goes on
            message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            return UnitOutcome(error=message, trace=traceback.format_exc(), worker=self.name)

    def _render(self, unit: Unit, request: GenerationRequest | EditRequest) -> list[TakeFile]:
        in_place = [take for take in unit.takes if self.shared and is_take(self.out / take.name, take.key)]
        if len(in_place) == len(unit.takes):
            return [adopt(self.out / take.name, take.key) for take in in_place]
        if isinstance(request, EditRequest):
            results = self.model.edit(request)
        else:
            results = self.model.generate(request)
        by_variation = {result.variation: result for result in results}
        now = datetime.now().replace(microsecond=0)
        files = []
        for take in unit.takes:
            result = by_variation[take.variation if len(unit.takes) > 1 else 1]
            encoded = self._encode(unit, take, result, now)
            files.append(land(self.out, encoded) if self.shared else encoded)
        return files

    @staticmethod
    def _encode(unit: Unit, take: Take, result: GeneratedAudio, now: datetime) -> TakeFile:
        entry = request_provenance(result)
        entry["batch"] = {
            "take": take.key,
            "line": take.line,
            "variation": take.variation,
            "of": take.variations,
        }
        delivery = unit.delivery
        rendered = render(
            result.audio, result.sample_rate, delivery.chain, delivery.export, loop=bool(entry["loop"])
        )
        data, provenance = encode_take(entry, rendered, delivery, now)
        return TakeFile(take.key, take.name, _sha256(data), len(data), rendered.duration_s, provenance, data)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
