"""yolo_alpha.checks: the path helper the "can this folder be created" checks share (the validators are tested
through the keys that use them)."""

from pathlib import Path

from yolo_alpha.checks import nearest_existing


def test_nearest_existing_is_the_path_or_its_deepest_existing_ancestor(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "file").write_text("x")
    assert nearest_existing(tmp_path / "a") == tmp_path / "a"
    assert nearest_existing(tmp_path / "a" / "b" / "c") == tmp_path / "a"
    assert nearest_existing(tmp_path / "a" / "file" / "c") == tmp_path / "a" / "file"  # a file in the way
    monkeypatch.chdir(tmp_path)
    assert nearest_existing(Path("new") / "run") == Path(".")  # relative paths stay relative
