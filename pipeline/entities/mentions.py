"""Mentions into entities: words of an article, tagged spans, clusters of one name, salience."""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas import Entity, EntityType, Mention


@dataclass(frozen=True)
class ArticleText:
    """Clean article text with its sentence spans and where the title and standfirst end."""

    text: str
    sentences: list[tuple[int, int]]
    lead_end: int


def entity_type(kind: str) -> EntityType:
    upper = kind.upper()
    if upper in ("PER", "PERSON"):
        return EntityType.PER
    if upper in ("ORG", "ORGANIZATION", "ORGANISATION"):
        return EntityType.ORG
    if upper in ("LOC", "LOCATION", "GPE", "FAC"):
        return EntityType.LOC
    return EntityType.MISC


_WORD = re.compile(
    r"(?:[^\W\d_]\.){2,}"  # initialisms: U.S., U.N.
    r"|\w+(?=['\u2019][sS]\b)"  # the word before a possessive
    r"|['\u2019][sS]\b"
    r"|\w+(?:[-'\u2019.,/]\w+)*"  # words, hyphenated words, numbers such as 3.5 or 1,000
    r"|\S"
)


def split_words(article: ArticleText) -> list[list[tuple[int, int]]]:
    """Character spans of the words of each sentence (the whole text when none are given).

    Words are what the model labels, so throughput is counted in them.
    """
    spans = article.sentences or [(0, len(article.text))]
    sentences = []
    for start, end in spans:
        if not 0 <= start <= end <= len(article.text):
            raise ValueError(
                f"sentence span ({start}, {end}) lies outside a text of {len(article.text)} chars"
            )
        words = [
            (start + match.start(), start + match.end())
            for match in _WORD.finditer(article.text[start:end])
        ]
        if words:
            sentences.append(words)
    return sentences


@dataclass(frozen=True)
class Found:
    type: EntityType
    words: list[str]
    mention: Mention


def find_mentions(
    article: ArticleText,
    words: list[list[tuple[int, int]]],
    labels: list[list[tuple[str, float]]],
) -> list[Found]:
    found: list[Found] = []
    for sentence_words, sentence_labels in zip(words, labels, strict=True):
        open_type: str | None = None
        first = 0
        for index, (label, _) in enumerate([*sentence_labels, ("O", 1.0)]):
            prefix, _, kind = label.partition("-")
            if open_type is not None and not (prefix == "I" and kind == open_type):
                found.append(_mention(article, sentence_words, sentence_labels, first, index))
                open_type = None
            if prefix in ("B", "I") and open_type is None:
                open_type, first = kind, index
    return found


def _mention(
    article: ArticleText,
    words: list[tuple[int, int]],
    labels: list[tuple[str, float]],
    first: int,
    end: int,
) -> Found:
    start_char, end_char = words[first][0], words[end - 1][1]
    # A mention is only as sure as its words on average; the CRF marginals are per word.
    score = sum(probability for _, probability in labels[first:end]) / (end - first)
    return Found(
        type=EntityType(labels[first][0][2:]),
        words=[article.text[start:stop] for start, stop in words[first:end]],
        mention=Mention(
            text=article.text[start_char:end_char],
            start=start_char,
            end=end_char,
            score=min(1.0, max(0.0, score)),
        ),
    )


@dataclass
class _Cluster:
    words: list[str]
    found: list[Found]

    @property
    def lowered(self) -> list[str]:
        return [word.lower() for word in self.words]


_ACRONYM_SKIP = {"of", "the", "and", "for", "de", "&"}


def _initials(words: list[str]) -> str:
    return "".join(
        word[0] for word in words if word.lower() not in _ACRONYM_SKIP and word[0].isalpha()
    )


def _contains(longer: list[str], shorter: list[str]) -> bool:
    size = len(shorter)
    return any(longer[index : index + size] == shorter for index in range(len(longer) - size + 1))


def _joins(cluster: _Cluster, found: Found) -> bool:
    """Whether a mention names the same thing as an entity already seen in the article."""
    words = [word.lower() for word in found.words]
    types = {item.type for item in cluster.found}
    same_type = found.type in types
    if words == cluster.lowered:
        return True
    if _contains(cluster.lowered, words):
        # A bare surname is often typed ORG or LOC by the tagger; a person seen before wins.
        return same_type or (len(words) == 1 and EntityType.PER in types)
    if same_type and _contains(words, cluster.lowered):
        return True
    acronym = "".join(found.words)
    if len(found.words) == 1 and acronym.isupper() and len(acronym) >= 2:
        return acronym == _initials(cluster.words).upper() and len(cluster.words) >= 2
    return False


def build_entities(article: ArticleText, found: list[Found]) -> list[Entity]:
    clusters: list[_Cluster] = []
    for item in found:
        candidates = [cluster for cluster in clusters if _joins(cluster, item)]
        if not candidates:
            clusters.append(_Cluster(words=list(item.words), found=[item]))
            continue
        cluster = max(candidates, key=lambda candidate: len(candidate.found))
        cluster.found.append(item)
        # The fullest form names the entity: "Putin" first, "Vladimir Putin" later.
        if _contains([word.lower() for word in item.words], cluster.lowered) and len(
            item.words
        ) > len(cluster.words):
            cluster.words = list(item.words)
    if not clusters:
        return []
    most = max(len(cluster.found) for cluster in clusters)
    length = max(1, len(article.text))
    entities = []
    for cluster in clusters:
        weights: dict[EntityType, float] = {}
        for item in cluster.found:
            weights[item.type] = weights.get(item.type, 0.0) + item.mention.score
        mentions = sorted(
            (item.mention for item in cluster.found), key=lambda mention: mention.start
        )
        entities.append(
            Entity(
                name=_canonical_name(cluster),
                type=max(weights, key=weights.__getitem__),
                count=len(mentions),
                salience=_salience(
                    len(mentions) / most,
                    mentions[0].start / length,
                    mentions[0].start < article.lead_end,
                ),
                mentions=mentions,
            )
        )
    entities.sort(key=lambda entity: (-entity.salience, entity.mentions[0].start))
    return entities


def _canonical_name(cluster: _Cluster) -> str:
    wanted = cluster.lowered
    for item in cluster.found:
        if [word.lower() for word in item.words] == wanted:
            return item.mention.text
    return " ".join(cluster.words)


def _salience(frequency: float, first_position: float, in_lead: bool) -> float:
    """Half how often it is named (against the article's most named), a fifth how early,
    three tenths whether the title or standfirst names it."""
    score = 0.5 * frequency + 0.2 * (1.0 - first_position) + 0.3 * float(in_lead)
    return round(min(1.0, max(0.0, score)), 4)
