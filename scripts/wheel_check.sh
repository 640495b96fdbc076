#!/usr/bin/env bash
# The installed wheel as a user gets it: build it from this checkout's files (tracked or not ignored, as a clean clone
# has them), install it into a clean virtual environment that reuses .venv's dependencies (no second download of
# torch), and run every verb's cheapest real path from a folder outside the checkout: offline, with HOME, the
# Ultralytics config folder and yolo-alpha's cache in temporary folders.
#
#     scripts/wheel_check.sh        (`make test` runs it after the test suite)
#
# VENV=<venv> names the environment whose packages are reused (default .venv); KEEP=1 keeps the temporary folder.
# Each step checks its exit code and a line of its output (and the files it must write); a failure names the step,
# prints the end of its log and exits 1. The last lines give the wheel's size and the wall time.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/yolo_alpha_wheel.XXXXXX")"
SRC="$TMP/src" WORK="$TMP/work" LOGS="$TMP/logs"
mkdir -p "$SRC" "$WORK" "$LOGS" "$TMP/home" "$TMP/empty" "$TMP/tmp"
cleanup() { if [[ "${KEEP:-0}" == 1 ]]; then echo "wheel_check: kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT
START=$SECONDS

fail() {  # fail STEP WHY: name the step and why, show the end of its log, stop
    echo "wheel_check: FAILED at step '$1': $2" >&2
    if [[ -f "$LOGS/$1.log" ]]; then
        echo "--- last lines of its output ($LOGS/$1.log) ---" >&2
        tail -n 25 "$LOGS/$1.log" >&2
    fi
    exit 1
}

step() {  # step NAME REGEX COMMAND...: run COMMAND in $WORK; it must exit 0 and print a line matching REGEX
    local name="$1" pattern="$2" started=$SECONDS rc=0
    shift 2
    (cd "$WORK" && "$@") >"$LOGS/$name.log" 2>&1 || rc=$?
    ((rc == 0)) || fail "$name" "exit code $rc (expected 0): $*"
    grep -Eq -- "$pattern" "$LOGS/$name.log" || fail "$name" "no output line matches /$pattern/: $*"
    echo "wheel_check: $name ok ($((SECONDS - started)) s)"
}

expect() {  # expect STEP WHY COMMAND...: after a step, COMMAND (a check of what it wrote) must succeed
    local name="$1" why="$2"
    shift 2
    (cd "$WORK" && "$@") >>"$LOGS/$name.log" 2>&1 || fail "$name" "$why"
}

refuses() {  # refuses NAME DIR REGEX COMMAND...: in DIR, COMMAND must exit 2 with one stderr line matching REGEX
    local name="$1" dir="$2" pattern="$3" rc=0
    shift 3
    (cd "$dir" && "$@") >"$LOGS/$name.out" 2>"$LOGS/$name.log" || rc=$?
    ((rc == 2)) || fail "$name" "exit code $rc (expected 2, a one-line refusal): $*"
    [[ $(grep -c . "$LOGS/$name.log") == 1 ]] || fail "$name" "expected exactly one line on stderr: $*"
    grep -Eq -- "$pattern" "$LOGS/$name.log" || fail "$name" "its error line does not match /$pattern/: $*"
    [[ -z "$(ls -A "$dir")" ]] || fail "$name" "a refusal created files in $dir: $(ls -A "$dir")"
    echo "wheel_check: $name ok (refused: $(cat "$LOGS/$name.log"))"
}

copy_tracked() {  # copy_tracked DEST PATHSPEC...: copy the checkout's files a clean clone has (tracked or not ignored)
    local dest="$1"
    shift
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard -- "$@" |
        while IFS= read -r -d '' f; do [[ -e "$f" ]] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -xf - -C "$dest"
}

# --- the wheel -------------------------------------------------------------------------------------------------------
git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
    fail sources "$ROOT is not a git checkout: the wheel is built from the files a clone has"
copy_tracked "$SRC" . ':!docs'
step build "Successfully built|Created wheel" \
    "$VENV/bin/python" -m pip wheel --no-deps --no-build-isolation --no-index -w "$TMP/dist" "$SRC"
WHEEL="$(ls "$TMP"/dist/yolo_alpha-*.whl)"  # its contents: tests/test_packaging.py

# A clean environment: the wheel's yolo_alpha, .venv's packages through a plain path line (its .pth files, among them
# the editable install's finder, are not run), pip from .venv too.
"$VENV/bin/python" -m venv --without-pip "$TMP/venv"
PURELIB="$("$TMP/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
"$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' >"$PURELIB/yolo_alpha_deps.pth"
# --force-reinstall: .venv's editable yolo-alpha is visible too (pip leaves it alone: "outside environment").
step install "Successfully installed yolo-alpha" \
    "$TMP/venv/bin/python" -m pip install --no-deps --no-index --force-reinstall "$WHEEL"

# Every verb below runs with only these variables, from $WORK (outside the checkout).
RUN=(env -i PATH="$TMP/venv/bin:/usr/bin:/bin" HOME="$TMP/home" LANG=C.UTF-8 TMPDIR="$TMP/tmp" MPLBACKEND=Agg
    YOLO_CONFIG_DIR="$TMP/ultralytics" YOLO_ALPHA_CACHE="$TMP/cache" YOLO_OFFLINE=1 YOLO_AUTOINSTALL=False)
Y=("${RUN[@]}" yolo-alpha)
step import "^$TMP/venv/" "${RUN[@]}" python -c 'import yolo_alpha, yolo_alpha.suites; print(yolo_alpha.__file__)'

# --- the verbs -------------------------------------------------------------------------------------------------------
step help "^Verbs:" "${Y[@]}" help
step help-losses "alpha_ciou" "${Y[@]}" help losses
RUNS="$WORK/runs"  # absolute: Ultralytics puts a relative project= under its own runs_dir
step train "mAP75-95" "${Y[@]}" train epochs=1 imgsz=64 batch=16 fraction=0.05 plots=False project="$RUNS" name=train
BEST="$RUNS/train/weights/best.pt"
expect train "no $BEST" test -f "$BEST"
step val "AP by IoU threshold" "${Y[@]}" val model="$BEST" imgsz=64 plots=False project="$RUNS" name=val
expect val "no ap_by_iou.csv" test -f "$RUNS/val/ap_by_iou.csv"
step export "best\.torchscript" "${Y[@]}" export model="$BEST" format=torchscript imgsz=64
expect export "no best.torchscript" test -f "$RUNS/train/weights/best.torchscript"
VAL_IMAGES=("$TMP"/cache/synthetic-*/images/val/*)  # the embedded set, generated by the train step
IMAGE="${VAL_IMAGES[0]}"
step predict "Results saved to" "${Y[@]}" predict model="$BEST" source="$IMAGE" imgsz=64 project="$RUNS" name=predict
expect predict "no predicted image in $RUNS/predict" test -n "$(ls -A "$RUNS/predict")"
step plot "reweighting\.png" "${Y[@]}" plot reweighting out="$WORK/plots"
step sweep "^ *todo " "${Y[@]}" sweep cfg=demo.yaml dry_run=True

# data coco: two of the synthetic images, one box each, in a COCO detection JSON written here.
mkdir -p "$WORK/coco/images"
cp "${VAL_IMAGES[@]:0:2}" "$WORK/coco/images/"
"$VENV/bin/python" - "$WORK/coco" <<'EOF'
import json, sys
from pathlib import Path

root = Path(sys.argv[1])
images = [{"id": i, "file_name": p.name, "width": 160, "height": 160} for i, p in enumerate(sorted((root / "images").iterdir()))]
boxes = [{"id": i, "image_id": i, "category_id": 7, "bbox": [10, 20, 40, 30], "iscrowd": 0, "area": 1200} for i in range(len(images))]
categories = [{"id": 7, "name": "shape"}]
(root / "instances_tiny.json").write_text(json.dumps({"images": images, "annotations": boxes, "categories": categories}))
EOF
step data-coco "data\.yaml" "${Y[@]}" data coco json="$WORK/coco/instances_tiny.json" images="$WORK/coco/images" \
    out="$WORK/coco_yolo"
expect data-coco "expected 2 label lines in $WORK/coco_yolo/labels/tiny" \
    test "$(cat "$WORK"/coco_yolo/labels/tiny/*.txt | grep -c .)" = 2

# The committed CPU study: resumable under the checkout's absolute path (all 120 cells done, nothing to train), and
# its report regenerated byte for byte from a copy at the same relative path.
step reproduce "^ *done " "${Y[@]}" reproduce suite=cpu dry_run=True project="$ROOT/docs/reproduction"
DONE="$(grep -Ec '^ *done ' "$LOGS/reproduce.log" || true)"
expect reproduce "expected 120 cells (and 2 warm starts) done, listed $DONE" test "$DONE" -ge 120
expect reproduce "some cell is not done" bash -c "! grep -Eq '^ *(todo|resume) ' '$LOGS/reproduce.log'"
mkdir -p "$WORK/docs/reproduction/cpu"
copy_tracked "$WORK" docs/reproduction/cpu ':!docs/reproduction/cpu/report'
step report "report\.md" "${Y[@]}" report docs/reproduction/cpu
for committed in "$ROOT"/docs/reproduction/cpu/report/*.md "$ROOT"/docs/reproduction/cpu/report/*.csv; do
    expect report "$(basename "$committed") differs from the committed report" \
        cmp "$committed" "docs/reproduction/cpu/report/$(basename "$committed")"
done

# demo without a study (a pip install run from any folder): one clear line, exit 2, nothing created.
refuses demo "$TMP/empty" "^yolo-alpha: error: .*study" "${Y[@]}" demo

echo "wheel_check: passed; wheel $(basename "$WHEEL") $(($(stat -c %s "$WHEEL") / 1024)) KiB; $((SECONDS - START)) s"
