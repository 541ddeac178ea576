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

from ...engine import EditRequest, GeneratedAudio, GenerationRequest
from ...engine.errors import EngineError
from ...presets import PresetError, render
from ..delivery.deliver import encode_take
from ..delivery.files import OutputError, write_file
from ..delivery.provenance import BatchMark, read_file_provenance, request_provenance
from ..delivery.take_file import TakeFile
from ..engine_loader import model_loader
from ..errors import BridgeError
from ..jobs.runner import JobRunner
from .plan import Take, Unit

log = logging.getLogger(__name__)

MARKER = ".soundloom-batch"  # the driver's token in the output folder: a worker that reads it shares it


@dataclass
class BatchTake:
    """One finished batch take: its file's record, and what the manifest adds (its key, digest, size)."""

    key: str
    file: TakeFile  # its path is OUT/name, whether this worker writes it or the driver does
    sha256: str
    size: int
    data: bytes | None = field(default=None, repr=False)  # the file, when the driver must write it
    adopted: bool = False  # found already written by a lost worker, not rendered again

    @property
    def name(self) -> str:
        return self.file.name


@dataclass
class UnitOutcome:
    takes: list[BatchTake] = field(default_factory=list)
    error: str = ""  # one line for people; empty when the unit rendered
    trace: str = ""  # a defect's traceback, for the driver's log
    worker: str = ""


def is_take(path: Path, key: str) -> bool:
    """Whether the file at `path` is the batch take `key` (its provenance says so)."""
    provenance = read_file_provenance(path) if path.is_file() else None
    return provenance is not None and provenance.batch is not None and provenance.batch.take == key


def adopt(path: Path, key: str) -> BatchTake:
    """The manifest's facts of a take file already in place."""
    data = path.read_bytes()
    return BatchTake(key, TakeFile.read(path), _sha256(data), len(data), None, True)


def land(out: Path, take: BatchTake) -> BatchTake:
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
        self.runner = JobRunner(model_loader(device, dtype, allow_pickle), model)  # loads in start()
        self.out = Path(out)
        self.shared = not collect and (not marker or _read(self.out / MARKER) == marker)
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def start(self) -> dict[str, Any]:
        """Load the model (BridgeError says why it cannot); what the driver logs of this worker."""
        self.runner.load()
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

    def _render(self, unit: Unit, request: GenerationRequest | EditRequest) -> list[BatchTake]:
        in_place = [take for take in unit.takes if self.shared and is_take(self.out / take.name, take.key)]
        if len(in_place) == len(unit.takes):
            return [adopt(self.out / take.name, take.key) for take in in_place]
        results = self.runner.render(request)
        by_variation = {result.variation: result for result in results}
        now = datetime.now().replace(microsecond=0)
        files = []
        for take in unit.takes:
            result = by_variation[take.variation if len(unit.takes) > 1 else 1]
            encoded = self._encode(unit, take, result, now)
            files.append(land(self.out, encoded) if self.shared else encoded)
        return files

    def _encode(self, unit: Unit, take: Take, result: GeneratedAudio, now: datetime) -> BatchTake:
        mark = BatchMark(take.key, take.line, take.variation, take.variations)
        made = replace(request_provenance(result), batch=mark)
        delivery = unit.delivery
        rendered = render(result.audio, result.sample_rate, delivery.chain, delivery.export, loop=made.loop)
        data, provenance = encode_take(made, rendered, delivery, now)
        path = str(self.out / take.name)
        record = TakeFile(path, rendered.duration_s, rendered.sample_rate, provenance.seed, provenance)
        return BatchTake(take.key, record, _sha256(data), len(data), data)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
