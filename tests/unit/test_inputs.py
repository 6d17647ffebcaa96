"""Article files of every supported kind are read as the objects users produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.inputs import InputError, iter_paths, read_articles, read_unnamed


def test_each_file_kind_is_read(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Title line\n\nFirst paragraph.\nSecond paragraph.\n")
    (tmp_path / "b.json").write_text('[{"title": "x", "body": "y"}, {"title": "z", "body": "w"}]')
    (tmp_path / "c.jsonl").write_text(
        '{"title": "1", "body": "b"}\n\n{"title": "2", "body": "b"}\n'
    )
    (tmp_path / "d.html").write_text("<html><body><p>Hi</p></body></html>")
    (tmp_path / "ignored.csv").write_text("a,b")
    paths = list(iter_paths([tmp_path]))
    assert [p.name for p in paths] == ["a.txt", "b.json", "c.jsonl", "d.html"]
    articles = [a for p in paths for a in read_articles(p)]
    assert articles[0] == {"title": "Title line", "body": "First paragraph.\nSecond paragraph."}
    assert [a.get("title") for a in articles[1:5]] == ["x", "z", "1", "2"]
    assert articles[5]["html"].startswith("<html>")


def test_bad_json_and_missing_files_name_the_culprit(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"title": "ok", "body": "b"}\n{oops\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2"):
        list(read_articles(tmp_path / "bad.jsonl"))
    with pytest.raises(InputError, match="no such file"):
        list(iter_paths([tmp_path / "missing.txt"]))


def test_unnamed_bytes_are_read_as_json_then_json_lines_then_text() -> None:
    assert read_unnamed(b'[{"title": "A"}, {"title": "B"}]') == [{"title": "A"}, {"title": "B"}]
    assert read_unnamed(b'{"title": "A"}') == [{"title": "A"}]
    assert read_unnamed(b'{"title": "A"}\n\n{"title": "B"}\n') == [{"title": "A"}, {"title": "B"}]
    text = b"Ministers meet in Oslo\nTalks on fishing quotas began on Monday."
    assert read_unnamed(text) == [
        {"title": "Ministers meet in Oslo", "body": "Talks on fishing quotas began on Monday."}
    ]
    # Not an object: kept as it is, so the worker dead-letters it with its reason.
    assert read_unnamed(b'[1, "two"]') == [1, "two"]
