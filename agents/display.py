"""Human-readable rendering of enriched events and dead letters for the terminal."""

from __future__ import annotations

from typing import Any


def render_event(event: dict[str, Any]) -> str:
    """A few lines that show what stancewire made of one article."""
    if "unreadable" in event or not ({"stage", "processing"} & event.keys()):
        where = f"{event.get('topic')}[{event.get('partition')}]@{event.get('offset')}"
        why = event.get("unreadable") or "not a stancewire record"
        return f"UNREADABLE  {where} key {event.get('key')!r}: {why}"
    if "stage" in event and "payload_base64" in event:
        return (
            f"DEAD LETTER  {event.get('article_id') or event.get('key') or '?'}\n"
            f"  stage {event['stage']}, {event['error_type']}: {event['message']}\n"
            f"  from {event['topic']}[{event['partition']}]@{event['offset']}, "
            f"{event['payload_size']} bytes"
        )
    processing = event["processing"]
    lines = [
        f"{event['title']}",
        f"  id {event['id']}  source {event.get('source') or '-'}  "
        f"language {event.get('language') or '-'}",
        f"  {len(event['blocks'])} blocks, {len(event['sentences'])} sentences kept; "
        f"{len(event['removed'])} removed"
        + (
            ": " + ", ".join(sorted({r["reason"] for r in event["removed"]}))
            if event["removed"]
            else ""
        ),
    ]
    if event["entities"]:
        names = [f"{e['name']} ({e['type']}, x{e['count']})" for e in event["entities"][:10]]
        lines.append("  entities: " + "; ".join(names))
    for stance in event["stances"][:8]:
        line = f"  stance toward {stance['target']}: {stance['label']} ({stance['score']:.2f})"
        if "views" in stance:  # schema version 2: each holder's own view
            held = [
                f"{view['holder']} {view['label']} ({view['score']:.2f})"
                for view in stance["views"]
                if view["holder"]
            ]
            line += f"; views: {', '.join(held)}" if held else ""
        else:  # version 1 events: the holders named in the evidence
            holders = sorted({e["holder"] for e in stance["evidence"] if e.get("holder")})
            line += f", held by {', '.join(holders)}" if holders else ""
        lines.append(line)
    timings = processing["timings_ms"]
    lines.append(
        "  stages "
        + ",".join(processing["stages"])
        + f"; {timings.get('total', 0):.1f} ms in the pipeline"
    )
    return "\n".join(lines)


def render_summary(figures: dict[str, Any], *, source: str) -> str:
    """The dashboard's figures as a terminal screen."""
    latency = figures["latency_ms"]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    lag = figures["lag"]
    lines = [
        f"stancewire worker at {source}   up {figures['uptime_s']:.0f} s",
        "",
        f"  throughput     {figures['articles_per_s']:8.2f} articles/s (last minute)",
        f"  enriched       {figures['enriched_total']:8.0f}",
        f"  dead letters   {figures['dead_letters_total']:8.0f}",
        f"  latency        p50 {ms(latency['p50'])} ms   p95 {ms(latency['p95'])} ms   "
        f"p99 {ms(latency['p99'])} ms",
        f"  consumer lag   {sum(lag.values()):8.0f} messages over {len(lag)} partitions",
    ]
    if figures["dead_letters"]:
        lines += ["", "  dead letters by stage/error"]
        lines += [f"    {key:<36} {count:6.0f}" for key, count in figures["dead_letters"].items()]
    if figures["top_entities"]:
        lines += ["", "  most-mentioned entities          mentions  favor against neutral"]
        for entity in figures["top_entities"]:
            mix = entity["stances"]
            lines.append(
                f"    {entity['name'][:30]:<30} {entity['mentions']:8d}  "
                f"{mix.get('favor', 0):5d} {mix.get('against', 0):7d} {mix.get('neutral', 0):7d}"
            )
    return "\n".join(lines)
