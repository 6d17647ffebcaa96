"""Human-readable rendering of enriched events and dead letters for the terminal."""

from __future__ import annotations

from typing import Any


def render_event(event: dict[str, Any]) -> str:
    """A few lines that show what stancewire made of one article."""
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
        holders = sorted({e["holder"] for e in stance["evidence"] if e.get("holder")})
        lines.append(
            f"  stance toward {stance['target']}: {stance['label']} ({stance['score']:.2f})"
            + (f", held by {', '.join(holders)}" if holders else "")
        )
    timings = processing["timings_ms"]
    lines.append(
        "  stages "
        + ",".join(processing["stages"])
        + f"; {timings.get('total', 0):.1f} ms in the pipeline"
    )
    return "\n".join(lines)
