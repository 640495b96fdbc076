"""`yolo-alpha plot <name>` end to end in-process: files written and printed, never overwritten, clear key errors."""

from __future__ import annotations

import sys
import types

import pytest

from yolo_alpha.cli import main
from yolo_alpha.config import ConfigError
from yolo_alpha.plot import PLOTS, PlotEntry, make_plot
from yolo_alpha.plot.files import fresh_figure_path


def test_plot_verb_writes_and_prints_png_and_csv(tmp_path, capsys):
    assert main(["plot", "reweighting", f"out={tmp_path}"]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "reweighting.png"), str(tmp_path / "reweighting.csv")]
    first = (tmp_path / "reweighting.png").read_bytes()

    # Same command again: a fresh name, as Ultralytics numbers runs (train, train2, ...); the first figure is kept.
    assert main(["plot", "reweighting", f"out={tmp_path}", "alphas=2,3"]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "reweighting2.png"), str(tmp_path / "reweighting2.csv")]
    assert (tmp_path / "reweighting.png").read_bytes() == first
    assert "alpha,point" in (tmp_path / "reweighting2.csv").read_text().splitlines()[0]


def test_plot_verb_landscape_and_correlation(tmp_path, capsys):
    assert main(["plot", "landscape", "losses=iou,giou", "steps=5", f"out={tmp_path}"]) == 0
    assert main(["plot", "correlation", "losses=iou,ciou", "n=50", "seed=1", f"out={tmp_path}"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [
        str(tmp_path / f"{name}.{ext}") for name in ("landscape", "correlation") for ext in ("png", "csv")
    ]


def test_a_lone_csv_also_takes_the_name(tmp_path):
    (tmp_path / "landscape.csv").write_text("kept")
    assert fresh_figure_path(tmp_path, "landscape") == tmp_path / "landscape2.png"
    (tmp_path / "landscape2.png").write_bytes(b"")
    assert fresh_figure_path(tmp_path, "landscape") == tmp_path / "landscape3.png"


@pytest.mark.parametrize(
    "argv,message",  # message: fragments separated by " … ", each must appear in stderr
    [
        (["plot"], "plot needs a figure name first: yolo-alpha plot reweighting|landscape|correlation|iou-hist"),
        (["plot", "alphas=1"], "plot needs a figure name first"),
        (
            ["plot", "landscpe"],
            "no such figure. Choose one of reweighting, landscape, correlation, iou-hist. … Did you mean 'landscape'?",
        ),
        (
            ["plot", "reweighting", "alpha=3"],
            "'alpha' is not a key of 'plot reweighting'. Allowed: alphas, out. Did you",
        ),
        (["plot", "correlation", "loss=iou"], "Allowed: losses, n, out, seed"),
        (["plot", "reweighting", "alphas=0.5,-1"], "alphas must be a finite number > 0, got -1 (each item of alphas"),
        (["plot", "reweighting", "alphas=abc"], "alphas must be a finite number > 0, got 'abc'"),
        (
            ["plot", "landscape", "losses=iou,soft_iuo"],
            "losses='soft_iuo' is not valid (a box loss). … Did you mean 'soft_iou'?",
        ),
        (["plot", "correlation", "n=many"], "n must be an integer in [3, 100000], got 'many'"),
    ],
)
def test_plot_errors_are_one_line_and_name_the_key(tmp_path, capsys, argv, message):
    assert main([*argv, f"out={tmp_path}"] if len(argv) > 1 else argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("yolo-alpha: error: ") and "Traceback" not in err
    assert all(part in err for part in message.split(" … ")), err
    assert not list(tmp_path.iterdir())  # nothing is written when a key is refused


def test_help_plot_lists_every_figure(capsys):
    assert main(["help", "plot"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in PLOTS)
    main(["help"])
    assert "plot" in capsys.readouterr().out


def test_iou_hist_is_routed_to_its_module(tmp_path, capsys):
    # The real module's own check answers (no weights given), through the dispatcher's key check and lazy import.
    assert main(["plot", "iou-hist", "data=x.yaml", f"out={tmp_path}"]) == 2
    assert "plot iou-hist needs weights=" in capsys.readouterr().err
    assert main(["plot", "iou-hist", "weights=a.pt", "epochs=3"]) == 2
    assert "Allowed: batch, conf, data, device, imgsz, out, weights" in capsys.readouterr().err


def test_dispatch_imports_lazily_and_passes_list_keys(tmp_path, monkeypatch):
    # A stand-in for a plot module such as iou_hist: imported only when drawn, list keys arrive as list[str].
    calls = {}

    def fake_plot(out, *, weights, data):
        calls.update(out=out, weights=weights, data=data)
        png = out / "fake.png"
        png.write_bytes(b"\x89PNG\r\n\x1a\n")
        return png

    monkeypatch.setitem(sys.modules, "fake_plot_module", types.SimpleNamespace(draw=fake_plot))
    monkeypatch.setitem(PLOTS, "fake", PlotEntry("fake_plot_module", "draw", ("weights", "data"), ("weights",)))
    assert make_plot("fake", {"weights": "a.pt,b.pt", "data": "d.yaml", "out": tmp_path}) == [tmp_path / "fake.png"]
    assert calls == {"out": tmp_path, "weights": ["a.pt", "b.pt"], "data": "d.yaml"}
    make_plot("fake", {"weights": "only.pt", "data": "d.yaml", "out": tmp_path})
    assert calls["weights"] == ["only.pt"]
    with pytest.raises(ConfigError, match=r"'conf' is not a key of 'plot fake'\. Allowed: data, out, weights"):
        make_plot("fake", {"weights": "a.pt", "conf": 0.5})


def _one_line_error(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("yolo-alpha: error: ") and err.count("\n") == 1 and "Errno" not in err, err
    return err


def test_out_that_is_a_file_names_out(tmp_path, capsys):
    (tmp_path / "taken").write_text("the user's file")
    for out in (tmp_path / "taken", tmp_path / "taken" / "figures"):
        err = _one_line_error(["plot", "reweighting", f"out={out}"], capsys)
        assert f"out={out} " in err and "file" in err
    assert (tmp_path / "taken").read_text() == "the user's file"


@pytest.mark.skipif(sys.platform == "win32" or not hasattr(__import__("os"), "geteuid"), reason="POSIX permissions")
def test_out_that_cannot_be_created_names_out(tmp_path, capsys):
    import os

    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        err = _one_line_error(["plot", "reweighting", f"out={locked / 'figures'}"], capsys)
        assert f"out={locked / 'figures'} cannot be created: {locked} is not writable" in err
        assert not list(locked.iterdir())
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["plot", "landscape", "steps=100000"],
            "steps must be an integer in [3, 201], got 100000 (a panel is ~400 px wide: more than 201 points per axis "
            "would not be drawn)",
        ),
        (
            ["plot", "correlation", "n=100000000"],
            "n must be an integer in [3, 100000], got 100000000 (a scatter of more than 100000 points is one blot)",
        ),
    ],
)
def test_size_keys_are_bounded_by_what_the_figure_shows(tmp_path, capsys, argv, message):
    # Issue 16: steps=100000 tried to allocate 74.5 GiB; now it is refused at once, before anything is computed.
    err = _one_line_error([*argv, f"out={tmp_path}"], capsys)
    assert err == f"yolo-alpha: error: {message}\n"
    assert not list(tmp_path.iterdir())


def test_the_largest_landscape_is_computed(tmp_path):
    from yolo_alpha.plot.landscape import MAX_STEPS, landscape_data

    assert len(landscape_data(["iou"], steps=MAX_STEPS)) == MAX_STEPS**2
