"""A checkpoint's licence, read from its own model card: stated as a fact, never guessed.

A model card is the `README.md` at the top of a checkpoint folder, as the Hugging Face Hub keeps it: YAML
front matter between `---` lines, then prose. The Hub's metadata fields are `license` (an id such as
`cc-by-nc-sa-4.0`, or `other`), `license_name` and `license_link`
(https://huggingface.co/docs/hub/model-cards#model-card-metadata). A folder without a card, or a card
without `license`, has licence "unknown".

Non-commercial is flagged from two places only: an id of the Creative Commons NC family, and a card that
says "non-commercial" (or "CC BY-NC") in its own words. The flag comes with the evidence, so what the user
is told can be checked against the card. This module imports no torch: the app's window reads it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from .default_model import DEFAULT_NAME, default_model_folder

CARD_NAME = "README.md"
UNKNOWN = "unknown"
MAX_CARD_BYTES = 1 * 2**20  # a card is a few KB; a larger file is read only this far
# An id of the Creative Commons NC family: cc-by-nc-4.0, cc-by-nc-sa-4.0, cc-by-nc-nd-3.0, ...
NC_ID = re.compile(r"^cc-by-nc(-sa|-nd)?-\d", re.IGNORECASE)
CC_ID = re.compile(r"^cc-(by(?:-nc)?(?:-sa|-nd)?)-(\d\.\d)$", re.IGNORECASE)
# The words a card uses to restrict use: "non-commercial", "noncommercial", "non commercial", "CC BY-NC".
NC_WORDS = re.compile(r"\bnon[-\s]?commercial\b|\bcc[-\s]by[-\s]nc\b", re.IGNORECASE)
# ... unless both are named, as in "free for commercial and non-commercial use".
BOTH_BEFORE = re.compile(r"\bcommercial\s*(?:and|or|&|/)\s*$", re.IGNORECASE)
BOTH_AFTER = re.compile(r"^\s*(?:and|or|&|/)\s*commercial\b", re.IGNORECASE)


@dataclass(frozen=True)
class Licence:
    """What a checkpoint's model card says about its licence."""

    id: str = UNKNOWN  # the card's `license`, e.g. 'cc-by-nc-sa-4.0', 'mit', 'other'
    name: str = ""  # the card's `license_name` (given with 'other')
    link: str = ""  # the card's `license_link`, else a Creative Commons id's deed, else the Hub card
    noncommercial: bool = False
    evidence: str = ""  # why it is flagged non-commercial: the id, or the card's words and line
    source: str = ""  # where it was read, or why it is unknown

    @property
    def known(self) -> bool:
        return self.id != UNKNOWN

    @property
    def title(self) -> str:
        """The licence as the card names it: 'cc-by-nc-sa-4.0', 'other: Stability AI Community', 'unknown'."""
        return f"{self.id}: {self.name}" if self.name and self.name != self.id else self.id

    @property
    def label(self) -> str:
        """One short phrase for lists and takes: 'cc-by-nc-sa-4.0 (non-commercial)', 'mit', 'unknown'."""
        return f"{self.title} (non-commercial)" if self.noncommercial else self.title

    def notice(self, model: str) -> str | None:
        """The one-line warning for a non-commercial licence; None when there is nothing to warn of."""
        if not self.noncommercial:
            return None
        link = f" ({self.link})" if self.link else ""
        return (
            f"notice: {model}: {self.evidence}{link}; "
            "check what it allows before you use its sounds commercially"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Licence | None:
        """A licence as provenance JSON holds it; None when `data` is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return None
        fields = {
            key: data[key] for key in ("name", "link", "evidence", "source") if isinstance(data.get(key), str)
        }
        return cls(id=data["id"], noncommercial=data.get("noncommercial") is True, **fields)


def read_licence(folder: Path, hub_id: str | None = None) -> Licence:
    """The licence a checkpoint folder's model card gives; 'unknown' (with the reason) when it gives none.

    `hub_id` names the Hub repository the folder was downloaded from: its card page is the link when the
    card has no `license_link` and the id is not a Creative Commons one.
    """
    card = folder / CARD_NAME
    if not card.is_file():
        fetch = f"; `hf download {hub_id} {CARD_NAME}` fetches it" if hub_id else ""
        return Licence(source=f"no model card ({CARD_NAME}) in {folder}{fetch}")
    try:
        with open(card, "rb") as stream:
            text = stream.read(MAX_CARD_BYTES).decode("utf-8-sig", "replace")
    except OSError as error:
        return Licence(source=f"{card} cannot be read ({error.strerror})")
    metadata, body, body_line = _front_matter(text)
    if isinstance(metadata, str):  # why the front matter could not be read
        return Licence(source=f"{card}: {metadata}")
    licence_id, problem = _text_field(metadata.get("license"))
    name, _ = _text_field(metadata.get("license_name"))
    link, _ = _text_field(metadata.get("license_link"))
    evidence = _nc_evidence(licence_id, name, body, body_line)
    source = f"model card {card}" + (f" ({problem})" if problem else "")
    if not licence_id:
        source = f"{card} names no licence" + (f" ({problem})" if problem else " (no `license:` field)")
    return Licence(
        id=licence_id or UNKNOWN,
        name=name,
        link=link or _deed(licence_id) or (f"https://huggingface.co/{hub_id}" if hub_id else ""),
        noncommercial=bool(evidence),
        evidence=evidence,
        source=source,
    )


def folder_licence(folder: Path, model: str) -> Licence:
    """The licence of a checkpoint folder resolved from `model` (a folder, or the Hub id it came from)."""
    return read_licence(folder, hub_id=None if Path(model).expanduser().exists() else model)


def licence_of(model: str) -> Licence:
    """The licence of a model as `--model` names it ('default', a folder, or a Hub id), without loading it
    and without the network: a Hub id is read from the local Hugging Face cache."""
    if model == DEFAULT_NAME:
        return read_licence(default_model_folder())
    path = Path(model).expanduser()
    if path.is_dir():
        return read_licence(path)
    from huggingface_hub import try_to_load_from_cache  # the cache's layout, read as the Hub library does

    try:
        index = try_to_load_from_cache(model, "model_index.json")
    except Exception:  # not a valid repository id: huggingface_hub's validators raise their own types
        index = None
    if not isinstance(index, str):
        return Licence(source=f"{model} is not a folder and is not downloaded yet: no model card to read")
    return read_licence(Path(index).parent, hub_id=model)


def _front_matter(text: str) -> tuple[dict[str, Any] | str, str, int]:
    """(metadata, body, the body's first line number); the metadata is a reason string when unreadable."""
    from huggingface_hub.repocard import REGEX_YAML_BLOCK  # the Hub's own pattern; 0.6 s to import

    match = REGEX_YAML_BLOCK.search(text)
    if match is None:
        return {}, text, 1
    body_line = text[: match.end()].count("\n") + 1
    body = text[match.end() :]
    try:
        metadata = yaml.safe_load(match.group(2))
    except yaml.YAMLError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return f"its front matter is not valid YAML ({reason})", body, body_line
    if metadata is None:
        return {}, body, body_line
    if not isinstance(metadata, dict):
        return "its front matter is not a mapping of fields", body, body_line
    return metadata, body, body_line


def _text_field(value: Any) -> tuple[str, str]:
    """A card field as text, and what was odd about it: a list of ids is joined, other types refused."""
    if value is None:
        return "", ""
    if isinstance(value, str):
        return value.strip()[:200], ""
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return " OR ".join(item.strip() for item in value)[:200], ""
    return "", f"`license` holds {type(value).__name__}, not text"


def _nc_evidence(licence_id: str, name: str, body: str, body_line: int) -> str:
    """Why the card excludes commercial use, in words the user can find in it; '' when it does not."""
    if any(NC_ID.match(part.strip()) for part in licence_id.split(" OR ")):
        return f"its model card gives the licence {licence_id}, a Creative Commons NonCommercial licence"
    for text, where in ((name, "`license_name`"), (body, None)):
        for match in NC_WORDS.finditer(text):
            before, after = (
                text[max(0, match.start() - 40) : match.start()],
                text[match.end() : match.end() + 40],
            )
            if BOTH_BEFORE.search(before) or BOTH_AFTER.search(after):
                continue
            if where is None:
                where = f"line {body_line + text.count(chr(10), 0, match.start())}"
            return f'its model card says "{match.group(0)}" ({where})'
    return ""


def _deed(licence_id: str) -> str:
    """The Creative Commons deed of a cc-* id (the id names it exactly); '' for any other id."""
    if licence_id.lower() == "cc0-1.0":
        return "https://creativecommons.org/publicdomain/zero/1.0/"
    match = CC_ID.match(licence_id)
    return f"https://creativecommons.org/licenses/{match[1].lower()}/{match[2]}/" if match else ""
