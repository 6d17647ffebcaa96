"""The pipeline's exceptions; each names the stage that failed so it can be dead-lettered."""

from __future__ import annotations

from schemas import Stage


class PipelineError(Exception):
    """Base of every error the pipeline raises about one article."""

    stage: Stage = Stage.VALIDATE
    # The id the article claims, when it got far enough to have one: traces dead letters.
    article_id: str | None = None

    @property
    def error_type(self) -> str:
        return type(self).__name__


class PayloadTooLarge(PipelineError):
    stage = Stage.DECODE


class InvalidEncoding(PipelineError):
    stage = Stage.DECODE


class InvalidJson(PipelineError):
    stage = Stage.DECODE


class SchemaViolation(PipelineError):
    stage = Stage.VALIDATE


class EmptyArticle(PipelineError):
    stage = Stage.CLEAN


class RecordTooLarge(PipelineError):
    """A result too large for the output topic's message limit."""

    stage = Stage.PUBLISH


class StageFailed(PipelineError):
    """A stage raised something unexpected; ``stage`` is set per instance."""

    def __init__(self, stage: Stage, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.stage = stage
        self.cause_type = type(cause).__name__

    @property
    def error_type(self) -> str:
        return self.cause_type
