"""The report says where its rows trained (yolo_alpha.report.writer.environment_lines)."""

from yolo_alpha.report.writer import environment_lines

ENV_A = {"torch": "2.14.1", "ultralytics": "8.4.190", "opencv-python": "5.0.0.93", "numpy": "2.4.6", "cpu": "X"}
ENV_B = {**ENV_A, "opencv-python": "5.1.0.95"}


def test_one_environment_is_one_line():
    lines = environment_lines([{"environment": ENV_A}, {"environment": dict(ENV_A)}])
    assert lines == [
        "Trained in one environment: cpu X, numpy 2.4.6, opencv-python 5.0.0.93, torch 2.14.1, ultralytics 8.4.190.",
        "",
    ]


def test_mixed_environments_and_unrecorded_rows_are_counted():
    lines = environment_lines([{"environment": ENV_A}, {"environment": ENV_B}, {"environment": ENV_B}, {}])
    assert lines[0].startswith("**Rows of 3 environments**")
    assert "- 1 rows: cpu X, numpy 2.4.6, opencv-python 5.0.0.93" in "\n".join(lines)
    assert any(line.startswith("- 2 rows:") and "5.1.0.95" in line for line in lines)
    assert "- 1 rows: not recorded (trained before rows recorded it)" in lines


def test_rows_without_any_record_add_nothing():
    assert environment_lines([{}, {"cell_id": "a"}]) == []
