"""One runner for every surface: it holds the loaded engine (one model at a time, loaded by the first job
that needs it, swapped when a job names another) and makes the engine call, with progress, previews and
cancel (`render`). The command line and batch workers call `render` and deliver as they must (to --out;
as bytes a batch driver may write); the queued surfaces (the bridge, the app) call `run`, which plans
each job again when it starts (the input file or the output folder may have changed while it waited),
renders it, and delivers its files into the output folder.

The bridge side of the boundary: it builds plain GenerationRequest/EditRequest objects and calls the
engine's `generate`/`edit` (engine/api.py); it never touches the model's modules.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from ...engine import EditRequest, GeneratedAudio, GenerationRequest
from ...engine.api import Engine, PreviewSink, Progress
from ...engine.licence import Licence, licence_of
from ..delivery.deliver import deliver
from ..delivery.files import OutputError, slug, write_wav
from ..delivery.take_file import TakeFile
from ..engine_loader import EngineLoader
from .planner import JobPlanner, Plan
from .spec import JobSpec

log = logging.getLogger(__name__)

LoadListener = Callable[[str, "float | None"], None]  # (model name, seconds the load took; None: starting)


class RunningJob(Protocol):
    """What the runner needs of a queued job (the bridge's `Job` is one)."""

    cancel: threading.Event
    # Called with the [take, dry take or None] files a delivery is about to write, before it writes them.
    record_outputs: Callable[[list[list[str | None]]], None]

    @property
    def request_id(self) -> str: ...

    @property
    def spec(self) -> JobSpec: ...


class JobRunner:
    """Holds the loaded engine and the planner.

    `load_model(name)` loads a model by name; the planner's `model_names()` are the names a job's `model`
    may pick (the bridge's models: what `serve --model` named, or the app's model list). One model is
    loaded at a time; a job naming another loads it in place of the current one. Without a planner (the
    command line, a batch worker) only `render` serves: those surfaces plan and deliver themselves.
    """

    def __init__(self, load_model: EngineLoader, model_name: str, planner: JobPlanner | None = None):
        self._load_model, self.model_name, self.planner = load_model, model_name, planner
        self._model: Engine | None = None
        self._model_lock = threading.Lock()
        # Told of each model load, which takes seconds (minutes from the Hub): (name, None) as it starts,
        # (name, seconds) when it is done. The command line says it, the app shows it, serve logs it.
        self.load_listeners: list[LoadListener] = []

    @property
    def model(self) -> Engine:
        with self._model_lock:
            if self._model is None:
                name = self.model_name
                for listener in self.load_listeners:
                    listener(name, None)
                started = time.perf_counter()
                self._model = self._load_model(name)
                for listener in self.load_listeners:
                    listener(name, time.perf_counter() - started)
            return self._model

    def load(self) -> Engine:
        """The current model, loaded now if it is not yet (else the first job loads it)."""
        return self.model

    def use_model(self, name: str) -> None:
        """Load another model for the next job (the running one keeps the model it has)."""
        with self._model_lock:
            if name != self.model_name:
                self.model_name, self._model = name, None

    def model_licence(self, name: str) -> Licence:
        """What a model's card says of its licence: the loaded model's, or read from its folder or the
        Hugging Face cache without loading it (nothing is downloaded for this)."""
        model = self._model
        if name == self.model_name and isinstance(getattr(model, "licence", None), Licence):
            return model.licence
        return licence_of(name)

    def model_status(self) -> dict[str, Any] | None:
        """The loaded model's facts (`status()`), or None while none is loaded."""
        model = self._model  # no lock: it is held for the whole of a load, and a status line must not wait
        return model.status() if model is not None and hasattr(model, "status") else None

    def render(
        self,
        request: GenerationRequest | EditRequest,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: PreviewSink | None = None,
    ) -> list[GeneratedAudio]:
        """The engine call every surface makes: generate or edit with the current model. `preview` is
        handed each rough decode of the first take while it is denoised (generation only)."""
        model = self.model
        if isinstance(request, EditRequest):
            return model.edit(request, progress, cancel)
        return model.generate(request, progress=progress, cancel=cancel, preview=preview)

    def plan(self, spec: JobSpec, request_id: str = "") -> Plan:
        if self.planner is None:
            raise TypeError("this runner has no planner: it renders requests, it does not run jobs")
        return self.planner.plan(spec, request_id)

    def run(
        self, job: RunningJob, progress: Callable[[int, int], None], preview: Callable[[str, float], None]
    ) -> list[TakeFile]:
        """Plan, render and deliver a queued job into the output folder; its files' records."""
        plan = self.plan(job.spec, job.request_id)  # again: the input or the output folder may have changed
        if plan.model is not None:
            self.use_model(plan.model)
        if plan.input_path is not None:
            request: GenerationRequest | EditRequest = plan.edit_request(plan.read_clip())
            results = self.render(request, progress, job.cancel)
        elif plan.spec.preview:
            results = self._render_with_previews(job, plan, progress, preview)
        else:
            results = self.render(plan.generation, progress, job.cancel)
        delivered = deliver(results, self.planner.roots.output, plan.delivery, planned=job.record_outputs)
        return [item.take for item in delivered]

    def _render_with_previews(
        self,
        job: RunningJob,
        plan: Plan,
        progress: Callable[[int, int], None],
        preview: Callable[[str, float], None],
    ) -> list[GeneratedAudio]:
        # OUTPUT/previews/SLUG-DIGEST.wav: a digest of the id, so two ids that slug alike never share it.
        digest = hashlib.sha1(job.request_id.encode("utf-8", "replace")).hexdigest()[:8]
        path = self.planner.roots.output / "previews" / f"{slug(job.request_id, 40)}-{digest}.wav"
        sample_rate = self.model.sample_rate

        def write(waveform: np.ndarray, fraction: float) -> None:
            # Over the job's last preview, atomically (a DAW playing it never reads half a file). One that
            # cannot be written is logged and skipped: the take matters, not its preview.
            try:
                path.parent.mkdir(exist_ok=True)
                write_wav(path, waveform, sample_rate, overwrite=True)
            except (OSError, OutputError) as error:
                log.warning("job %s: preview not written: %s", job.request_id, error)
                return
            preview(str(path), fraction)

        try:
            return self.render(plan.generation, progress, job.cancel, preview=write)
        finally:  # the take supersedes it: a preview lives until the job's done or error
            with contextlib.suppress(OSError):  # (on Windows a player may still hold it open)
                path.unlink(missing_ok=True)
