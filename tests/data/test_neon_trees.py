"""``data neon-trees`` on a fake DeepForest wheel made here (never a download): only deepforest/data's PNG and XML
of the fixed split are read, Alive/Dead become Tree, whole source images per split, the sha256 check, and pip's
download path with a stand-in for pip (failing, and succeeding)."""

import hashlib
import io
import re
import subprocess
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from yolo_alpha.cli import main
from yolo_alpha.data import neon_trees
from yolo_alpha.data.neon_trees import SPLIT, WHEEL_NAME, WHEEL_SHA256, convert_neon_trees
from yolo_alpha.errors import ConfigError

TRAIN, VAL_YELL, OSBS, SOAP = SPLIT  # the four source images, in the order of the fixed split
# A small stand-in for each crop: (width, height) and crowns (name, VOC xmin, ymin, xmax, ymax).
FAKE = {
    TRAIN: ((150, 100), [("Tree", 11, 11, 41, 41), ("Tree", 91, 51, 121, 81), ("Tree", 60, 5, 100, 30)]),
    VAL_YELL: ((100, 80), [("Tree", 5, 5, 25, 25), ("Tree", 61, 41, 91, 71)]),
    OSBS: ((64, 64), [("Tree", 2, 2, 30, 30)]),
    SOAP: ((64, 64), [("Alive", 2, 2, 20, 20), ("Dead", 31, 31, 60, 60)]),
}
LABEL_LINE = re.compile(r"^0 \d\.\d{6} \d\.\d{6} \d\.\d{6} \d\.\d{6}$")


def png_bytes(size: tuple[int, int], seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return cv2.imencode(".png", pixels)[1].tobytes()


def xml_text(size: tuple[int, int], crowns: list) -> str:
    """Return VOC XML as the wheel's files are written (LabelImg's tags)."""
    objects = "".join(
        f"<object><name>{name}</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>"
        f"<bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
        for name, x1, y1, x2, y2 in crowns
    )
    return (
        f"<annotation><folder>data</folder><filename>x.png</filename><size><width>{size[0]}</width>"
        f"<height>{size[1]}</height><depth>3</depth></size>{objects}</annotation>"
    )


def make_wheel(path: Path, leave_out: str = "") -> Path:
    """Write a fake wheel: the four crops' PNG + XML under deepforest/data/, and files that must be ignored."""
    with zipfile.ZipFile(path, "w") as wheel:
        for seed, (stem, (size, crowns)) in enumerate(FAKE.items()):
            for member, content in ((f"{stem}.png", png_bytes(size, seed)), (f"{stem}.xml", xml_text(size, crowns))):
                if member != leave_out:
                    wheel.writestr(f"deepforest/data/{member}", content)
        wheel.writestr("deepforest/data/SOAP_031.png", png_bytes((64, 64), 9))  # an image without annotations
        wheel.writestr("deepforest/data/extra.png", png_bytes((64, 64), 8))  # a pair outside the fixed split
        wheel.writestr("deepforest/data/extra.xml", xml_text((64, 64), [("Bird", 1, 1, 9, 9)]))
        wheel.writestr("deepforest/data/example.csv", "image_path,xmin\n")
        wheel.writestr("deepforest/main.py", "raise SystemExit('never imported')\n")
        wheel.writestr("deepforest-2.1.0.dist-info/licenses/LICENSE", "MIT License\n")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def wheel(tmp_path) -> Path:
    return make_wheel(tmp_path / WHEEL_NAME)


def tiles(out: Path, split: str) -> list[str]:
    return sorted(p.name for p in (out / "images" / split).iterdir())


def test_the_fake_wheel_becomes_a_tiled_set_split_by_source_image(wheel, tmp_path):
    before = wheel.read_bytes()
    done = convert_neon_trees(tmp_path / "out", wheel=wheel, tile=64, edge="shift", sha256=sha256(wheel))
    out = tmp_path / "out"

    assert wheel.read_bytes() == before
    assert done.names == ["Tree"]
    # 150 x 100 in tiles of 64: x 0, 64, 86 (the edge); y 0, 36. 100 x 80: x 0, 36; y 0, 16. The 64 px crops: one.
    assert tiles(out, "train") == [f"{TRAIN}_x{x:04d}_y{y:04d}.png" for x in (0, 64, 86) for y in (0, 36)]
    val = tiles(out, "val")
    assert val == sorted(
        [f"{VAL_YELL}_x{x:04d}_y{y:04d}.png" for x in (0, 36) for y in (0, 16)]
        + [f"{OSBS}_x0000_y0000.png", f"{SOAP}_x0000_y0000.png"]
    )
    assert not list(out.rglob("*extra*")) and not list(out.rglob("*SOAP_031*"))  # read only the split's pairs
    # SOAP_061's Alive and Dead crowns are both Tree (class 0), with VOC's 1-px rule: x 1..19 and 30..59 of 64.
    assert (out / "labels" / "val" / f"{SOAP}_x0000_y0000.txt").read_text().splitlines() == [
        f"0 {10 / 64:.6f} {10 / 64:.6f} {18 / 64:.6f} {18 / 64:.6f}",
        f"0 {44.5 / 64:.6f} {44.5 / 64:.6f} {29 / 64:.6f} {29 / 64:.6f}",
    ]
    for label in out.glob("labels/*/*.txt"):
        assert all(LABEL_LINE.match(line) for line in label.read_text().splitlines()), label

    text = done.data_yaml.read_text()
    data = yaml.safe_load(text)
    assert (data["train"], data["val"], data["names"]) == ("images/train", "images/val", {0: "Tree"})
    assert "National Ecological Observatory Network" in text and WHEEL_SHA256 in text and "MIT" in text
    assert f"# train: 1 source image\n#   {TRAIN}.png (6)\n# val: 3 source images\n" in text
    assert all(f"#   {stem}.png" in text for stem in (VAL_YELL, OSBS, SOAP))
    tally = done.tally
    assert tally.source_boxes == sum(len(crowns) for _, crowns in FAKE.values()) == 8
    assert tally.sources == {
        "train": [(f"{TRAIN}.png", 6)],
        "val": [(f"{VAL_YELL}.png", 4), (f"{OSBS}.png", 1), (f"{SOAP}.png", 1)],
    }


def test_the_fixed_split_puts_each_source_in_one_split_and_validates_on_other_sites():
    assert set(SPLIT.values()) == {"train", "val"} and list(SPLIT.values()).count("train") == 1
    assert {stem.split("_")[0] for stem, split in SPLIT.items() if split == "val"} >= {"OSBS", "SOAP"}
    assert re.fullmatch(r"[0-9a-f]{64}", WHEEL_SHA256) and WHEEL_NAME == "deepforest-2.1.0-py3-none-any.whl"


def test_a_wheel_with_another_sha256_is_refused_naming_the_file_and_both_hashes(wheel, tmp_path):
    message = f"wheel={wheel}: sha256 {sha256(wheel)} is not {WHEEL_SHA256}, that of {WHEEL_NAME} on PyPI"
    with pytest.raises(ConfigError, match=re.escape(message)):
        convert_neon_trees(tmp_path / "out", wheel=wheel)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (lambda path: make_wheel(path, leave_out=f"{OSBS}.xml"), f"lacks deepforest/data/{OSBS}.xml"),
        (lambda path: path.write_bytes(b"not a zip") and path, "not the DeepForest wheel"),
    ],
    ids=["missing-member", "not-a-zip"],
)
def test_a_wheel_without_the_data_is_named(tmp_path, content, message):
    path = tmp_path / WHEEL_NAME
    content(path)
    with pytest.raises(ConfigError, match=re.escape(f"wheel={path}: ") + ".*" + re.escape(message)):
        convert_neon_trees(tmp_path / "out", wheel=path, sha256=sha256(path))
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError, match=re.escape(f"wheel={tmp_path / 'none.whl'}: no such file")):
        convert_neon_trees(tmp_path / "out", wheel=tmp_path / "none.whl")


def pip_stand_in(calls: list, wheel: Path | None = None, stderr: str = ""):
    """Return a ``subprocess.run`` that records the command and, given ``wheel``, "downloads" it into ``-d``."""

    def run(command, **kwargs):
        calls.append(command)
        if wheel is None:
            return subprocess.CompletedProcess(command, 1, stdout="", stderr=stderr)
        folder = Path(command[command.index("-d") + 1])
        (folder / WHEEL_NAME).write_bytes(wheel.read_bytes())
        return subprocess.CompletedProcess(command, 0, stdout=f"Saved {folder / WHEEL_NAME}\n", stderr="")

    return run


def test_pip_that_fails_is_reported_with_what_pip_said_and_the_way_out(tmp_path, monkeypatch):
    calls = []
    said = "ERROR: No matching distribution found for deepforest==2.1.0"
    monkeypatch.setattr(neon_trees.subprocess, "run", pip_stand_in(calls, stderr=f"Looking in indexes\n{said}\n"))
    with pytest.raises(ConfigError, match=re.escape(f"with pip ({said}); ") + ".*give wheel=PATH"):
        convert_neon_trees(tmp_path / "out")
    command = calls[0]
    assert command[1:6] == ["-m", "pip", "download", "deepforest==2.1.0", "--no-deps"]
    assert "--only-binary=:all:" in command and not (tmp_path / "out").exists()

    def no_pip(command, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", command[0])

    monkeypatch.setattr(neon_trees.subprocess, "run", no_pip)
    with pytest.raises(ConfigError, match=r"could not download .*No such file or directory.*give wheel=PATH"):
        convert_neon_trees(tmp_path / "out")


def test_the_downloaded_wheel_is_checked_and_used_and_its_folder_removed(wheel, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(neon_trees.subprocess, "run", pip_stand_in(calls, wheel=wheel))
    done = convert_neon_trees(tmp_path / "out", tile=64, sha256=sha256(wheel))
    assert done.tally.kept_images == 12 and len(calls) == 1
    download_folder = Path(calls[0][calls[0].index("-d") + 1])
    assert not download_folder.exists()  # the temporary folder went with the wheel
    with pytest.raises(ConfigError, match="is not " + WHEEL_SHA256):  # a download is checked like a given file
        convert_neon_trees(tmp_path / "out2", tile=64)


def test_a_non_empty_out_is_refused_before_anything_is_downloaded(wheel, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    monkeypatch.setattr(neon_trees.subprocess, "run", lambda *a, **k: pytest.fail("pip must not run"))
    with pytest.raises(ConfigError, match=re.escape(f"out={out}: exists and is not an empty folder")):
        convert_neon_trees(out)
    with pytest.raises(ConfigError, match=re.escape("tile must be an integer >= 32, got 8")):
        convert_neon_trees(tmp_path / "new", tile=8)
    assert [p.name for p in out.iterdir()] == ["mine.txt"] and not (tmp_path / "new").exists()


def test_the_data_verb_converts_the_wheel_and_prints_the_split(wheel, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(neon_trees, "WHEEL_SHA256", sha256(wheel))
    argv = ["data", "neon-trees", f"out={tmp_path / 'out'}", f"wheel={wheel}", "tile=64", "min_area=0.6", "edge=shift"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "classes (1): Tree"
    assert lines[1].startswith("kept ") and "12 tiles" in lines[1] and lines[1].endswith("min_area=0.6)")
    assert f"train: 1 source image, 6 tiles: {TRAIN}.png (6)" in lines
    assert f"val: 3 source images, 6 tiles: {VAL_YELL}.png (4), {OSBS}.png (1), {SOAP}.png (1)" in lines
    assert lines[-1] == str(tmp_path / "out" / "data.yaml")
    assert main([*argv[:2], f"out={tmp_path / 'new'}", f"root={tmp_path}"]) == 2
    assert "'root' is not a valid data neon-trees key" in capsys.readouterr().err


def test_by_default_the_tiles_are_padded_so_every_val_crown_is_labelled_once(wheel, tmp_path):
    done = convert_neon_trees(tmp_path / "out", wheel=wheel, tile=64, sha256=sha256(wheel))
    out = tmp_path / "out"
    # 150 x 100 in padded tiles of 64: x 0, 64, 128; y 0, 64 (the last ones run past the edge). 100 x 80: x 0, 64.
    assert tiles(out, "train") == [f"{TRAIN}_x{x:04d}_y{y:04d}.png" for x in (0, 64, 128) for y in (0, 64)]
    assert tiles(out, "val")[:4] == [f"{VAL_YELL}_x{x:04d}_y{y:04d}.png" for x in (0, 64) for y in (0, 64)]
    assert {cv2.imread(str(p)).shape for p in out.glob("images/*/*.png")} == {(64, 64, 3)}  # one scale for all
    assert done.tally.repeated == 0 and "edge=pad" in done.data_yaml.read_text()
    # The 100 x 80 crop's tile at x 64, y 0 shows columns 64-99; the rest is black padding.
    corner = cv2.imread(str(out / "images" / "val" / f"{VAL_YELL}_x0064_y0000.png"))
    assert not corner[:, 36:].any() and corner[:, :36].any()


def test_the_wheel_is_read_as_a_zip_and_deepforest_never_imported(wheel, tmp_path):
    import sys

    convert_neon_trees(tmp_path / "out", wheel=wheel, tile=64, sha256=sha256(wheel))
    assert "deepforest" not in sys.modules
    with zipfile.ZipFile(io.BytesIO(wheel.read_bytes())) as archive:
        assert "deepforest/main.py" in archive.namelist()  # present in the wheel, and never run
