#!/usr/bin/env bash
# bench/run.sh — nncc's runtime latency against onnxruntime (make bench).
#
# Builds what is missing (bin/nncc, the onnxruntime harness, the big
# torchvision models, PaddleOCR's models), then runs bench/latency, which
# times every model in both engines in alternating rounds on 1 and 2
# threads and regenerates bench/results/latest.json and the table in
# docs/performance.md.
#
# Flags are passed to bench/latency (go run ./bench/latency -h), e.g.
#   bench/run.sh -only resnet18 -rounds 3
# Environment:
#   PYTHON=/usr/bin/python3   the interpreter with torch, torchvision, onnx
#   OCR_MODELS=/tmp/nncc-models  where PaddleOCR's ppocr_{cls,rec,det}.onnx are
#                             (fetched there by passes/testdata/models/fetch.sh)
#   BENCH_WAIT_IDLE=120       wait up to this many seconds for the machine's
#                             load to drop below its CPU count first
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
GO=${GO:-go}

die() { echo "bench: $*" >&2; exit 1; }

command -v "$GO" >/dev/null || die "go not found on PATH"
# Always rebuild (a no-op when nothing changed), so a stale binary is never timed.
"$GO" build -o bin/nncc ./cmd/nncc || die "building bin/nncc failed"

# onnxruntime harness.
command -v node >/dev/null || die "node not found on PATH: install Node.js 18 or newer (make deps)"
if [ ! -f tools/ort/node_modules/onnxruntime-node/package.json ]; then
	command -v npm >/dev/null || die "onnxruntime-node is not installed and npm is not on PATH (make deps)"
	echo "bench: installing onnxruntime-node (tools/ort)"
	(cd tools/ort && npm ci --ignore-scripts) || die "npm ci in tools/ort failed"
fi

# The big models: torchvision's mobilenet_v2 and resnet18, exported once
# into the git-ignored bench/models.
if [ ! -f bench/models/mobilenet_v2.onnx ] || [ ! -f bench/models/resnet18.onnx ] || [ ! -f bench/models/mobilenet_v3_small.onnx ]; then
	[ -x "$PYTHON" ] || die "$PYTHON not found; set PYTHON to an interpreter with torch, torchvision and onnx"
	"$PYTHON" -c 'import torch, torchvision, onnx' 2>/dev/null ||
		die "$PYTHON lacks torch, torchvision or onnx (Debian: python3-torch python3-torchvision python3-onnx)"
	echo "bench: exporting mobilenet_v2, resnet18 and mobilenet_v3_small to bench/models"
	"$PYTHON" testmodels/train.py --no-digits --big-out bench/models || die "testmodels/train.py failed"
	for m in mobilenet_v2 resnet18 mobilenet_v3_small; do
		[ -f "bench/models/$m.onnx" ] || die "testmodels/train.py did not write bench/models/$m.onnx"
	done
fi

# PaddleOCR's models as shipped (rows are marked "not measured" without them).
OCR_MODELS=${OCR_MODELS:-/tmp/nncc-models}
if [ ! -f "$OCR_MODELS/ppocr_det.onnx" ] || [ ! -f "$OCR_MODELS/ppocr_rec.onnx" ] || [ ! -f "$OCR_MODELS/ppocr_cls.onnx" ]; then
	echo "bench: fetching PaddleOCR's models into $OCR_MODELS"
	sh passes/testdata/models/fetch.sh "$OCR_MODELS" || echo "bench: warning: fetching PaddleOCR's models failed; their rows will be missing" >&2
fi

# A busy machine makes every figure noisy: say so, and optionally wait.
cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
busy() { awk -v n="$cpus" '{ exit !($1 >= n) }' /proc/loadavg 2>/dev/null; }
waited=0
while busy && [ "$waited" -lt "${BENCH_WAIT_IDLE:-0}" ]; do
	[ "$waited" -eq 0 ] && echo "bench: load $(cut -d' ' -f1 /proc/loadavg) on $cpus CPUs; waiting up to ${BENCH_WAIT_IDLE}s for it to drop"
	sleep 10
	waited=$((waited + 10))
done
if busy; then
	echo "bench: warning: load $(cut -d' ' -f1-3 /proc/loadavg) on $cpus CPUs — the figures will be noisy (recorded in the results)" >&2
fi

exec "$GO" run ./bench/latency -ocr "$OCR_MODELS" "$@"
