"""A model served in this process: the `Engine` (api.py) that the bridge, the CLI, the app, batch workers
and Ray actors call.

It checks each request against the model (what `requests.py` cannot know: a transcript, a too-short
duration), runs one call at a time under a lock (one worker thread at a time may use a loaded model), on
the model's device, and hands the work to the operations (generation.py, editing.py).
"""

from __future__ import annotations

import threading
from dataclasses import replace

import torch

from .device import on_device
from .editing import run_edit
from .errors import EngineError
from .generation import PreviewCosts, generate_takes
from .licence import Licence
from .model import DiffusionModel
from .preview import PreviewSink
from .requests import EditRequest, GeneratedAudio, GenerationRequest
from .samplers.common import Progress


class LocalEngine:
    def __init__(self, model: DiffusionModel):
        self.model = model
        self._lock = threading.Lock()
        self._weights_mb: float | None = None
        self._preview_costs: PreviewCosts = {}

    @property
    def sample_rate(self) -> int:
        return self.model.sample_rate

    @property
    def licence(self) -> Licence:
        return self.model.licence

    @property
    def model_id(self) -> str:
        return self.model.model_id

    def status(self) -> dict[str, str | float]:
        """Plain facts for a status line: where the model runs, its weights' size, the GPU's allocation."""
        model = self.model
        if self._weights_mb is None:  # asked often (a window's status bar); the weights do not change
            parameters = (p for module in model.parts.modules() for p in module.parameters())
            self._weights_mb = sum(p.numel() * p.element_size() for p in parameters) / 2**20
        facts: dict[str, str | float] = {
            "device": str(model.device),
            "dtype": str(model.dtype).removeprefix("torch."),
            "weights_mb": self._weights_mb,
        }
        if model.device.type == "cuda":
            facts["allocated_mb"] = torch.cuda.memory_allocated(model.device) / 2**20
        return facts

    def generate(
        self,
        request: GenerationRequest,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: PreviewSink | None = None,
    ) -> list[GeneratedAudio]:
        """Run one request: `request.variations` clips of the same prompt, from one seed. `preview`, when
        given, hears rough versions of the first take while it is denoised (see preview.py)."""
        return self.generate_prompts([request.prompt], request, progress, cancel, preview)

    def generate_prompts(
        self,
        prompts: list[str],
        request: GenerationRequest,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        preview: PreviewSink | None = None,
    ) -> list[GeneratedAudio]:
        """One batched run of `request` for each prompt: prompt-major results, each with its own prompt."""
        problems = [
            problem for prompt in prompts for problem in replace(request, prompt=prompt).problems()
        ] + self.request_problems(request)
        if not prompts:
            problems.append("no prompts given")
        if problems:
            raise EngineError("; ".join(dict.fromkeys(problems)))
        with self._lock, torch.inference_mode(), on_device(self.model.device, self.model.dtype):
            return generate_takes(
                self.model, request, prompts, progress, cancel, preview, self._preview_costs
            )

    def edit(
        self,
        request: EditRequest,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> list[GeneratedAudio]:
        """Transfer, inpaint, extend or vary a clip (see `editing.py`); results at the clip's rate."""
        problems = request.problems() + self.request_problems(request.generation)
        if problems:
            raise EngineError("; ".join(problems))
        with self._lock, torch.inference_mode(), on_device(self.model.device, self.model.dtype):
            return run_edit(self.model, request, progress, cancel)

    def request_problems(self, request: GenerationRequest) -> list[str]:
        """What this checkpoint cannot do with a valid request (requests.py checks the request itself)."""
        return self.model.conditioner.request_problems(request, self.model.model_id)
