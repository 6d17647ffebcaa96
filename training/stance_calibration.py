"""Calibration of a trained stance model on the dev sets: temperature, the unrelated cut,
and each dev set scored in its own format."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from pipeline.stance import CrossEncoderScorer
from training.stance_corpus import DEV_FORMATS
from training.stance_data import StanceExample, score_predictions
from training.stance_eval import item_gold, predict_labels, score_items


def dev_logits(scorer: CrossEncoderScorer, examples: Sequence[StanceExample]) -> torch.Tensor:
    """Uncalibrated logits of the scorer's network on a list of examples."""
    return scorer.logits([ex.target for ex in examples], [ex.passage for ex in examples])


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature that minimises dev negative log-likelihood (Guo et al., 2017)."""
    log_temperature = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_temperature], lr=0.1, max_iter=200)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(logits / log_temperature.exp(), labels)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    return float(log_temperature.exp().item())


def tune_unrelated_threshold(probabilities: torch.Tensor, gold: Sequence[str]) -> float:
    """The unrelated-probability cut that maximises the FNC relative score on dev."""
    best_threshold, best_score = 0.5, -1.0
    for step in range(5, 100, 5):
        threshold = step / 100
        score = score_predictions("fnc1", gold, predict_labels("fnc1", probabilities, threshold))
        if score["fnc_relative_score"] > best_score:
            best_threshold, best_score = threshold, score["fnc_relative_score"]
    return best_threshold


def expected_calibration_error(
    probabilities: torch.Tensor, labels: torch.Tensor, bins: int = 10
) -> float:
    """Confidence-vs-accuracy gap, averaged over 10 equal-width confidence bins."""
    confidence, predicted = probabilities.max(dim=-1)
    correct = (predicted == labels).float()
    error = 0.0
    for low in range(bins):
        inside = (confidence > low / bins) & (confidence <= (low + 1) / bins)
        if inside.any():
            error += float(inside.float().mean()) * abs(
                float(correct[inside].mean()) - float(confidence[inside].mean())
            )
    return error


def calibrate_and_score(
    scorer: CrossEncoderScorer,
    dev: dict[str, list[StanceExample]],
    settings: dict[str, Any],
    log: Any,
) -> dict[str, Any]:
    """Fit the temperature (and the FNC unrelated cut) on all dev sets, record them in
    ``settings``, and score every dev set in its own format with the calibrated model."""
    raw_logits = {name: dev_logits(scorer, examples) for name, examples in dev.items()}
    log("dev logits done")
    all_logits = torch.cat(list(raw_logits.values()))
    all_labels = torch.tensor([ex.label for examples in dev.values() for ex in examples])
    settings["temperature"] = fit_temperature(all_logits, all_labels)
    dev_probabilities = {
        name: torch.softmax(values / settings["temperature"], dim=-1)
        for name, values in raw_logits.items()
    }
    if "fnc1" in dev:
        settings["unrelated_threshold"] = tune_unrelated_threshold(
            dev_probabilities["fnc1"], [ex.gold for ex in dev["fnc1"]]
        )
    scores: dict[str, Any] = {}
    for name, examples in dev.items():
        format_name = DEV_FORMATS[name]
        predicted = predict_labels(
            format_name, dev_probabilities[name], settings["unrelated_threshold"]
        )
        gold = item_gold(format_name, examples)
        scores[name] = score_items(format_name, gold, predicted)
        scores[name]["examples"] = len(gold)
    scores["calibration"] = {
        "temperature": settings["temperature"],
        "ece_before": expected_calibration_error(torch.softmax(all_logits, -1), all_labels),
        "ece_after": expected_calibration_error(
            torch.softmax(all_logits / settings["temperature"], -1), all_labels
        ),
    }
    return scores
