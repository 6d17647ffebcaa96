"""Boilerplate lines to inject into clean stories: the kinds the rules know, and unseen ones.

``INJECTIONS`` holds kinds the cleaner's phrase rules were written for (so scoring on them
measures the rules against themselves); ``UNSEEN_INJECTIONS`` holds kinds and languages
nothing in the cleaner was built on, for ``stancewire eval boilerplate --unseen``.
"""

from __future__ import annotations

import random
import re

from pipeline.cleaning.rules import AD_PLACEHOLDERS, BOILERPLATE_PHRASES, boilerplate_reason
from pipeline.cleaning.vocabulary import INTERFACE_WORDS

# What sites put around a story, by kind: (kind, where it goes, lines). "{n}" gets a number.
# Some kinds are in the cleaner's phrase list, others only structural signals can catch.
INJECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "ad",
        "inside",
        (
            "Reklam yükleniyor...",
            "Advertisement",
            "ADVERTISEMENT",
            "Anzeige",
            "Publicité",
            "Реклама",
            "Publicidad",
            "Sponsored content",
            "Werbung",
        ),
    ),
    (
        "loading",
        "inside",
        (
            "Loading...",
            "Cargando...",
            "Chargement…",
            "Загрузка...",
            "Video wird geladen...",
            "Loading video…",
        ),
    ),
    (
        "share",
        "edge",
        ("Share this article", "Share", "Tweet", "Share on Facebook", "Email this story", "Print"),
    ),
    (
        "newsletter",
        "end",
        (
            "Sign up for our daily newsletter",
            "Subscribe to our weekly briefing for more stories like this",
            "Get the newsletter: the best stories in your inbox every morning",
        ),
    ),
    (
        "cookies",
        "start",
        (
            "We use cookies to give you the best experience on our site.",
            "By continuing you accept our cookie policy",
        ),
    ),
    (
        "related",
        "end",
        (
            "Read more: Markets rally as oil falls",
            "Related: Election timetable set",
            "See also: How the vote works",
            "More on this story",
        ),
    ),
    (
        "links",
        "edge",
        (
            "Home | News | Business | Sport | Weather",
            "World • Politics • Economy • Culture",
            "https://news.example.com/live",
            "www.example.org/subscribe",
        ),
    ),
    (
        "credit",
        "inside",
        ("Photo: Reuters", "Image: Getty Images", "Picture credit: AFP", "Foto: dpa"),
    ),
    (
        "comments",
        "end",
        (
            "Comments you share on our site are a valuable resource for other users. Please be "
            "respectful of different opinions and other users.",
            "Please read our community guidelines before posting a comment.",
            "Avoid using rude, aggressive, derogatory, or discriminatory language.",
        ),
    ),
    (
        "copyright",
        "end",
        ("© 2026 Example Media Group", "Copyright 2026 Example News Ltd.", "All rights reserved."),
    ),
    # No rule knows these: only per-source learning can remove them, after a few articles.
    (
        "site-footer",
        "end",
        (
            "Find more of our coverage in the Evening Ledger app for iOS and Android",
            "The Evening Ledger newsroom takes tips around the clock on desk nine",
        ),
    ),
)


# Kinds and languages nothing in the cleaner was built on: no phrase rule names them, the
# classifier never trained on injected lines, and the languages (Polish, Swedish,
# Indonesian, Czech) have no entry in the interface vocabulary. ``check_unseen`` proves the
# first and last of these each run.
UNSEEN_LANGUAGES = ("pl", "sv", "id", "cs")
UNSEEN_INJECTIONS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "breadcrumb",
        "en",
        "start",
        ("Home > World > Europe", "News \u203a Politics \u203a Elections"),
    ),
    ("listen", "en", "start", ("Listen to this article • 4 min", "Listen · 6:32")),
    (
        "byline",
        "en",
        "start",
        ("By Maria Okafor, Political Correspondent", "Tom Haddad and Lena Kraus | Staff writers"),
    ),
    ("dateline", "en", "start", ("Published 14:05 GMT, 3 March 2026", "Last updated 2 hours ago")),
    ("agency-credit", "en", "inside", ("(AP Photo/Evan Marsh)", "Mark Lennox/AFP")),
    ("teaser", "en", "inside", ("Don't miss", "You may also like", "Trending now", "Most read")),
    (
        "share-bar",
        "en",
        "edge",
        ("Share on Facebook | Share on X | Copy link", "Facebook Twitter WhatsApp Email"),
    ),
    (
        "moderation",
        "en",
        "end",
        (
            "Comments are moderated and may take up to 24 hours to appear.",
            "This discussion is now closed for new replies.",
        ),
    ),
    (
        "paywall",
        "en",
        "end",
        ("You have 3 free articles left this month", "Already a subscriber? Log in"),
    ),
    ("app-prompt", "en", "end", ("Get breaking alerts on your phone with our free app",)),
    (
        "teaser",
        "pl",
        "inside",
        ("Czytaj także: Rząd przyjął nowy budżet", "Zobacz również", "Najczęściej czytane"),
    ),
    ("share-bar", "pl", "edge", ("Udostępnij", "Komentarze (12)")),
    ("teaser", "sv", "inside", ("Läs också: Regeringen presenterar budgeten", "Mest läst")),
    ("ad", "sv", "inside", ("Annons",)),
    ("paywall", "sv", "end", ("Prenumerera för att läsa vidare", "Dela artikeln")),
    ("teaser", "id", "inside", ("Baca juga: Harga beras naik lagi", "Berita terkait")),
    ("ad", "id", "inside", ("Iklan",)),
    ("share-bar", "id", "edge", ("Bagikan artikel ini", "Tulis komentar")),
    ("teaser", "cs", "inside", ("Přečtěte si také", "Nejčtenější")),
    ("ad", "cs", "inside", ("Inzerce",)),
    ("share-bar", "cs", "edge", ("Sdílet na Facebooku",)),
)

_PHRASE_REASONS = frozenset({"ad-placeholder", *(reason for reason, _ in BOILERPLATE_PHRASES)})
_WORD = re.compile(r"\w+")


def check_unseen() -> None:
    """Fail loudly if an unseen line is one a phrase rule names, or uses a held-out
    language's word that the interface vocabulary knows."""
    for kind, language, _, lines in UNSEEN_INJECTIONS:
        for line in lines:
            if boilerplate_reason(line) in _PHRASE_REASONS or line.casefold() in AD_PLACEHOLDERS:
                raise AssertionError(f"unseen {kind} line {line!r} is named by a phrase rule")
            known = {w for w in _WORD.findall(line.casefold()) if w in INTERFACE_WORDS}
            if language in UNSEEN_LANGUAGES and known:
                raise AssertionError(f"held-out {language} line {line!r} uses known {known}")


def inject_lines(
    paragraphs: list[str], rng: random.Random, *, unseen: bool = False
) -> list[tuple[str, str | None]]:
    """The story's paragraphs with 3 to 8 boilerplate lines mixed in, each tagged by kind.

    Kinds are tagged ``kind`` for ``INJECTIONS`` and ``kind/language`` for unseen ones.
    """
    catalogue = (
        [(f"{kind}/{language}", where, lines) for kind, language, where, lines in UNSEEN_INJECTIONS]
        if unseen
        else list(INJECTIONS)
    )
    lines: list[tuple[str, str | None]] = [(p, None) for p in paragraphs]
    for _ in range(rng.randint(3, 8)):
        kind, where, choices = rng.choice(catalogue)
        line = rng.choice(choices)
        if where == "start":
            position = 0
        elif where == "end":
            position = len(lines)
        elif where == "edge":
            position = rng.choice((0, len(lines)))
        else:
            position = rng.randint(1, max(1, len(lines) - 1))
        lines.insert(position, (line, kind))
    return lines
