#!/usr/bin/env bash
# The main job: set up cairn (Debian packages, build, kernelspec — tests/setup.sh), then
# execute the teaching primers headless with nbconvert and say where the results are.
# Usage: bash notebooks/run.sh [NOTEBOOK.ipynb ...]   (default: every primer)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh

out=${CAIRN_OUTPUT_DIR:-$PWD/notebooks/executed}
mkdir -p "$out"
if [ $# -gt 0 ]; then notebooks=("$@"); else notebooks=(notebooks/0*.ipynb); fi
for nb in "${notebooks[@]}"; do
  /usr/bin/jupyter nbconvert --to notebook --execute --allow-errors \
    --ExecutePreprocessor.kernel_name=cairn --ExecutePreprocessor.timeout=300 \
    "$nb" --output-dir "$out" --log-level WARN
  /usr/bin/jupyter nbconvert --to html "$out/$(basename "$nb")" --output-dir "$out" --log-level WARN
  echo "executed $nb -> $out/$(basename "$nb") (and .html)"
done
echo "results are in $out"
