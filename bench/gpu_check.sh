#!/usr/bin/env bash
# Every GPU check, in one run on a GPU machine that has torch, transformers and
# sentence-transformers but not stepdr's other dependencies (no faiss, tantivy, scrapy).
#
#   here:      python bench/gpu_pack.py --data data --out .gpu     # fp16 model + passages
#   there:     bash bench/gpu_check.sh [OUT_DIR]                   # with .gpu carried along
#
# Writes one log per check under OUT_DIR (default $OUT, else /tmp/gpu-check) and prints
# them all. A check that fails is reported and the next one still runs. DRY=1 runs each
# check at a toy size (the CPU dry run before a GPU is lent).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-/tmp/gpu-check}}
mkdir -p "$out"
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1
# stepdr's import names over this checkout, without installing it.
site=$(mktemp -d)
mkdir -p "$site/stepdr"
for p in core crawl index rank agent; do ln -sfn "$PWD/$p" "$site/stepdr/$p"; done
export PYTHONPATH="$site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
[ -d .gpu/minilm-fp16 ] && export STEPDR_DEFAULT_MODEL_DIR="$PWD/.gpu/minilm-fp16"

check() {  # name, command...
    local name=$1; shift
    echo "== $name: $*"
    local start=$SECONDS
    if "$@" > "$out/$name.log" 2>&1; then status=ok; else status="FAILED ($?)"; fi
    echo "$status in $((SECONDS - start)) s" | tee -a "$out/$name.log"
    tail -n 25 "$out/$name.log"
}

if [ "${DRY:-}" = 1 ]; then n=200; vectors=20000; layers=(--layers 2 --new 8 --batches 1,2); else
    n=40000; vectors=1000000; layers=(--batches 1,8,32); fi
check gpu "$py" -c "import torch; print(torch.__version__, torch.cuda.get_device_name())"
check gpu-tests "$py" -m pytest -q -rs -m gpu -p no:cacheprovider tests/test_dense.py
check embed "$py" bench/embed_gpu.py --passages .gpu/passages.jsonl.gz --n "$n"
check dense "$py" bench/dense_search.py --n "$vectors"
check agent "$py" bench/agent_gpu.py "${layers[@]}"
