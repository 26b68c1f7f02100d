"""torch's global L1 (mask-only) pruning of the bundled digits models, as
the reference row of docs/pruning.md. The weights are the ONNX files'
initializers, loaded into testmodels/train.py's module definitions;
torch.nn.utils.prune.global_unstructured masks the Conv/Linear weights
and the held-out set is scored. Prints one JSON object.

usage: /usr/bin/python3 bench/prunedoc/torch_prune.py REPO SPARSITY...
"""
import json
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn.utils.prune as tprune

repo = sys.argv[1]
sys.path.insert(0, os.path.join(repo, "testmodels"))
import train  # noqa: E402

levels = [float(s) for s in sys.argv[2:]]
data = os.path.join(repo, "testmodels", "data")
y = np.load(os.path.join(data, "digits_test_y.npy"))
out = {}
for name, cls, xfile in [
    ("digits_cnn", train.DigitsCNN, "digits_test_x.npy"),
    ("digits_mlp", train.DigitsMLP, "digits_test_x_flat.npy"),
]:
    x = torch.from_numpy(np.load(os.path.join(data, xfile)))
    m = onnx.load(os.path.join(repo, "testmodels", name + ".onnx"))
    inits = {i.name: torch.from_numpy(onnx.numpy_helper.to_array(i).copy()) for i in m.graph.initializer}
    res = {}
    for s in [0.0] + levels:
        model = cls()
        sd = model.state_dict()
        for k in sd:
            if k in inits:
                sd[k] = inits[k].reshape(sd[k].shape)
        model.load_state_dict(sd)
        model.eval()
        params = [(mod, "weight") for mod in model.modules() if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear))]
        if s > 0:
            tprune.global_unstructured(params, pruning_method=tprune.L1Unstructured, amount=s)
        with torch.no_grad():
            pred = model(x).argmax(1).numpy()
        res["%g" % s] = float((pred == y).mean())
    out[name] = res
print(json.dumps(out))
