#!/usr/bin/env bash
# Build the sdist and, from it, the wheel; install the wheel into a fresh virtualenv away from the source tree,
# and use it as a user would: import, --help, a tiny generated dataset and a two-step training run.
# Usage (from the repository root, with the dev virtualenv active): bash .ci/wheel_test.sh
set -euo pipefail
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python -m build --outdir "$work/dist" . > "$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
ls "$work/dist"
tar -tzf "$work"/dist/*.tar.gz | grep '/settings.ini$' > /dev/null || { echo "the sdist lacks settings.ini"; exit 1; }
python -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/pip" install --quiet --progress-bar off -c "$root/.ci/constraints.txt" "$work"/dist/*.whl 2>&1 | { grep -v "^WARNING: Location" || true; }
cd "$work"   # no source tree here: everything comes from the installed wheel
export MTI_NB_DATA="$work/data" PATH="$work/venv/bin:$PATH"
python -c "import mti_nb, pathlib; p = pathlib.Path(mti_nb.__file__); assert '$root' not in str(p), p; print('mti_nb', mti_nb.__version__, 'from', p.parent)"
mti_train --help > /dev/null && echo "mti_train --help: ok"
mti_synth --out "$work/data/tiny" --n-train 4 --n-val 2 --size 64 80 > /dev/null
mti_train --data "$work/data/tiny" --out "$work/run" --epochs 1 --batch-size 2 --size 64 80 --edge-thresholds 3 --quiet
python - <<PY
import json, pathlib
log = json.loads(pathlib.Path('$work/run/log.json').read_text())
steps = log['history'][-1]['step'] if isinstance(log, dict) and 'history' in log else None
print('trained from the wheel; log.json keys:', sorted(log)[:6], 'steps:', steps)
PY
echo "wheel test passed"
