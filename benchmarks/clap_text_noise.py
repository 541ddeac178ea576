"""How much noise on the sentence embedding makes the CLAP text projection survive unseen wording?

The text projection of the default model learns from a few hundred template captions, and on held-out
paraphrases it lands on the wrong category more often than the frozen sentence encoder beneath it
would. This benchmark chooses `soundloom train clap --text-noise` without looking at the held-out
paraphrases: the last training noun of every category ("pipe organ", "drum beat", ...) is taken out of
the training captions, a fresh projection is trained on the rest against the kept audio branch
(`--init MODEL --freeze-audio --reset-text`), and each is scored on the captions with the noun it never
saw: is the caption's text embedding nearest its own category's mean audio embedding, and how close
(cosine) to it? The held-out paraphrases (another corpus seed, wording never used in training) are
scored too, as a second opinion.

    python3 -m benchmarks.clap_text_noise --corpus RUNS/corpus --heldout RUNS/heldout --init MODEL
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from soundloom.engine.audio import MelConfig
from soundloom.engine.text import SentenceTextEncoder
from soundloom.engine.training.captioned import MANIFEST, CaptionedClips
from soundloom.engine.training.captions import CATEGORIES
from soundloom.engine.training.clap import (
    ClapTraining,
    MelBank,
    first_window_embeddings,
    load_pair,
    train_clap,
)
from soundloom.engine.training.corpus import CATEGORY_NAMES

# The window the frozen audio branch embeds in --freeze-audio training (the default segment, 5.12 s).
WINDOW_FRAMES = round(ClapTraining.segment_s * MelConfig().sample_rate / MelConfig().hop_length)


def uses_noun(caption: str, category: str, noun: str) -> bool:
    """Whether `noun` is the training noun in `caption` (the longest of its category's that it holds)."""
    nouns = sorted(CATEGORIES[category].train.nouns, key=len, reverse=True)
    found = next((n for n in nouns if re.search(rf"\b{re.escape(n)}\b", caption)), None)
    return found == noun


def split_corpus(corpus: Path, out: Path) -> list[tuple[str, str]]:
    """Write out/captions-train.jsonl without each category's last training noun; returns the distinct
    (caption, category) pairs left out."""
    kept, left_out = [], set()
    for line in (corpus / MANIFEST).read_text().splitlines():
        entry = json.loads(line)
        category = entry["category"]
        if uses_noun(entry["caption"], category, CATEGORIES[category].train.nouns[-1]):
            left_out.add((entry["caption"], category))
        else:
            kept.append(json.dumps({**entry, "file": str((corpus / entry["file"]).resolve())}))
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).write_text("\n".join(kept) + "\n")
    return sorted(left_out)


@torch.no_grad()
def audio_centroids(init: Path, corpus: Path) -> torch.Tensor:
    """(categories, D) unit mean CLAP audio embedding of each category's training clips."""
    audio_encoder, _, _ = load_pair(init)
    data = CaptionedClips(corpus)
    audio = first_window_embeddings(
        audio_encoder, MelBank(data.clips, MelConfig()), WINDOW_FRAMES, torch.device("cpu")
    )
    labels = torch.tensor([CATEGORY_NAMES.index(category) for category in data.categories])
    return F.normalize(torch.stack([audio[labels == k].mean(0) for k in range(len(CATEGORY_NAMES))]), dim=-1)


@torch.no_grad()
def score(run: Path, centroids: torch.Tensor, captions: list[tuple[str, str]]) -> tuple[float, float]:
    """(nearest-centroid category accuracy, mean cosine to the own category's centroid)."""
    text = SentenceTextEncoder.load(run / "text_encoder").encode([caption for caption, _ in captions]).float()
    truth = torch.tensor([CATEGORY_NAMES.index(category) for _, category in captions])
    accuracy = float(((text @ centroids.T).argmax(dim=1) == truth).float().mean())
    return accuracy, float((text * centroids[truth]).sum(dim=1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True, help="training corpus (captions-train.jsonl)")
    parser.add_argument(
        "--heldout", type=Path, required=True, help="held-out corpus (captions-heldout.jsonl)"
    )
    parser.add_argument("--init", type=Path, required=True, help="checkpoint whose audio branch is kept")
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.5, 1.0, 1.5])
    parser.add_argument("--alignment", type=float, default=3.0)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "bench-out" / "clap-noise")
    args = parser.parse_args()
    torch.set_num_threads(2)

    left_out = split_corpus(args.corpus, args.out / "split")
    heldout = sorted(
        {
            (e["caption"], e["category"])
            for e in map(json.loads, (args.heldout / "captions-heldout.jsonl").read_text().splitlines())
        }
    )
    centroids = audio_centroids(args.init, args.corpus)
    print(f"{len(left_out)} captions with a left-out noun, {len(heldout)} held-out paraphrases")
    header = ("text noise", "left-out noun: accuracy", "cosine", "held-out: accuracy", "cosine")
    print("{:>10} {:>24} {:>7} {:>19} {:>7}".format(*header))
    for noise in args.noise:
        settings = ClapTraining(
            steps=args.steps,
            alignment=args.alignment,
            init=args.init,
            freeze_audio=True,
            reset_text=True,
            text_noise=noise,
        )
        run = train_clap(args.out / "split", args.out / f"noise-{noise:g}", settings)
        (unseen, unseen_cos), (para, para_cos) = (score(run, centroids, c) for c in (left_out, heldout))
        print(
            f"{noise:10g} {100 * unseen:23.1f}% {unseen_cos:7.3f} {100 * para:18.1f}% {para_cos:7.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
