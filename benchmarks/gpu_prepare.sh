#!/usr/bin/env bash
# Run HERE (a machine with pip's registry) before spending GPU time: fills .gpu/ (git-ignored through
# .git/info/exclude) with what benchmarks/gpu_check.sh needs on the GPU machine, which has PyTorch but
# none of these and no network: our own wheel, the packages it imports that the machine's image lacks
# (cp312 manylinux wheels), and the published configs (../shared does not travel).
# Then: device run with carry [".gpu"] and command "bash benchmarks/gpu_check.sh".
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/wheels .gpu/reference
python3 -m pip wheel -q --no-deps -w .gpu/wheels .
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux_2_27_x86_64 --platform manylinux1_x86_64 -d .gpu/wheels \
  diffusers==0.42.1 soundfile==0.13.1 cffi pycparser soxr importlib_metadata zipp
# transformers, tokenizers and huggingface_hub are the image's own (a 5.x transformers, as here).
cp tests/reference/published-configs/*.json .gpu/reference/
du -sh .gpu
