#!/usr/bin/env bash
# The main job: set up cairn (Debian packages, build, kernelspec — tests/setup.sh), then
# execute the teaching primers headless with nbconvert and say where the results are.
# Usage: bash notebooks/run.sh [NOTEBOOK.ipynb ...]   (default: every primer)
# Environment: CAIRN_QUICK=1 runs the primers in their quick mode (small data, what the tests
# do); CAIRN_PARAM_<name>=value overrides a parameter of the tuning primer; runs of the
# tuning primer go to $MLFLOW_TRACKING_URI (default: <output dir>/mlruns);
# CAIRN_FIGURES_DIR=dir also writes every figure of the executed notebooks there as
# <notebook>-<cell id>-<n>.png (the README's pictures come from a quick run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh

out=${CAIRN_OUTPUT_DIR:-$PWD/notebooks/executed}
mkdir -p "$out"
export MLFLOW_TRACKING_URI=${MLFLOW_TRACKING_URI:-$out/mlruns}
if [ $# -gt 0 ]; then notebooks=("$@"); else notebooks=(notebooks/0*.ipynb); fi
for nb in "${notebooks[@]}"; do
  start=$SECONDS
  /usr/bin/jupyter nbconvert --to notebook --execute --allow-errors \
    --ExecutePreprocessor.kernel_name=cairn --ExecutePreprocessor.timeout=3600 \
    "$nb" --output-dir "$out" --log-level WARN
  /usr/bin/jupyter nbconvert --to html "$out/$(basename "$nb")" --output-dir "$out" --log-level WARN
  echo "executed $nb in $((SECONDS - start)) s -> $out/$(basename "$nb") (and .html)"
  if [ -n "${CAIRN_FIGURES_DIR:-}" ]; then
    mkdir -p "$CAIRN_FIGURES_DIR"
    /usr/bin/python3 - "$out/$(basename "$nb")" "$CAIRN_FIGURES_DIR" <<'PY'
import base64, json, os, sys
path, target = sys.argv[1], sys.argv[2]
stem = os.path.basename(path)[:-len(".ipynb")]
for cell in json.load(open(path))["cells"]:
    n = 0
    for o in cell.get("outputs", []):
        png = o.get("data", {}).get("image/png")
        if png:
            with open(os.path.join(target, "%s-%s-%d.png" % (stem, cell.get("id", "cell"), n)), "wb") as f:
                f.write(base64.b64decode(png))
            n += 1
PY
  fi
done
echo "results are in $out"
