"""Phrase rules: lines that announce themselves as ads, prompts, credits or menus, by reason.

The rules are precise and narrow: they name the furniture they were written for. The line
classifier reads their verdicts as features and decides the rest from the line's shape and
neighbours; a line a rule names is removed with the rule's reason.
"""

from __future__ import annotations

import re

from pipeline.cleaning.text import SENTENCE_END

# Whole-line placeholders that sites leave where an ad or widget loads, in many languages.
# Matched against the case-folded line with trailing dots and ellipses stripped.
AD_PLACEHOLDERS = frozenset(
    {
        "reklam yükleniyor",
        "reklam",
        "advertisement",
        "advertising",
        "ad loading",
        "loading ad",
        "sponsored",
        "sponsored content",
        "anzeige",
        "werbung",
        "publicité",
        "publicidad",
        "anuncio",
        "pubblicità",
        "advertentie",
        "reklama",
        "реклама",
        "реклама загружается",
        "إعلان",
        "广告",
        "広告",
    }
)

# Phrases that mark a line as site furniture rather than story, with the reason reported.
BOILERPLATE_PHRASES: tuple[tuple[str, str], ...] = (
    ("comment-policy", r"\bcomments? (you share|policy|section)\b"),
    ("comment-policy", r"\b(be respectful|community (guidelines|standards))\b"),
    ("comment-policy", r"\b(rude|abusive|derogatory|offensive) (or|,)"),
    ("comment-policy", r"\bavoid using (rude|offensive|abusive)\b"),
    ("share-prompt", r"^(share|tweet|email|print)( this( article| story)?)?( on \w+)?$"),
    ("share-prompt", r"\b(share this (article|story)|follow us on)\b"),
    ("newsletter-prompt", r"\b(subscribe to|sign up (for|to) (our|the)|newsletter)\b"),
    ("cookie-notice", r"\b(we use cookies|cookie (policy|settings)|accept (all )?cookies)\b"),
    (
        "related-links",
        r"^(read more|related( articles| stories| coverage)?|see also|more on this)\b",
    ),
    ("photo-credit", r"^(photo|image|picture|credit|foto)s?( credit)?\s*[:|]"),
    ("photo-credit", r"\((photo|image)[^)]*\)$|\b(getty images|reuters/|afp via getty)\b"),
    ("copyright", r"^(©|copyright\b|all rights reserved)"),
    ("tags", r"^(tags|topics|filed under|related topics)\s*:"),
)
_PHRASE_REACH = 40  # characters from the line start within which a phrase must begin
_PHRASE_WORDS = 60  # longer lines are prose, whatever phrases they contain
_BOILERPLATE_RES = tuple((reason, re.compile(pattern)) for reason, pattern in BOILERPLATE_PHRASES)

_TRAILING_DOTS = re.compile(r"[\s.…·]+$")
# Structural signals that need no phrase list, so they work in any language.
_PLACEHOLDER = re.compile(r"^\S+(\s\S+){0,3}\s?(\.{3}|\u2026)$")  # "Загрузка...", "Cargando…"
_LINK_ONLY = re.compile(r"^(https?://|www\.)\S+$|^\S+@\S+\.\w+$")
_SEPARATORS = re.compile(r"\s[|\u2022\u00b7\u00bb/]\s")


def boilerplate_reason(line: str) -> str | None:
    """Why a line is site furniture, or None when it may be story."""
    folded = line.casefold()
    if _TRAILING_DOTS.sub("", folded) in AD_PLACEHOLDERS:
        return "ad-placeholder"
    for reason, pattern in _BOILERPLATE_RES:
        match = pattern.search(folded)
        # Furniture announces itself up front; the same words deep in a sentence are story.
        if match and match.start() <= _PHRASE_REACH and len(folded.split()) <= _PHRASE_WORDS:
            return reason
    if _PLACEHOLDER.match(line):
        return "loading-placeholder"
    if _LINK_ONLY.match(line):
        return "bare-link"
    # Table rows ("| a | b |") are content; separator-heavy lines otherwise are menus.
    if (
        not line.startswith("|")
        and len(_SEPARATORS.findall(line)) >= 3
        and not SENTENCE_END.search(line)
    ):
        return "link-list"
    return None
