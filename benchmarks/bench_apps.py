"""The benchmark's reference workers: a pass-through agent and the naive per-article baseline.

Run by ``stancewire bench`` as ``python -m benchmarks.bench_apps passthrough|naive`` with the
usual STANCEWIRE_* settings. They share the production app's transport settings so that
only the work per article differs.
"""

from __future__ import annotations

import sys
from typing import Any

import faust
import orjson

from agents.limits import MAX_REQUEST_BYTES
from agents.security import faust_credentials
from agents.settings import Settings

# The naive baseline asks about as many targets per article as stancewire's default.
NAIVE_TARGETS = 8


def _app(settings: Settings, name: str) -> tuple[faust.App, faust.TopicT, faust.TopicT]:
    (settings.data_dir / name).mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.bootstrap_servers.split(",")],
        broker_credentials=faust_credentials(settings),
        datadir=str(settings.data_dir / name),
        web_host=settings.web_host,
        web_port=settings.web_port,
        producer_max_request_size=MAX_REQUEST_BYTES,
        consumer_max_fetch_size=MAX_REQUEST_BYTES,
        producer_acks=-1,
        autodiscover=False,
    )
    source = app.topic(settings.input_topic, key_serializer="raw", value_serializer="raw")
    sink = app.topic(settings.output_topic, key_serializer="raw", value_serializer="raw")
    return app, source, sink


def passthrough_app(settings: Settings) -> faust.App:
    """Consume and republish each message unchanged: the transport's ceiling."""
    app, source, sink = _app(settings, "passthrough")

    @app.agent(source, name="pass_through")
    async def pass_through(stream: faust.StreamT[Any]) -> None:
        async for event in stream.events():
            await (await sink.send(key=event.key, value=event.value))

    return app


def naive_app(settings: Settings) -> faust.App:
    """What a user writes first: per article, a transformers NER pipeline and one
    text-classification call per target, no batching.

    Both pipelines run the PyPI MiniLM backbone with freshly initialised heads: the same
    arithmetic as a trained model of this size, used only to time it. Its labels mean
    nothing and go only to the benchmark's own topic.
    """
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
        pipeline,
    )

    from pipeline.kernels.backbone import base_model_dir

    backbone = str(base_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    ner = pipeline(
        "token-classification",
        model=AutoModelForTokenClassification.from_pretrained(backbone, num_labels=9),
        tokenizer=tokenizer,
        aggregation_strategy="simple",
    )
    classify = pipeline(
        "text-classification",
        model=AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=3),
        tokenizer=tokenizer,
    )
    targets = [t for t in settings.topics.split(";") if t][:NAIVE_TARGETS]
    targets += [f"entity {n}" for n in range(NAIVE_TARGETS - len(targets))]
    app, source, sink = _app(settings, "naive")

    @app.agent(source, name="naive_enrich")
    async def naive_enrich(stream: faust.StreamT[Any]) -> None:
        async for event in stream.events():
            article = orjson.loads(event.value)
            text = f"{article.get('title', '')}\n{article.get('body', '')}"
            entities = ner(text[:2000])  # the pipeline's window is 512 tokens
            stances = [
                classify({"text": target, "text_pair": text}, truncation=True) for target in targets
            ]
            result = {"id": article.get("id"), "entities": len(entities), "stances": len(stances)}
            await (await sink.send(key=event.key, value=orjson.dumps(result)))

    return app


def main() -> None:
    settings = Settings()
    kind = sys.argv[1] if len(sys.argv) > 1 else ""
    factories = {"passthrough": passthrough_app, "naive": naive_app}
    if kind not in factories:
        raise SystemExit(f"usage: python -m benchmarks.bench_apps {'|'.join(factories)}")
    app = factories[kind](settings)
    faust.Worker(app, loglevel=settings.log_level).execute_from_commandline()


if __name__ == "__main__":
    main()
