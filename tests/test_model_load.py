"""Loading the bundled model prints nothing: transformers' load report is for real faults."""

from __future__ import annotations

import logging

import pytest

from stepdr.index.embed import SentenceEmbedder, _not_unused_weights


def test_the_bundled_model_loads_without_a_report(capfd: pytest.CaptureFixture[str]) -> None:
    SentenceEmbedder(device="cpu")
    err = capfd.readouterr().err
    assert "LOAD REPORT" not in err
    assert "position_ids" not in err


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord(
        "transformers.modeling_utils", logging.WARNING, "", 0, message, None, None
    )


def test_reports_of_missing_or_mismatched_weights_still_show() -> None:
    unused = "BertModel LOAD REPORT from: m\nembeddings.position_ids | UNEXPECTED"
    missing = "BertForSequenceClassification LOAD REPORT from: m\nclassifier.weight | MISSING"
    mismatch = "BertModel LOAD REPORT from: m\nencoder.layer.0 | MISMATCH"
    assert not _not_unused_weights(_record(unused))
    assert _not_unused_weights(_record(missing))
    assert _not_unused_weights(_record(mismatch))
    assert _not_unused_weights(_record("some other warning"))
