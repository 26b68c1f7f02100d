"""Runs the ONNX checker (full_check) on every model path read from stdin.

Prints one JSON line per path: {"path": ..., "ok": bool, "error": str}.
Used by nncc's Go tests through internal/onnxcheck.
"""
import json
import sys

import onnx

for line in sys.stdin:
    path = line.strip()
    if not path:
        continue
    try:
        onnx.checker.check_model(path, full_check=True)
        res = {"path": path, "ok": True, "error": ""}
    except Exception as e:  # the checker raises several exception types
        res = {"path": path, "ok": False, "error": str(e).strip()[:2000]}
    print(json.dumps(res), flush=True)
