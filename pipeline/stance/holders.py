"""Who holds a view: the person or organisation a sentence attributes its statement to.

Attribution forms read (``Holder.via``):

- ``subject``: a reporting verb with the holder as its subject, "Lavrov warned ...",
  "Lavrov on Sunday also said ...", ", Foreign Minister Pavel Orlik said." (a time, an
  adverb, an auxiliary or an apposition in commas may come between);
- ``inverted``: a speech verb before its subject, '"...," said Pavel Orlik';
- ``according``: "according to Pavel Orlik";
- ``participle``: a participle clause hanging off the sentence's subject, "Lavrov also
  addressed ..., characterizing X as a mistake".

The holder itself may be named (``anchor`` ``name``: an entity mention), a pronoun
subject (``pronoun``: "He said" -> the most recent person holding a view or acting as a
subject in the previous sentences) or a description (``description``: "the Russian foreign
minister" -> the person earlier introduced with those words around a mention, "Russian
Foreign Minister Sergey Lavrov"). The holder is the entity's canonical name, so every form
maps to one holder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from schemas import Entity, EntityType

DEFAULT_TARGET_TYPES = frozenset({EntityType.PER, EntityType.ORG, EntityType.LOC})


@dataclass(frozen=True)
class StanceInput:
    """One cleaned article as the stance stage sees it."""

    text: str
    sentences: list[tuple[int, int]]
    entities: list[Entity] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    top_k_entities: int = 5
    # Entity types that can be stance targets: people, organisations and places act or are
    # acted on; a MISC name is mostly a nationality adjective ("Russian") or an event.
    target_types: frozenset[EntityType] = DEFAULT_TARGET_TYPES


@dataclass(frozen=True)
class Holder:
    """The holder of a sentence's view and the words that name it there."""

    name: str  # the entity's canonical name
    start: int  # the span naming the holder in this sentence (mention, pronoun,
    end: int  # description); -1 where the sentence is a quotation attributed elsewhere
    anchor: str  # "name", "pronoun" or "description"
    via: str  # "subject", "inverted", "according" or "participle"


def _forms(words: str) -> str:
    return "|".join(sorted(set(words.split()), key=len, reverse=True))


# Verbs that attribute the view in a sentence to whoever is their subject.
_REPORTING_WORDS = (
    # base, third person and past forms of verbs that are not also common nouns
    "say says said tell tells told state states stated insist insists insisted criticize "
    "criticizes criticized criticise criticises criticised characterize characterizes "
    "characterized characterise characterised warn warns warned argue argues argued accuse "
    "accuses accused declare declares declared dismiss dismisses dismissed denounce denounces "
    "denounced condemn condemns condemned urge urges urged describe describes described "
    "reject rejects rejected announce announces announced add adds added stressed slam "
    "slams slammed blast blasts blasted hail hails hailed oppose opposes opposed reiterate "
    "reiterates reiterated confirm confirms confirmed reveal reveals revealed disclose "
    "discloses disclosed emphasize emphasizes emphasized emphasise emphasises emphasised "
    "defend defends defended explain explains explained write writes wrote suggest suggests "
    "suggested predict predicts predicted acknowledge acknowledges acknowledged admit admits "
    "admitted concede concedes conceded maintain maintains maintained assert asserts asserted "
    "contend contends contended allege alleges alleged complain complains complained "
    "threatened promised questioned responded replied countered observe observes observed "
    "reported believe believes believed think thinks thought agree agrees agreed deny denies "
    "denied recall recalls recalled indicate indicates indicated mentioned testify testifies "
    "testified lament laments lamented ask asks asked applaud applauds applauded endorse "
    "endorses endorsed repeat repeats repeated reference references referenced cite cites "
    "cited highlight highlights highlighted point points pointed "
    # past forms only: the base and -s forms are also nouns ("a call", "NATO support")
    "called claimed noted vowed pledged praised welcomed backed supported charged demanded "
    "tweeted blamed attacked praises welcomes backs"
)
_REPORTING_VERB = re.compile(rf"\b(?:{_forms(_REPORTING_WORDS)})\b", re.IGNORECASE)
# Text allowed between a subject and its verb: a time, an adverb, an auxiliary, or an
# apposition in commas.
_SUBJECT_GAP = re.compile(
    r"^[\s,]*(?:(?:on|in|at|last|this|also|again|later|earlier|then|has|have|had|would|will|"
    r"could|did|does|do|not|never|once|now|still|already|just|even|first|publicly|openly|"
    r"repeatedly|\w+day|\w+ly)\s+)*[\s,]*$"
    r"|^\s*,[^,.;\"]{1,60},\s*(?:(?:also|has|had|have|later|then|\w+ly)\s+)*$",
    re.IGNORECASE,
)
_MAX_GAP_CHARS = 70
# Speech verbs that may precede their subject ('"...," said Ivo Petrak'); after other
# verbs ("accused Ivo Petrak") the name is the object, not the holder.
_INVERTIBLE_VERB = frozenset(
    "said says stated states insisted insists warned warns argued argues declared declares "
    "claimed claims added adds noted notes stressed stresses wrote writes asked asks explained "
    "replied told tweeted continued".split()
)
# After an inverted verb ('", said Trade Minister Ivo Petrak') only a title may intervene.
_TITLE_GAP = re.compile(r"^\s+(?:the\s+)?(?:[A-Z][\w.'-]*\s+){0,4}$")
_BEFORE_INVERSION = re.compile("[,\"\u201d'\u2019]\\s*$")
_ACCORDING_TO = re.compile(r"\baccording to\s+", re.IGNORECASE)
# A participle clause after a comma: ", characterizing X as ...", ", insisting that ...".
_PARTICIPLE = re.compile(
    r",\s+(?:and\s+)?(?:characterizing|characterising|insisting|saying|calling|warning|arguing|"
    r"describing|accusing|adding|noting|urging|claiming|stressing|praising|welcoming|"
    r"criticizing|criticising|blasting|slamming|dismissing|rejecting|denouncing|condemning|"
    r"vowing|pledging|demanding|suggesting|telling|asserting|declaring|emphasizing|"
    r"emphasising|citing|blaming|questioning|defending|labelling|labeling|branding|"
    r"promising|threatening|hailing|backing)\b",
    re.IGNORECASE,
)
# What may open a sentence before its subject: a short lead-in phrase ending in a comma
# ("On Sunday, ") and title words ("Foreign Minister ").
_SUBJECT_LEAD = re.compile(r"^(?:[^,.;\"]{1,60},\s+)?(?:[A-Z][\w.'-]*\s+){0,5}$")
_PRONOUN = re.compile(r"\b(?:he|she)\b", re.IGNORECASE)
# "the" and up to four words: a description that may name a person introduced earlier.
_DESCRIPTION = re.compile(r"\bthe((?:\s+[A-Za-z][\w'-]*){1,4})", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][\w'-]*")
_DESCRIPTION_STOP = frozenset(
    "the a an of and or but in on at to for from with by as that which who whose said says "
    "has have had is was are were be been also will would".split()
)
_CONTEXT_WORDS = 6  # words before a mention (its title) and of an apposition after it
_PRONOUN_LOOKBACK = 4  # sentences searched back for a pronoun's person
_HOLDER_TYPES = frozenset({EntityType.PER, EntityType.ORG})


@dataclass(frozen=True)
class _Anchor:
    start: int
    end: int
    name: str
    anchor: str


class _Article:
    """The article's holder mentions, and the words that introduced each person."""

    def __init__(self, article: StanceInput) -> None:
        self.text = article.text
        self.types = {entity.name: entity.type for entity in article.entities}
        self.mentions = sorted(
            (mention.start, mention.end, entity.name)
            for entity in article.entities
            if entity.type in _HOLDER_TYPES
            for mention in entity.mentions
        )

    def context(self, before: int) -> list[tuple[int, str, set[str]]]:
        """Each PER/ORG mention ending before ``before``: its end, name and context words
        (lower-cased words before it in its sentence and of an apposition after it)."""
        found: list[tuple[int, str, set[str]]] = []
        for start, end, name in self.mentions:
            if end > before:
                break
            lead = self.text[max(0, start - 80) : start]
            lead = re.split(r"[.;:!?\"\n]", lead)[-1]
            words = [w.lower() for w in _WORD.findall(lead)][-_CONTEXT_WORDS:]
            tail = self.text[end : end + 80]
            if tail.startswith(","):
                apposition = re.split(r"[,.;:!?\"\n]", tail[1:])[0]
                words += [w.lower() for w in _WORD.findall(apposition)][:_CONTEXT_WORDS]
            found.append((end, name, set(words)))
        return found


@dataclass(frozen=True)
class Attributions:
    """Each sentence's holder (or None) and the holders of its later clauses, in order
    ("Stoltenberg urged Russia to ..., while Eide said the door to Moscow stays open")."""

    sentences: list[Holder | None]
    clauses: list[list[Holder]]

    def at(self, sentence: int, offset: int) -> Holder | None:
        """Who holds the view on what stands at ``offset`` in sentence ``sentence``."""
        return holder_at(self.sentences[sentence], self.clauses[sentence], offset)


def attribute(article: StanceInput) -> Attributions:
    """The holders of ``article``'s sentences and of their later clauses, in one pass."""
    facts = _Article(article)
    holders: list[Holder | None] = []
    clauses: list[list[Holder]] = []
    persons: list[str | None] = []  # per sentence: the person holding a view or the subject
    for start, end in article.sentences:
        anchors = _anchors(facts, start, end, persons)
        holder = _sentence_holder(facts, start, end, persons, anchors)
        holders.append(holder)
        clauses.append(_later_clauses(facts, start, end, anchors, holder))
        named = [a.name for a in (holder, _subject(facts, start, end, persons, anchors)) if a]
        persons.append(next((n for n in named if facts.types.get(n) is EntityType.PER), None))
    _carry_through_quotes(article, holders)
    return Attributions(holders, clauses)


def find_holders(article: StanceInput) -> list[Holder | None]:
    """The holder of each sentence of ``article`` (None where none is found), in order."""
    return attribute(article).sentences


def find_clause_holders(article: StanceInput) -> list[list[Holder]]:
    """For each sentence, the holders of its later clauses (``Attributions.clauses``)."""
    return attribute(article).clauses


_QUOTE = re.compile('["\u201c\u201d]')


def _carry_through_quotes(article: StanceInput, holders: list[Holder | None]) -> None:
    """A quotation running over several sentences is held by whoever the sentence that
    closes it (or, for a quoted sentence right after an attributed quote, the one before
    it) attributes it to: '"The plan is dead. We will not sign it," Orlik said.'"""
    inside: list[int] = []
    for index, (start, end) in enumerate(article.sentences):
        quotes = len(_QUOTE.findall(article.text, start, end))
        if inside:
            inside.append(index)
            if quotes % 2 == 1:  # the quotation closes here
                holder = holders[index]
                for earlier in inside[:-1]:
                    if holders[earlier] is None and holder is not None:
                        holders[earlier] = replace(holder, start=-1, end=-1)
                inside = []
            continue
        previous = holders[index - 1] if index > 0 else None
        if quotes % 2 == 1:
            inside = [index]
        elif (
            holders[index] is None
            and previous is not None
            and article.text[start] in '"\u201c'
            and article.text[end - 1] in '"\u201d.!?'
            and quotes >= 2
            and _QUOTE.search(article.text, *article.sentences[index - 1])
        ):
            holders[index] = replace(previous, start=-1, end=-1)


def _later_clauses(
    facts: _Article, start: int, end: int, anchors: list[_Anchor], holder: Holder | None
) -> list[Holder]:
    """Each subject attribution of ``text[start:end]`` after its holder's, in order."""
    first = holder.start if holder is not None else -1
    later: list[Holder] = []
    for verb in _REPORTING_VERB.finditer(facts.text, start, end):
        before = [
            a for a in anchors if a.end <= verb.start() and verb.start() - a.end <= _MAX_GAP_CHARS
        ]
        if (
            before
            and before[-1].start > first
            and _SUBJECT_GAP.match(facts.text[before[-1].end : verb.start()])
            and (not later or before[-1].start > later[-1].start)
        ):
            later.append(_holder(before[-1], "subject"))
    return later


def holder_at(holder: Holder | None, later: list[Holder], offset: int) -> Holder | None:
    """Who holds the view on what stands at ``offset`` in a sentence: the holder of the
    last clause opened before it (or by it: a clause's own subject), else the sentence's."""
    for clause in reversed(later):
        if clause.start <= offset:
            return clause
    return holder


def find_holder(article: StanceInput, start: int, end: int) -> str | None:
    """The canonical name of the holder of the sentence ``text[start:end]`` (see the
    module's docstring for the forms read); pronouns and descriptions resolve to people
    of the article's earlier sentences when ``(start, end)`` is one of its sentences."""
    if (start, end) in article.sentences:
        holder = find_holders(article)[article.sentences.index((start, end))]
    else:
        facts = _Article(article)
        holder = _sentence_holder(facts, start, end, [], _anchors(facts, start, end, []))
    return None if holder is None else holder.name


def _anchors(facts: _Article, start: int, end: int, persons: list[str | None]) -> list[_Anchor]:
    """Everything in ``text[start:end]`` that may name a holder, in text order."""
    anchors = [
        _Anchor(m_start, m_end, name, "name")
        for m_start, m_end, name in facts.mentions
        if start <= m_start and m_end <= end
    ]
    recent = next((name for name in reversed(persons[-_PRONOUN_LOOKBACK:]) if name), None)
    sentence = facts.text[start:end]
    if recent is not None:
        for pronoun in _PRONOUN.finditer(sentence):
            anchors.append(
                _Anchor(start + pronoun.start(), start + pronoun.end(), recent, "pronoun")
            )
    for description in _DESCRIPTION.finditer(sentence):
        anchor = _description(facts, start + description.start(), start + description.end())
        if anchor is not None:
            anchors.append(anchor)
    return sorted(anchors, key=lambda anchor: (anchor.start, -anchor.end))


def _description(facts: _Article, start: int, end: int) -> _Anchor | None:
    """ "the Russian foreign minister" -> the person whose title or apposition, before this
    point, holds the description's last word (and most of its other words). The last word
    must end the noun phrase: a stop word, a verb ("reiterated") or the text follows."""
    words: list[tuple[int, int, str]] = []
    for word in _WORD.finditer(facts.text, start, end):
        lowered = word.group(0).lower()
        if words and lowered in _DESCRIPTION_STOP:
            break
        if any(
            m_start < word.end() and word.start() < m_end for m_start, m_end, _ in facts.mentions
        ):
            break  # a description stops before a name: "the Kremlin spokesman Dmitry Peskov"
        words.append((word.start(), word.end(), lowered))
    words = words[1:]  # "the"
    contexts = [
        (position, name, context)
        for position, name, context in facts.context(start)
        if facts.types.get(name) is EntityType.PER
    ]
    for size in range(len(words), 0, -1):
        head = words[size - 1][2]
        if not facts.text[words[size - 1][0]].islower() or len(head) < 3:
            continue  # a head is a common noun: "minister", not "I" or "Republicans"
        following = words[size][2] if size < len(words) else ""
        if following and not (_REPORTING_VERB.fullmatch(following) or following.endswith("ed")):
            continue
        others = {word for _, _, word in words[: size - 1]}
        best: tuple[int, int, str] | None = None
        for position, name, context in contexts:
            if head in context:
                score = (len(others & context), position, name)
                if best is None or score[:2] > best[:2]:
                    best = score
        if best is not None:
            return _Anchor(start, words[size - 1][1], best[2], "description")
    return None


def _sentence_holder(
    facts: _Article, start: int, end: int, persons: list[str | None], anchors: list[_Anchor]
) -> Holder | None:
    if not anchors:
        return None
    text = facts.text
    sentence = text[start:end]
    for verb in _REPORTING_VERB.finditer(sentence):
        verb_start, verb_end = start + verb.start(), start + verb.end()
        before = [
            a for a in anchors if a.end <= verb_start and verb_start - a.end <= _MAX_GAP_CHARS
        ]
        if before and _SUBJECT_GAP.match(text[before[-1].end : verb_start]):
            return _holder(before[-1], "subject")
        # Inverted only after a quotation or a clause: '"...," said X', '..., says X'.
        if verb.group(0).lower() not in _INVERTIBLE_VERB or not _BEFORE_INVERSION.search(
            text[max(start, verb_start - 4) : verb_start]
        ):
            continue
        after = [a for a in anchors if a.start >= verb_end and a.anchor != "pronoun"]
        if after and _TITLE_GAP.match(text[verb_end : after[0].start] or " "):
            return _holder(after[0], "inverted")
    for source in _ACCORDING_TO.finditer(sentence):
        after = [a for a in anchors if a.start >= start + source.end() and a.anchor != "pronoun"]
        if after and _TITLE_GAP.match(" " + text[start + source.end() : after[0].start]):
            return _holder(after[0], "according")
    participle = _PARTICIPLE.search(sentence)
    if participle is not None:
        subject = _subject(facts, start, end, persons, anchors)
        if subject is not None and subject.end <= start + participle.start():
            return _holder(subject, "participle")
    return None


def _subject(
    facts: _Article,
    start: int,
    end: int,
    persons: list[str | None],
    anchors: list[_Anchor] | None = None,
) -> _Anchor | None:
    """The anchor that opens the sentence as its subject, if one does."""
    found = _anchors(facts, start, end, persons) if anchors is None else anchors
    for anchor in found:
        lead = facts.text[start : anchor.start]
        if _SUBJECT_LEAD.match(lead):
            return anchor
    return None


def _holder(anchor: _Anchor, via: str) -> Holder:
    return Holder(anchor.name, anchor.start, anchor.end, anchor.anchor, via)
