"""Who holds a view: the entity a sentence attributes its statement to."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from schemas import Entity, EntityType


@dataclass(frozen=True)
class StanceInput:
    """One cleaned article as the stance stage sees it."""

    text: str
    sentences: list[tuple[int, int]]
    entities: list[Entity] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    top_k_entities: int = 5


# Verbs that attribute the view in a sentence to whoever is their subject.
_REPORTING_VERB = re.compile(
    r"\b(?:said|says|say|stated|states|insisted|insists|criticized|criticised|criticizes|"
    r"characterized|characterised|characterizes|warned|warns|called|calls|argued|argues|"
    r"accused|accuses|told|declared|declares|dismissed|dismisses|denounced|denounces|"
    r"condemned|condemns|praised|praises|welcomed|welcomes|urged|urges|claimed|claims|"
    r"described|describes|rejected|rejects|announced|announces|added|noted|stressed|"
    r"vowed|pledged|slammed|blasted|hailed|backed|backs|supported|supports|opposed|opposes)\b",
    re.IGNORECASE,
)
# Text allowed between a subject and its verb: a title, a time, an apposition in commas.
_SUBJECT_GAP = re.compile(
    r"^[\s,]*(?:(?:on|in|at|last|this|also|again|later|earlier|"
    r"has|have|had|publicly|openly|repeatedly|\w+day|\w+ly)\s+)*[\s,]*$"
    r"|^\s*,[^,.;\"]{1,60},\s*$",
    re.IGNORECASE,
)
_MAX_GAP_CHARS = 70
# Speech verbs that may precede their subject ('"...," said Ivo Petrak'); after other
# verbs ("accused Ivo Petrak") the name is the object, not the holder.
_INVERTIBLE_VERB = frozenset(
    "said says stated states insisted insists warned warns argued argues declared declares "
    "claimed claims added noted stressed".split(" ")
)
# After an inverted verb ('", said Trade Minister Ivo Petrak') only a title may intervene.
_TITLE_GAP = re.compile(r"^\s+(?:[A-Z][\w.'-]*\s+){0,4}$")
_ACCORDING_TO = re.compile(r"\baccording to\s+", re.IGNORECASE)
_HOLDER_TYPES = frozenset({EntityType.PER, EntityType.ORG})


def find_holder(article: StanceInput, start: int, end: int) -> str | None:
    """The PER/ORG entity that is the subject of a reporting verb in ``text[start:end]``.

    "Lavrov characterized ..." (subject before the verb, maybe with a time or title in
    between) and "..., said Lavrov" (inverted) both count; the entity's canonical name is
    returned so every mention form maps to one holder.
    """
    mentions = sorted(
        (mention.start, mention.end, entity.name)
        for entity in article.entities
        if entity.type in _HOLDER_TYPES
        for mention in entity.mentions
        if start <= mention.start and mention.end <= end
    )
    if not mentions:
        return None
    sentence = article.text[start:end]
    for verb in _REPORTING_VERB.finditer(sentence):
        verb_start, verb_end = start + verb.start(), start + verb.end()
        before = [m for m in mentions if m[1] <= verb_start and verb_start - m[1] <= _MAX_GAP_CHARS]
        if before:
            mention_end, name = before[-1][1], before[-1][2]
            if _SUBJECT_GAP.match(article.text[mention_end:verb_start]):
                return name
        if verb.group(0).lower() not in _INVERTIBLE_VERB:
            continue
        after = [m for m in mentions if m[0] >= verb_end]
        if after and _TITLE_GAP.match(article.text[verb_end : after[0][0]]):
            return after[0][2]
    for source in _ACCORDING_TO.finditer(sentence):
        after = [m for m in mentions if m[0] >= start + source.end()]
        if after and _TITLE_GAP.match(" " + article.text[start + source.end() : after[0][0]]):
            return after[0][2]
    return None
