"""Assembles the pipeline from settings: the one place that decides which models run."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, cast

from agents.settings import Settings
from pipeline.breaker import ModelBreaker
from pipeline.cleaning.fingerprints import RecentFingerprints
from pipeline.cleaning.language import load_language_identifier
from pipeline.cleaning.memory import LineMemory
from pipeline.enrichment import Enricher
from schemas import EntityType

if TYPE_CHECKING:  # the model modules import torch: load them only when a model is on
    from pipeline.entities.stage import EntityStageAdapter
    from pipeline.stance.stage import StanceStageAdapter

# The shipped models were trained on English data only; a user's model runs on every
# article (None: no language restriction).
SHIPPED_LANGUAGES = frozenset({"en"})


# `stancewire --verbose` sets it, for the commands and the worker processes they start.
VERBOSE_VARIABLE = "STANCEWIRE_VERBOSE"


class _ModelStage(Protocol):
    """What the start-up line reads from a loaded model stage."""

    model_name: str

    @property
    def network(self) -> Any: ...


Stage = TypeVar("Stage", bound=_ModelStage)


class ModelUnavailable(Exception):
    """A configured model cannot be loaded; the message says which and how to fix it."""


def weights_mb(network: Any) -> float:
    """Megabytes of the weights of a torch module (each tensor counted once: tied
    embeddings share their storage)."""
    seen: set[int] = set()
    total = 0
    for tensor in [*network.parameters(), *network.buffers()]:
        if tensor.data_ptr() not in seen:
            seen.add(tensor.data_ptr())
            total += tensor.numel() * tensor.element_size()
    return total / 1e6


def announced(
    kind: str, model: str, load: Callable[[], Stage | None], settings: Settings
) -> Stage | None:
    """Load one model quietly and say so in one line: its name, weights and seconds.

    A model that is off imports nothing: torch alone would add hundreds of MB to a worker.
    """
    if model == "off":
        return None
    started = time.perf_counter()
    from pipeline.kernels.backbone import quiet_model_load, show_load_reports

    show_load_reports(bool(os.environ.get(VERBOSE_VARIABLE)))
    with quiet_model_load():
        stage = load()
    if stage is None:
        return None
    from pipeline.kernels.precision import resolve_precision

    precision = resolve_precision(settings.model_precision, settings.model_device)
    name = stage.model_name
    print(
        f"stancewire: {kind} model {name} loaded ({weights_mb(stage.network):.1f} MB of weights, "
        f"{precision}) "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return stage


def build_enricher(settings: Settings, *, memory: LineMemory | None = None) -> Enricher:
    """The enricher the worker and the offline commands use, models loaded once here.

    Without a ``memory`` (the worker passes one backed by a compacted topic), per-source line
    counts are kept in this process only.
    """
    if memory is None:
        memory = LineMemory({}, threshold=settings.boilerplate_threshold)
    recent = (
        RecentFingerprints(window=settings.duplicate_window) if settings.duplicate_window else None
    )
    if settings.torch_threads and (
        settings.entity_model != "off" or settings.stance_model != "off"
    ):
        import torch

        torch.set_num_threads(settings.torch_threads)
    if settings.model_device != "cpu" and (
        settings.entity_model != "off" or settings.stance_model != "off"
    ):
        _check_device(settings.model_device, settings.model_precision)
    return Enricher(
        max_payload_bytes=settings.max_payload_bytes,
        model_max_chars=settings.model_max_chars or None,
        languages=load_language_identifier(),
        recent=recent,
        memory=memory,
        entities=announced(
            "entity", settings.entity_model, lambda: _entity_stage(settings), settings
        ),
        stance=announced(
            "stance", settings.stance_model, lambda: _stance_stage(settings), settings
        ),
        breaker=ModelBreaker(settings.breaker_failures),
    )


def _check_device(device: str, precision: str) -> None:
    import torch

    if precision == "int8":
        raise ModelUnavailable(
            f"STANCEWIRE_MODEL_PRECISION=int8 runs on the CPU only, and "
            f"STANCEWIRE_MODEL_DEVICE={device}; use bf16 or fp32 on a GPU."
        )
    if not torch.cuda.is_available():
        raise ModelUnavailable(
            f"STANCEWIRE_MODEL_DEVICE={device} but torch sees no CUDA device here; "
            "use 'cpu' or run the worker on a machine with a GPU."
        )
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise ModelUnavailable(
            f"STANCEWIRE_MODEL_DEVICE={device} but only {torch.cuda.device_count()} "
            "CUDA device(s) are visible."
        )


def _entity_stage(settings: Settings) -> EntityStageAdapter | None:
    if settings.entity_model == "off":
        return None
    from pipeline.entities import load_entity_tagger
    from pipeline.entities.stage import EntityStageAdapter

    shipped = settings.entity_model == "shipped"
    try:
        tagger = load_entity_tagger(
            None if shipped else settings.entity_model,
            device=settings.model_device,
            precision=settings.model_precision,
            attention=settings.model_attention,
        )
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(
            f"cannot load the entity model {settings.entity_model!r}: {exc}. Set "
            "STANCEWIRE_ENTITY_MODEL to a model folder or name, or 'off'."
        ) from exc
    return EntityStageAdapter(tagger, languages=SHIPPED_LANGUAGES if shipped else None)


def _stance_stage(settings: Settings) -> StanceStageAdapter | None:
    if settings.stance_model == "off":
        return None
    from pipeline.stance import load_stance_classifier
    from pipeline.stance.stage import StanceStageAdapter

    shipped = settings.stance_model == "shipped"
    backend = cast(Literal["crossencoder", "nli"], settings.stance_backend)
    try:
        classifier = load_stance_classifier(
            None if shipped else settings.stance_model,
            backend=backend,
            device=settings.model_device,
            precision=settings.model_precision,
            max_evidence=settings.stance_max_evidence or None,
            attention=settings.model_attention,
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelUnavailable(
            f"cannot load the stance model {settings.stance_model!r}: {exc}. Set "
            "STANCEWIRE_STANCE_MODEL to a model folder or name, or 'off'."
        ) from exc
    return StanceStageAdapter(
        classifier,
        topics=[topic.strip() for topic in settings.topics.split(";") if topic.strip()],
        top_k_entities=settings.top_k_entities,
        target_types=frozenset(
            EntityType(kind.strip()) for kind in settings.target_entity_types.split(",")
        ),
        languages=SHIPPED_LANGUAGES if shipped else None,
    )
