"""A circuit breaker for the model stages: opens when a model fails on article after article.

One article that breaks a model is dead-lettered and the stream goes on. A model that
fails on everything (a broken install, an exhausted GPU, corrupt weights) would instead
dead-letter all traffic while the worker looks healthy. The breaker tells the two apart
by counting the articles a model stage failed on in a row: any success resets the count,
and at ``max_failures`` the breaker opens and says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.errors import PipelineError
from schemas import Stage

DEFAULT_MAX_FAILURES = 32


@dataclass
class ModelBreaker:
    """Consecutive model failures per stage; ``reason`` is set once it has opened."""

    max_failures: int = DEFAULT_MAX_FAILURES
    in_a_row: dict[Stage, int] = field(default_factory=dict)
    reason: str | None = None
    stage: Stage | None = None  # of the model that opened it
    error_type: str | None = None  # of its last failure

    @property
    def open(self) -> bool:
        return self.reason is not None

    def succeeded(self, stage: Stage, articles: int = 1) -> None:
        if articles > 0:
            self.in_a_row[stage] = 0

    def failed(self, stage: Stage, error: PipelineError) -> None:
        count = self.in_a_row[stage] = self.in_a_row.get(stage, 0) + 1
        if count >= self.max_failures and self.reason is None:
            self.stage, self.error_type = stage, error.error_type
            self.reason = (
                f"the {stage.value} model failed on {count} articles in a row, the last with "
                f"{error}"
            )
