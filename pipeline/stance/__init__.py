"""The stance stage: targets, evidence, holders, aggregation, the scorer and its network."""

from pipeline.stance.classifier import StanceClassifier, load_stance_classifier
from pipeline.stance.holders import StanceInput, find_holder
from pipeline.stance.network import (
    BACKBONE_PACKAGE,
    CONFIG_FILE,
    SHIPPED_MODEL_DIR,
    WEIGHTS_FILE,
    StanceModelError,
    StanceNetwork,
    load_backbone,
    save_stance_model,
    split_hashtags,
)
from pipeline.stance.scorer import (
    PAIR_INPUTS,
    PAIR_MAX_LENGTH,
    CrossEncoderScorer,
    NliScorer,
    StanceScorer,
    encode_pairs,
)
from pipeline.stance.targets import select_targets

__all__ = [
    "BACKBONE_PACKAGE",
    "CONFIG_FILE",
    "PAIR_INPUTS",
    "PAIR_MAX_LENGTH",
    "SHIPPED_MODEL_DIR",
    "WEIGHTS_FILE",
    "CrossEncoderScorer",
    "NliScorer",
    "StanceClassifier",
    "StanceInput",
    "StanceModelError",
    "StanceNetwork",
    "StanceScorer",
    "encode_pairs",
    "find_holder",
    "load_backbone",
    "load_stance_classifier",
    "save_stance_model",
    "select_targets",
    "split_hashtags",
]
