"""The command line of stance training: its options, each data-set option checked against
the known data sets."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from training.stance_corpus import SOURCES


def _source_value(kind: type[int] | type[float]) -> Any:
    """An argparse type for ``SOURCE=VALUE`` options, checked against the known data sets."""

    def parse(text: str) -> tuple[str, int | float]:
        source, separator, value = text.partition("=")
        if not separator or source not in SOURCES:
            raise argparse.ArgumentTypeError(f"{text!r}: expected SOURCE=VALUE, one of {SOURCES}")
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: {value!r} is not a number") from None
        if number <= 0:
            raise argparse.ArgumentTypeError(f"{text!r}: the value must be positive")
        return source, number

    return parse


def stance_parser(description: str | None) -> argparse.ArgumentParser:
    """The options of ``python -m training.stance_training``."""
    parser = argparse.ArgumentParser(
        prog="python -m training.stance_training", description=description
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train, calibrate and write a stance model")
    train.add_argument(
        "--data", type=Path, required=True, help="folder with fnc1/, arc/, pstance/, ..."
    )
    train.add_argument("--out", type=Path, required=True)
    train.add_argument("--epochs", type=int, default=1)
    train.add_argument("--seed", type=int, default=13)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--learning-rate", type=float, default=1.5e-4)
    train.add_argument(
        "--frozen-layers",
        type=int,
        default=None,
        help="lower layers left as in the backbone (default 3; with --init, the model's)",
    )
    train.add_argument("--unrelated-share", type=float, default=0.15)
    train.add_argument(
        "--repeat",
        action="append",
        type=_source_value(int),
        metavar="SOURCE=N",
        help="show SOURCE's examples N times an epoch (default semeval2016=2)",
    )
    train.add_argument(
        "--keep",
        action="append",
        type=_source_value(float),
        metavar="SOURCE=SHARE",
        help="keep a seeded share (0..1] of SOURCE's training examples (default 1)",
    )
    train.add_argument("--init", type=Path, default=None, help="continue from this model")
    train.add_argument("--limit", type=int, default=None, help="seeded sample size, for smoke runs")
    train.add_argument("--dev-limit", type=int, default=None, help="seeded dev sample size")
    train.add_argument("--threads", type=int, default=None)
    train.add_argument(
        "--source-labels",
        action="store_true",
        help="loss over the labels each data set has only (P-Stance: favor/against)",
    )
    train.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: cuda if any)")
    train.add_argument(
        "--split-hashtags",
        action="store_true",
        help="read #RunTogetherWords as words, in training and whenever the model is used",
    )
    train.add_argument(
        "--ema", type=float, default=None, metavar="DECAY", help="ship a moving average of weights"
    )
    train.add_argument(
        "--adapt-epochs",
        type=int,
        default=0,
        help="epochs of masked-word prediction on the training passages first (needs "
        "--frozen-layers 0)",
    )
    train.add_argument(
        "--hold-layers",
        type=int,
        default=None,
        help="with --init: keep the model's lower N layers fixed in this run (cached: cheaper "
        "epochs); they still ship",
    )
    train.add_argument("--head-learning-rate", type=float, default=1e-3)
    train.add_argument(
        "--bf16",
        action="store_true",
        help="bf16 arithmetic over fp32 weights in training, dev scored in bf16",
    )
    train.add_argument("--json", action="store_true")
    return parser
