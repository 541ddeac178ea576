"""Which text tower for the default model's CLAP: pretrained all-MiniLM-L6-v2 + projection, or from scratch?

For each `soundloom train clap` run given, on a held-out corpus (another seed, so unseen audio):
text->audio retrieval: for every caption, is the top-ranked clip of the caption's category? Reported for
the training phrasings and for the held-out paraphrases (wording never seen in training); the gap is
what paraphrase robustness costs.

    python3 -m benchmarks.clap_text_tower --heldout RUNS/heldout RUNS/clap RUNS/clap-scratch
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from judge import mel_of
from soundloom.engine.checkpoints import load_component
from soundloom.engine.models.clap_audio import AudioEncoder, AudioEncoderConfig
from soundloom.engine.text import SentenceTextEncoder
from soundloom.engine.training.captions import caption
from soundloom.engine.training.data import load_clip


@torch.no_grad()
def retrieval_accuracy(run: Path, heldout: Path) -> dict[str, float]:
    audio_encoder = load_component(run / "audio_encoder", AudioEncoder, AudioEncoderConfig, "transformers")
    text_encoder = SentenceTextEncoder.load(run / "text_encoder")
    entries = [json.loads(line) for line in (heldout / "captions-heldout.jsonl").read_text().splitlines()]
    clips = np.stack([load_clip(heldout / entry["file"], 16000)[: 512 * 160] for entry in entries])
    audio = torch.cat(
        [F.normalize(audio_encoder(mel_of(clips[i : i + 128])), dim=-1) for i in range(0, len(clips), 128)]
    )
    categories = np.array([entry["category"] for entry in entries])
    phrasings = {
        "paraphrase (held-out wording)": [entry["caption"] for entry in entries],
        "training wording": [
            caption(e["category"], e["attribute"], np.random.default_rng([e["seed"], e["index"], 1]), "train")
            for e in entries
        ],
    }
    scores = {}
    for name, texts in phrasings.items():
        text = torch.cat([text_encoder.encode(texts[i : i + 256]) for i in range(0, len(texts), 256)])
        best = (text @ audio.T).argmax(dim=1).numpy()
        scores[name] = float((categories[best] == categories).mean())
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--heldout", type=Path, required=True, help="corpus folder with captions-heldout.jsonl"
    )
    parser.add_argument("runs", type=Path, nargs="+", help="`soundloom train clap` run folders")
    args = parser.parse_args()
    print("text->audio top-1 category accuracy on unseen clips (chance 1/21 = 4.8%)")
    for run in args.runs:
        tower = json.loads((run / "text_encoder" / "config.json").read_text())["base_model"]
        for name, value in retrieval_accuracy(run, args.heldout).items():
            print(f"  {run.name:<16} base={tower:<20} {name:<30} {100 * value:5.1f}%")


if __name__ == "__main__":
    main()
