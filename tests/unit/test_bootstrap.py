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


def test_a_gpu_setting_without_a_gpu_is_refused_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ModelUnavailable, match=r"STANCEWIRE_MODEL_DEVICE=cuda.*no CUDA device"):
        build_enricher(Settings(model_device="cuda", stance_model="off"))


def test_the_model_device_must_be_cpu_or_cuda() -> None:
    from pydantic import ValidationError

    for wrong in ("gpu", "cuda:x", "mps"):
        with pytest.raises(ValidationError):
            Settings(model_device=wrong)
    assert Settings(model_device="cuda:1").model_device == "cuda:1"


def test_int8_on_a_gpu_is_refused_before_any_model_loads() -> None:
    with pytest.raises(ModelUnavailable, match=r"int8 runs on the CPU only"):
        build_enricher(Settings(model_device="cuda", model_precision="int8"))
