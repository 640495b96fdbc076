"""The README and docs/*.md: every relative link resolves, and the loss table lists exactly the registered losses."""

import re
from pathlib import Path

import pytest

from yolo_alpha.losses import list_losses

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) and ![alt](target), the target up to a space (a title) or the closing parenthesis.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto:, ...


def relative_links(page: Path, fragments: bool = False) -> list[str]:
    """Return the relative link targets of a markdown page (without their #fragment unless `fragments`), code spans
    and fenced blocks left out."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = [t for t in LINK.findall(text) if not EXTERNAL.match(t) and not t.startswith("#")]
    return targets if fragments else [t.split("#", 1)[0] for t in targets]


def anchors(page: Path) -> set[str]:
    """Return the #fragments GitHub gives the page's headings: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(
        r"^#{1,6} (.+)$", re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S), re.M
    )
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file(page):
    missing = [t for t in relative_links(page) if not (page.parent / t).exists()]
    assert missing == [], f"{page.relative_to(ROOT)} links to files that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_to_a_section_of_a_page_names_one_of_its_headings(page):
    linked = [t.split("#", 1) for t in relative_links(page, fragments=True) if ".md#" in t]
    missing = [f"{t}#{a}" for t, a in linked if a not in anchors(page.parent / t)]
    assert missing == [], f"{page.relative_to(ROOT)} links to sections that do not exist: {missing}"


def test_anchors_are_githubs(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n## Reproducing the paper: `yolo-alpha reproduce`\n### After the study: one (`../x_y/`)\n")
    assert anchors(page) == {"title", "reproducing-the-paper-yolo-alpha-reproduce", "after-the-study-one-x_y"}


def test_the_link_finder_sees_links_and_images_but_not_code(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "[a](docs/a.md#part) ![b](figures/b.png) [c](https://example.com) [d](#local)\n"
        "`[e](in/a/code/span.md)`\n```\n[f](in/a/block.md)\n```\n"
    )
    assert relative_links(page) == ["docs/a.md", "figures/b.png"]


def test_the_readme_links_every_page_of_docs():
    readme = relative_links(ROOT / "README.md")
    pages = {p.name for p in PAGES[1:]}
    assert pages <= {Path(t).name for t in readme if t.startswith("docs/")}


def test_the_loss_table_lists_exactly_the_registered_losses():
    text = (ROOT / "docs" / "losses.md").read_text(encoding="utf-8")
    table = text.split("| name | loss |", 1)[1].split("\n\n", 1)[0]
    names = re.findall(r"^\| `([a-z0-9_]+)` \|", table, flags=re.M)
    assert sorted(names) == sorted(list_losses()) and len(names) == len(set(names))
