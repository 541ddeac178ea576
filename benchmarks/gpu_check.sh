#!/usr/bin/env bash
# Run THERE, on the lent GPU machine, after benchmarks/gpu_prepare.sh here (see it). One call, at most
# 8 minutes: correctness against the CPU float32 reference, then AudioLDM-S and AudioLDM 2 at 200 DDIM
# and 20 DPM-Solver++ steps in float16 and bfloat16, ours against diffusers eager and diffusers with
# torch.compile. Figures go to $OUT/gpu_check.json as they are measured (a timeout keeps what was done).
set -uo pipefail
export PYTHONUNBUFFERED=1
OUT="${OUT:-/tmp/gpu-check-out}"
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
  .gpu/wheels/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/nvidia-smi.txt"
timeout 470 python3 -m benchmarks.gpu_check --reference .gpu/reference --out "$OUT/gpu_check.json" "$@" 2>&1 \
  | tee "$OUT/gpu_check.log"
