"""Language identification with lingua, whose n-gram models ship inside the PyPI package."""

from __future__ import annotations

from dataclasses import dataclass

from lingua import LanguageDetector, LanguageDetectorBuilder

# Identification needs a few sentences, not the whole article; this bounds its cost.
SAMPLE_CHARS = 600


@dataclass(frozen=True)
class LanguageGuess:
    code: str  # ISO 639-1
    confidence: float


class LanguageIdentifier:
    """Names the language of a text; built once, as it loads n-gram tables."""

    def __init__(self, detector: LanguageDetector) -> None:
        self._detector = detector

    def identify(self, text: str) -> LanguageGuess | None:
        """The most likely language and its confidence, or None for text with no letters."""
        sample = text[:SAMPLE_CHARS]
        if not any(ch.isalpha() for ch in sample):
            return None
        values = self._detector.compute_language_confidence_values(sample)
        if not values:
            return None
        best = values[0]
        return LanguageGuess(
            code=best.language.iso_code_639_1.name.lower(), confidence=round(best.value, 4)
        )


def load_language_identifier() -> LanguageIdentifier:
    """All of lingua's 75 languages in its low-accuracy (trigram) mode: ~90 MB, ~1 s to load."""
    detector = (
        LanguageDetectorBuilder.from_all_languages()
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )
    return LanguageIdentifier(detector)
