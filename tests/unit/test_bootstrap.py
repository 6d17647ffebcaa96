"""Model settings: models can be turned off, and a model that cannot load says so clearly."""

from __future__ import annotations

import pytest

from agents.bootstrap import ModelUnavailable, build_enricher
from agents.settings import Settings
from schemas import Stage


def test_models_off_leaves_the_cleaning_stages_only() -> None:
    enricher = build_enricher(Settings(entity_model="off", stance_model="off"))
    assert enricher.stages == [Stage.DECODE, Stage.VALIDATE, Stage.CLEAN]
    assert enricher.models == {}


def test_a_model_that_cannot_be_found_names_the_setting_to_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match=r"'/nowhere/ner-model'.*STANCEWIRE_ENTITY_MODEL"):
        build_enricher(Settings(entity_model="/nowhere/ner-model", stance_model="off"))
