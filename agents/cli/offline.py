"""Commands that run the pipeline without Kafka: enrich, clean, and the eval and train groups."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click
import orjson

from agents.cli.common import JSON_PRETTY, load_settings, main

# --- offline ------------------------------------------------------------------------------


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--compact", is_flag=True, help="one JSON line per article")
def enrich(path: Path, compact: bool) -> None:
    """Run the whole pipeline on the articles of one file, without Kafka."""
    from agents.bootstrap import build_enricher
    from pipeline.enrichment import Received
    from pipeline.inputs import InputError, read_articles
    from schemas import encode

    try:
        articles = list(read_articles(path))
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc
    enricher = build_enricher(load_settings())
    results = enricher.enrich_batch([Received(payload=orjson.dumps(a)) for a in articles])
    for result in results:
        data = encode(result)
        click.echo(data if compact else orjson.dumps(orjson.loads(data), option=JSON_PRETTY))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="one JSON line per article (the default)")
@click.option("--summary", is_flag=True, help="a readable summary per article instead of JSON")
def clean(paths: tuple[Path, ...], as_json: bool, summary: bool) -> None:
    """Run the cleaning stage alone (no models, no Kafka) and print kept and removed blocks.

    Articles of one source teach each other their boilerplate, as in the worker.
    """
    from pipeline.cleaning import clean_article
    from pipeline.cleaning.memory import LineMemory
    from pipeline.errors import PipelineError
    from pipeline.inputs import InputError, iter_paths, read_articles
    from schemas import RawArticle

    settings = load_settings()
    memory = LineMemory({}, threshold=settings.boilerplate_threshold)
    try:
        for path in iter_paths(list(paths)):
            for article in read_articles(path):
                try:
                    cleaned = clean_article(RawArticle.model_validate(article), memory=memory)
                except (PipelineError, ValueError) as exc:
                    click.echo(orjson.dumps({"path": str(path), "error": str(exc)}))
                    continue
                record = {
                    "path": str(path),
                    "title": cleaned.title,
                    "kept": [b.model_dump(mode="json") for b in cleaned.blocks],
                    "removed": [r.model_dump(mode="json") for r in cleaned.removed],
                }
                if summary and not as_json:
                    click.echo(f"{path}: {cleaned.title}")
                    for block in cleaned.blocks:
                        click.echo(f"  + {block.type.value:<10} {block.text[:90]}")
                    for removed in cleaned.removed:
                        click.echo(f"  - {removed.reason:<20} {removed.text[:80]}")
                else:
                    click.echo(orjson.dumps(record))
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc


@main.group("eval")
def evaluate() -> None:
    """Measure the pipeline's stages on public benchmark data."""


@main.group()
def train() -> None:
    """Train the models the package ships (seeded; uses CUDA when present)."""


def _pass_through(group: click.Group, name: str, module: str, action: str, help: str) -> None:
    """A sub-command that hands its arguments to ``module.main([action, ...])``.

    The training modules parse their own options (with ``--help``), so that parsing lives
    in one place and works with ``python -m`` too.
    """

    @group.command(
        name,
        help=help,
        context_settings={"ignore_unknown_options": True, "help_option_names": []},
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args: tuple[str, ...]) -> None:
        sys.exit(importlib.import_module(module).main([action, *args]))


_pass_through(
    evaluate,
    "ner",
    "training.ner_training",
    "eval",
    "Entity-level P/R/F1 on a CoNLL-2003 file: --data FILE [--model M] [--json] "
    "[--predictions OUT] [--precision P] [--attention blocked|fused].",
)
_pass_through(
    evaluate,
    "stance",
    "training.stance_eval",
    "eval",
    "Stance scores on a data set file in its own format: --format fnc1 --stances CSV "
    "--bodies CSV | --format semeval2016 --data DIR --split val | --format "
    "pstance|newsmtsc|directed|gwsd|vast|emergent|persent --data FILE; [--json] "
    "[--predictions OUT] [--precision P] [--attention blocked|fused].",
)
_pass_through(
    evaluate,
    "holders",
    "training.holders_eval",
    "eval",
    "Holder (source) precision, recall and F1 on attribution relations: --data DIR "
    "(PolNeAR: dev/ and train/) [--format polnear] [--split dev] [--cache FILE] [--errors N] "
    "[--json].",
)
_pass_through(
    train,
    "ner",
    "training.ner_training",
    "train",
    "Train the entity model: --data DIR (CoNLL-2003 train.txt, valid.txt) --out DIR.",
)
_pass_through(
    train,
    "stance",
    "training.stance_training",
    "train",
    "Train the stance model: --data DIR (the stance data sets) --out DIR [--init DIR ...].",
)


_pass_through(
    train,
    "cleaning",
    "training.cleaning_training",
    "train",
    "Train the text line classifier: --data DIR (ScrapingHub pages) [--stories DIR (BBC)] "
    "[--out FILE].",
)


@evaluate.command("cleaning")
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="folder with html/*.html.gz and ground-truth.json",
)
@click.option(
    "--as-text",
    is_flag=True,
    help="score the text path on the pages rendered as a crawler copies them (cross-validated)",
)
@click.option(
    "--stories",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="with --as-text: the clean stories (BBC) the classifier also trains on",
)
@click.option(
    "--outputs", type=click.Path(path_type=Path), help="with --as-text: write each page's kept text"
)
@click.option("--json", "as_json", is_flag=True, help="end with one JSON line of the scores")
def evaluate_cleaning(
    data_dir: Path, as_text: bool, stories: Path | None, outputs: Path | None, as_json: bool
) -> None:
    """HTML extraction, or with --as-text the text path, beside trafilatura on the same pages."""
    from training.cleaning_eval import evaluate_as_text, evaluate_extraction

    if not (data_dir / "ground-truth.json").exists():
        raise click.ClickException(f"{data_dir} has no ground-truth.json (ScrapingHub layout)")
    if as_text:
        result = evaluate_as_text(data_dir, stories_dir=stories)
        kept = result.pop("outputs")
        if outputs:
            outputs.write_bytes(orjson.dumps(kept, option=JSON_PRETTY))
        click.echo(
            f"{result['pages']} pages rendered as text, {result['folds']}-fold cross-validated by "
            "site, token 4-gram shingles (ScrapingHub benchmark scoring)"
        )
        names: tuple[str, ...] = (
            "text_cross_validated",
            "text_rules_only",
            "keep_everything",
            "trafilatura_html",
            "line_labels_ceiling",
        )
    else:
        result = evaluate_extraction(data_dir)
        click.echo(f"{result['pages']} pages, token 4-gram shingles (ScrapingHub scoring)")
        names = ("stancewire", "trafilatura")
    for name in names:
        scores = result[name]
        click.echo(
            f"  {name:<22} precision {scores['precision']:.4f}  recall {scores['recall']:.4f}"
            f"  F1 {scores['f1']:.4f}"
        )
    if as_json:
        click.echo(orjson.dumps(result))


@evaluate.command("boilerplate")
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="folder of clean .txt articles (first line the title)",
)
@click.option("--limit", type=int, default=None, help="use at most this many articles")
@click.option("--seed", type=int, default=13, show_default=True)
@click.option(
    "--unseen", is_flag=True, help="inject kinds and languages nothing in the cleaner was built on"
)
@click.option("--json", "as_json", is_flag=True, help="end with one JSON line of the scores")
def evaluate_boilerplate_lines(
    data_dir: Path, limit: int | None, seed: int, unseen: bool, as_json: bool
) -> None:
    """Synthetic text benchmark: inject boilerplate lines into clean articles, score removal."""
    from training.cleaning_eval import evaluate_boilerplate

    result = evaluate_boilerplate(data_dir, limit=limit, seed=seed, unseen=unseen)
    lines = result["lines"]
    click.echo(
        f"{result['articles']} articles, {result['paragraphs']} story paragraphs: boilerplate "
        f"lines precision {lines['precision']:.4f} recall {lines['recall']:.4f} "
        f"F1 {lines['f1']:.4f}; paragraph loss {100 * result['paragraph_loss']:.3f} %"
    )
    for kind, recall in result["recall_by_kind"].items():
        click.echo(f"  recall {kind:<18} {recall:.4f}")
    if as_json:
        click.echo(orjson.dumps(result))
