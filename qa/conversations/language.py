"""The customer's language, guessed on import when the source does not say (py3langid).

Only the first SAMPLE_CHARS characters of what the customer wrote are read: enough for a
confident guess, and cheap (~80 µs a conversation) on an import of millions. A short or mixed text
gives no answer rather than a wrong one: the guess is kept only at MIN_CONFIDENCE or more.
"""

from __future__ import annotations

import functools
import re
from typing import Any

SAMPLE_CHARS = 160
MIN_LETTERS = 12
MIN_CONFIDENCE = 0.8
_NOISE = re.compile(r"https?://\S+|[@#]\w+|\S+@\S+")  # links, handles, tags and addresses say nothing
_NOT_LETTERS = re.compile(r"[\W\d_]+")


@functools.cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> str | None:
    """An ISO 639-1 code ("en", "de", …) for `text`, or None when it is too short or unclear."""
    text = _NOISE.sub(" ", text[:SAMPLE_CHARS])
    if len(_NOT_LETTERS.sub("", text)) < MIN_LETTERS:
        return None
    code, confidence = _identifier().classify(text)
    return str(code) if confidence >= MIN_CONFIDENCE else None
