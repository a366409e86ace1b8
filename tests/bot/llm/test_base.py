"""Every backend offers the whole `Backend` protocol, so the wiring and the tutor call `load`,
`stream` and `close` without probing for them."""

from __future__ import annotations

import inspect

import pytest

from bot.llm.base import Backend
from bot.llm.hf import TransformersBackend
from bot.llm.openai import OpenAIBackend

BACKENDS = {
    "transformers": lambda: TransformersBackend("/nonexistent/model", device="cpu"),
    "openai": lambda: OpenAIBackend("http://127.0.0.1:9/v1", "some-model"),
}
PROTOCOL_METHODS = sorted(
    name for name, _ in inspect.getmembers(Backend, inspect.isfunction) if not name.startswith("_")
)


def test_the_protocol_names_load_stream_and_close():
    assert PROTOCOL_METHODS == ["close", "load", "stream"]


@pytest.mark.parametrize("make", BACKENDS.values(), ids=BACKENDS.keys())
def test_every_backend_offers_every_method_of_the_protocol(make):
    backend = make()
    assert isinstance(backend.name, str)
    for name in PROTOCOL_METHODS:
        ours = inspect.signature(getattr(backend, name))
        promised = inspect.signature(getattr(Backend, name))
        assert list(ours.parameters) == list(promised.parameters)[1:], name


def test_a_server_backend_loads_and_closes_without_reaching_the_server():
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "some-model")
    backend.load()
    backend.close()
    assert backend.name == "some-model"


def test_closing_an_unloaded_transformers_backend_does_nothing():
    backend = TransformersBackend("/nonexistent/model", device="cpu", batch=4)
    backend.close()
    assert backend.scheduler is None
