"""Every text that lists the losses comes from the registry: the help, and the generated blocks of the docs and of
cfg/default.yaml, which must be up to date (else: run scripts/loss_tables.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from yolo_alpha.cli import main
from yolo_alpha.losses import list_losses
from yolo_alpha.losses.catalogue import GENERATED_BLOCKS, help_text, key_rows, loss_table, powers_of, with_block
from yolo_alpha.losses.registry import all_loss_params, loss_entry

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", list(GENERATED_BLOCKS))
def test_every_generated_block_is_up_to_date(path):
    text = (ROOT / path).read_text(encoding="utf-8")
    assert with_block(text, path) == text, f"{path} is stale: run .venv/bin/python scripts/loss_tables.py"


def test_a_file_without_its_markers_is_refused():
    with pytest.raises(ValueError, match="expected one block between"):
        with_block("no markers here\n", "docs/losses.md")


def test_the_tables_have_a_row_per_loss_and_per_own_key():
    rows = loss_table().splitlines()[2:]
    assert [row.split(" | ")[0].strip("| `") for row in rows] == sorted(
        list_losses(), key=lambda name: (loss_entry(name).classic_form or name, loss_entry(name).takes_alpha)
    )
    assert [row.split(" | ")[0].strip("| `") for row in key_rows().splitlines()[2:]] == list(all_loss_params())


def test_the_help_lists_every_loss_with_its_formula_and_powers(capsys):
    assert main(["help", "losses"]) == 0
    out = capsys.readouterr().out
    for name in list_losses():
        entry = loss_entry(name)
        line = next(line for line in out.splitlines() if line.split()[:1] == [name])
        assert entry.formula in line and powers_of(entry) in line
    assert out.strip() == help_text()


def test_the_help_of_one_loss_gives_its_paper_keys_and_why_it_has_no_alpha(capsys):
    assert main(["help", "losses", "nwd"]) == 0
    out = capsys.readouterr().out
    entry = loss_entry("nwd")
    assert entry.reference.arxiv in out and "nwd_c (> 0, default" in out and entry.why_no_alpha in out
    assert ":func:" not in out and "``" not in out
    assert main(["help", "losses", "nope"]) == 2
    assert "loss='nope' is not valid" in capsys.readouterr().err
