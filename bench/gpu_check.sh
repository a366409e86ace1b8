#!/usr/bin/env bash
# The decode loop on a lent GPU, in one call of about eight minutes: versions, then
# bench/llm_speed.py (Qwen2.5-1.5B-Instruct's configuration, random bf16 weights) with
# torch.profiler tables of its decode steps. Run from the repository root on the GPU machine:
#   bash bench/gpu_check.sh            # files under $OUT (or a new temporary folder)
# Record the JSON in docs/benchmarks.md with the device, the versions and the date.
set -uo pipefail
out=${OUT:-$(mktemp -d)}
export PYTHONUNBUFFERED=1
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers",
transformers.__version__, torch.cuda.get_device_name())' | tee "$out/versions.txt"
nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv \
  | tee -a "$out/versions.txt"
timeout 480 python3 bench/llm_speed.py --profile "$out/profile.txt" \
  >"$out/llm_speed.json" 2>"$out/llm_speed.err"
echo "bench/llm_speed.py exited $?"
cat "$out/llm_speed.json"
tail -n 5 "$out/llm_speed.err"
