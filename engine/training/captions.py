"""Captions for corpus clips: varied templates and synonyms, with a held-out paraphrase set.

Each category has nouns and templates for training and a disjoint set for evaluation, so "held-out"
prompts test whether the text side generalises to wording it never saw. Attribute words (pitch,
speed, texture) come from the renderer that made the clip, so a caption describes its own audio.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Phrasing:
    nouns: tuple[str, ...]
    templates: tuple[str, ...]  # each uses {noun} and may use {attribute}


@dataclass(frozen=True)
class CategoryText:
    train: Phrasing
    heldout: Phrasing


TRAIN_TEMPLATES = (
    "{attribute} {noun}",
    "a {noun}, {attribute}",
    "{noun}",
    "the sound of a {attribute} {noun}",
    "{attribute} {noun} sound effect",
    "recording of a {noun}",
)
HELDOUT_TEMPLATES = (
    "something like a {noun} that is {attribute}",
    "{noun} heard up close, {attribute}",
    "I want a {attribute} {noun}",
)


def _category(train_nouns: tuple[str, ...], heldout_nouns: tuple[str, ...]) -> CategoryText:
    return CategoryText(Phrasing(train_nouns, TRAIN_TEMPLATES), Phrasing(heldout_nouns, HELDOUT_TEMPLATES))


CATEGORIES: dict[str, CategoryText] = {
    "piano": _category(("piano", "grand piano", "piano keys"), ("acoustic piano", "upright piano")),
    "strings": _category(("string section", "violins", "strings"), ("string ensemble", "orchestral strings")),
    "brass": _category(("brass section", "trumpet", "horns"), ("brass ensemble", "trombone")),
    "guitar": _category(
        ("acoustic guitar", "guitar", "nylon guitar"), ("steel-string guitar", "strummed guitar")
    ),
    "organ": _category(("church organ", "organ", "pipe organ"), ("cathedral organ", "organ chords")),
    "bass": _category(("bass guitar", "electric bass", "bassline"), ("fingered bass", "low bass part")),
    "woodwind": _category(("flute", "clarinet", "woodwind"), ("wooden flute", "reed instrument")),
    "drums": _category(("drum kit", "drums", "drum beat"), ("percussion groove", "drummer playing")),
    "whoosh": _category(("whoosh", "swoosh", "air swish"), ("swish of air", "fly-by")),
    "riser": _category(("riser", "uplifter", "rising sweep"), ("build-up", "tension riser")),
    "impact": _category(("impact", "boom", "hit"), ("thud", "cinematic hit")),
    "zap": _category(("laser zap", "zap", "sci-fi blaster"), ("ray gun shot", "laser")),
    "alarm": _category(("alarm", "beeping alarm", "warning beeps"), ("siren beeps", "alert tone")),
    "wind": _category(("wind", "gusts of wind", "wind noise"), ("windstorm", "breeze")),
    "rain": _category(("rain", "rainfall", "raindrops"), ("downpour", "drizzle")),
    "fire": _category(("fire crackling", "campfire", "crackling fire"), ("fireplace", "burning logs")),
    "engine": _category(("engine hum", "motor", "idling engine"), ("machine drone", "running motor")),
    "glitch": _category(
        ("glitch", "digital glitch", "stutter"), ("data corruption sound", "bit-crushed noise")
    ),
    "noise": _category(("noise", "static", "hiss"), ("white noise hiss", "noise floor")),
    "bell": _category(("bell", "chime", "bell strike"), ("struck bell", "temple bell")),
    "speech": _category(("voice speaking", "speech", "spoken words"), ("person talking", "narration")),
}


PLURAL_NOUNS = frozenset(
    noun
    for text in CATEGORIES.values()
    for noun in text.train.nouns + text.heldout.nouns
    if any(
        word.endswith("s") and word not in ("bass", "brass", "hiss", "noise", "glass")
        for word in noun.split()
    )
)


def caption(category: str, attribute: str, rng: np.random.Generator, split: str = "train") -> str:
    """A caption for a clip of `category` described by `attribute` ("low", "fast", ...)."""
    text = CATEGORIES[category]
    phrasing = text.train if split == "train" else text.heldout
    noun = phrasing.nouns[rng.integers(len(phrasing.nouns))]
    template = phrasing.templates[rng.integers(len(phrasing.templates))]
    if noun in PLURAL_NOUNS:  # "a drums" -> "drums"
        template = template.replace("a {", "{")
    text = template.format(noun=noun, attribute=attribute).strip()
    return re.sub(r"\ba ([aeiou])", r"an \1", text)  # "a acoustic guitar" -> "an acoustic guitar"
