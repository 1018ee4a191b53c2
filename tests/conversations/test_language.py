"""The customer's language, guessed on import when the source does not say."""

from __future__ import annotations

import pytest

from qa.conversations.ingest import validate_record
from qa.conversations.language import detect
from tests.conversations.helpers import native


@pytest.mark.parametrize(("text", "code"), [
    ("Hi, I was charged twice for my order last week, can you help me?", "en"),
    ("Hallo, ich wurde zweimal belastet und brauche bitte eine Rückerstattung.", "de"),
    ("Bonjour, je n'arrive plus à me connecter à mon compte depuis hier soir.", "fr"),
    ("Hola, me cobraron dos veces el pedido y necesito un reembolso por favor.", "es"),
    ("Olá, fui cobrado duas vezes pelo mesmo pedido, podem me ajudar?", "pt"),
])
def test_common_languages(text: str, code: str) -> None:
    assert detect(text) == code


@pytest.mark.parametrize("text", ["ok", "thx!!", "@SpotifyCares 👍", "https://example.com/a/b/c?d=e", "",
                                  "12345 678"])
def test_too_little_to_tell_is_no_answer(text: str) -> None:
    assert detect(text) is None


def test_import_guesses_from_the_customer_only() -> None:
    record = native(language=None, messages=[
        {"author": "agent", "body": "Hello! How can I help you today with your account?"},
        {"author": "customer",
         "body": "Guten Tag, meine Bestellung ist nicht angekommen, bitte helfen Sie mir."},
    ])
    assert validate_record(record).values["language"] == "de"


def test_a_language_the_source_gives_is_kept() -> None:
    assert validate_record(native(language="pt-BR")).values["language"] == "pt-BR"
