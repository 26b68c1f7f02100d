#!/usr/bin/python3
"""Train and export the models nncc is tested on.

Run from the repository root with Debian's Python (torch, torchvision,
scikit-learn and onnx 1.12 installed):

    /usr/bin/python3 testmodels/train.py               # digits models + data + README
    /usr/bin/python3 testmodels/train.py --big-out DIR # also mobilenet_v2 and resnet18

Everything is seeded, so a rerun with the same library versions reproduces
the same weights. The digits models are small and committed; the two
ImageNet-sized models (random weights, for speed and size benchmarks) are
only written under --big-out and never committed.

Written under testmodels/ (see README.md there for what each model holds):

    digits_cnn.onnx             Conv/BatchNormalization/Relu/MaxPool/AveragePool/
                                Flatten/Dropout/Gemm, opset 13
    digits_mlp.onnx             Gemm + decomposed LayerNorm + Erf-based GELU +
                                Dropout (ratio attribute, one with a mask output),
                                opset 11
    digits_cnn_constnodes.onnx  the CNN as paddle2onnx-like exporters write it:
                                no initializers (Constant nodes of every value
                                form), Reshape instead of Flatten, opset 12
    data/digits_test_x.npy      float32 N x 1 x 8 x 8, pixels scaled to [0, 1]
    data/digits_test_x_flat.npy float32 N x 64, the same images flattened
    data/digits_test_y.npy      int64 N labels
    data/<model>/test_data_set_K/{input_0,output_0}.pb
                                inputs and torch's logits: K=0 is the whole
                                test split, K=1 its first image alone

If the onnxruntime harness (tools/ort/ortrun.js, with its node_modules
installed) is present, every exported model is also run through it and the
README records onnxruntime's accuracy next to torch's.
"""

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

SEED = 20240601
TEST_FRACTION = 0.25
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ORTRUN = os.path.join(REPO, "tools", "ort", "ortrun.js")


# ---------------------------------------------------------------- data


def digits_split():
    """Returns (x_train, y_train, x_test, y_test): float32 N x 1 x 8 x 8
    images in [0, 1] and int64 labels, split 75/25, stratified, seeded."""
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=TEST_FRACTION, random_state=SEED % (2**32), stratify=y
    )
    return x_tr, y_tr, x_te, y_te


# ---------------------------------------------------------------- models


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 8x8 -> 4x4
            nn.Conv2d(16, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.AvgPool2d(2),  # 4x4 -> 2x2
        )
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(0.5)
        self.classifier = nn.Linear(32 * 2 * 2, 10)

    def forward(self, x):
        return self.classifier(self.dropout(self.flatten(self.features(x))))


class DigitsMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(64, 128),
            nn.LayerNorm(128),
            nn.GELU(),
            nn.Dropout(0.1),
            nn.Linear(128, 64),
            nn.LayerNorm(64),
            nn.GELU(),
            nn.Dropout(0.1),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        return self.net(x)


def train(model, x, y, epochs, lr, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 32):
            idx = perm[i : i + 32]
            opt.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
        sched.step()
    model.eval()
    return model


def logits_of(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def accuracy(logits, y):
    return float((logits.argmax(axis=1) == y).mean())


# ---------------------------------------------------------------- export


def export(model, example, opset, input_name="input", output_name="logits"):
    """Exports model (in eval mode) keeping BatchNormalization nodes.

    TrainingMode.EVAL makes torch fold BatchNormalization into the
    preceding Conv even without constant folding; PRESERVE on a model in
    eval mode exports inference-mode BatchNormalization unfused.
    """
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        torch.onnx.export(
            model,
            example,
            path,
            opset_version=opset,
            do_constant_folding=False,
            training=torch.onnx.TrainingMode.PRESERVE,
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
        )
        m = onnx.load(path)
    m.producer_name = "nncc-testmodels/train.py (pytorch %s)" % torch.__version__
    return m


def op_types(m):
    return [n.op_type for n in m.graph.node]


def require_ops(m, name, ops):
    have = set(op_types(m))
    missing = [op for op in ops if op not in have]
    if missing:
        sys.exit("%s: exported graph lacks %s (has %s)" % (name, missing, sorted(have)))


def consumers(g, value):
    return [n for n in g.node if value in n.input]


def insert_dropout(m, before, ratio, name, mask=False):
    """Inserts a Dropout on input 0 of node `before`, as exporters that keep
    Dropout in inference graphs write it: ratio as an attribute below opset
    12, as a scalar initializer input from opset 12 on. Dropout is the
    identity at inference, so the model's outputs do not change."""
    g = m.graph
    opset = next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    x = before.input[0]
    y = "/%s/Dropout_output_0" % name
    outputs = [y]
    if mask:
        outputs.append("/%s/Dropout_output_1" % name)
    if opset < 12:
        node = helper.make_node("Dropout", [x], outputs, name="/%s/Dropout" % name, ratio=ratio)
    else:
        r = "%s.ratio" % name
        g.initializer.append(numpy_helper.from_array(np.array(ratio, dtype=np.float32), r))
        node = helper.make_node("Dropout", [x, r], outputs, name="/%s/Dropout" % name)
    before.input[0] = y
    pos = list(g.node).index(before)
    g.node.insert(pos, node)


def finish(m, name):
    onnx.checker.check_model(m)
    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    return m


def cnn_onnx(model, opset=13):
    m = export(model, torch.zeros(1, 1, 8, 8), opset)
    require_ops(m, "digits_cnn", ["Conv", "BatchNormalization", "Relu", "MaxPool", "AveragePool", "Flatten", "Gemm"])
    gemm = next(n for n in m.graph.node if n.op_type == "Gemm")
    insert_dropout(m, gemm, 0.5, "dropout")
    return finish(m, "digits_cnn")


def mlp_onnx(model, opset=11):
    m = export(model, torch.zeros(1, 64), opset)
    require_ops(m, "digits_mlp", ["ReduceMean", "Sub", "Pow", "Sqrt", "Div", "Erf", "Mul", "Add", "Gemm"])
    gemms = [n for n in m.graph.node if n.op_type == "Gemm"]
    # Every Gemm but the first reads a GELU output; torch had a Dropout there.
    for i, gemm in enumerate(gemms[1:]):
        insert_dropout(m, gemm, 0.1, "net/dropout%d" % i, mask=(i == 0))
    return finish(m, "digits_mlp")


def constant_node(name, arr, force_tensor=False):
    """A Constant node holding arr, in the most specific value form opset 12
    allows: value_float/value_int for float32/int64 scalars,
    value_floats/value_ints for 1-D ones, a value tensor otherwise."""
    if not force_tensor and arr.dtype == np.float32 and arr.ndim == 0:
        return helper.make_node("Constant", [], [name], name=name + "_const", value_float=float(arr))
    if not force_tensor and arr.dtype == np.int64 and arr.ndim == 0:
        return helper.make_node("Constant", [], [name], name=name + "_const", value_int=int(arr))
    if not force_tensor and arr.dtype == np.float32 and arr.ndim == 1:
        return helper.make_node("Constant", [], [name], name=name + "_const", value_floats=[float(v) for v in arr])
    if not force_tensor and arr.dtype == np.int64 and arr.ndim == 1:
        return helper.make_node("Constant", [], [name], name=name + "_const", value_ints=[int(v) for v in arr])
    return helper.make_node("Constant", [], [name], name=name + "_const", value=numpy_helper.from_array(arr, name))


def cnn_constnodes_onnx(model):
    """The CNN as paddle2onnx and older exporters write graphs: opset 12,
    IR version 7, no initializers (every weight a Constant node placed just
    before its first use, in mixed value forms), Reshape(x, [0, -1]) for
    the flatten, a Dropout with Constant ratio and training_mode inputs,
    and paddle-like tensor names."""
    m = export(model, torch.zeros(1, 1, 8, 8), 12, input_name="x", output_name="save_infer_model/scale_0.tmp_0")
    g = m.graph
    m.ir_version = 7
    m.producer_name = "nncc-testmodels/train.py (paddle-style rewrite)"

    # Flatten(axis=1) -> Reshape(x, shape=[0, -1]).
    flat = next(n for n in g.node if n.op_type == "Flatten")
    g.initializer.append(numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "reshape_0.shape"))
    reshape = helper.make_node("Reshape", [flat.input[0], "reshape_0.shape"], list(flat.output), name="reshape_0")
    g.node.insert(list(g.node).index(flat), reshape)
    g.node.remove(flat)

    gemm = next(n for n in g.node if n.op_type == "Gemm")
    insert_dropout(m, gemm, 0.5, "dropout_0")
    drop = next(n for n in g.node if n.op_type == "Dropout")
    g.initializer.append(numpy_helper.from_array(np.array(False), "dropout_0.is_test"))
    drop.input.append("dropout_0.is_test")

    # Every initializer becomes a Constant node just before its first user.
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    del g.initializer[:]
    nodes = list(g.node)
    out = []
    placed = set()
    for n in nodes:
        for i in n.input:
            if i in inits and i not in placed:
                # The 4-D conv weights stay tensors anyway; keep one 1-D
                # bias as a tensor too so both spellings occur for 1-D data.
                out.append(constant_node(i, inits[i], force_tensor=(i == "features.0.bias")))
                placed.add(i)
        out.append(n)
    del g.node[:]
    g.node.extend(out)

    # Paddle-like names: the graph keeps its tensor names but not torch's
    # value_info.
    del g.value_info[:]
    return finish(m, "digits_cnn_constnodes")


# ---------------------------------------------------------------- files


def save_pb(path, arr, name):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(arr, name).SerializeToString())


def save_test_sets(dir, m, inputs, outputs):
    """Writes test_data_set_K/input_0.pb and output_0.pb for each (input,
    output) pair, named after the graph's input and output."""
    if os.path.isdir(dir):
        shutil.rmtree(dir)
    in_name = m.graph.input[0].name
    out_name = m.graph.output[0].name
    for k, (x, y) in enumerate(zip(inputs, outputs)):
        save_pb(os.path.join(dir, "test_data_set_%d" % k, "input_0.pb"), x, in_name)
        save_pb(os.path.join(dir, "test_data_set_%d" % k, "output_0.pb"), y, out_name)


def ort_available():
    return shutil.which("node") and os.path.isfile(ORTRUN) and os.path.isdir(os.path.join(REPO, "tools", "ort", "node_modules", "onnxruntime-node"))


def ort_logits(models):
    """Runs {name: (model path, input .pb path)} through tools/ort/ortrun.js
    (one node process, one thread, all graph optimizations) and returns
    {name: logits}."""
    names = sorted(models)
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for name in names:
            path, inp = models[name]
            m = onnx.load(path)
            jobs.append({"model": path, "inputs": {m.graph.input[0].name: inp}, "out": os.path.join(tmp, name)})
        res = subprocess.run(
            ["node", ORTRUN, "run", "--threads", "1", "--opt", "all"],
            input=json.dumps(jobs), capture_output=True, text=True, check=True,
        )
        lines = [json.loads(l) for l in res.stdout.splitlines() if l.strip()]
        out = {}
        for name, job, r in zip(names, jobs, lines):
            if "error" in r:
                sys.exit("onnxruntime failed on %s: %s" % (name, r["error"]))
            t = onnx.TensorProto()
            with open(os.path.join(job["out"], "output_0.pb"), "rb") as f:
                t.ParseFromString(f.read())
            out[name] = numpy_helper.to_array(t)
    return out


README_HEAD = """# Test models

Models nncc is tested on. The small-graph builder for unit tests is
`builder.go`; the trained models below are produced by `train.py`.

Regenerate everything (from the repository root; Debian's Python with
torch, torchvision, scikit-learn and onnx 1.12):

    /usr/bin/python3 testmodels/train.py
    /usr/bin/python3 testmodels/train.py --big-out bench/models  # + mobilenet_v2, resnet18 (git-ignored)

Onnxruntime's figures need the harness installed first
(`cd tools/ort && npm ci --ignore-scripts`); without it the script leaves
them out.

## Digits models

Trained on scikit-learn's bundled `load_digits` (1797 8x8 grayscale images,
10 classes; pixels scaled to [0, 1]), split 75/25 stratified with seed
{seed}: {ntrain} training and {ntest} test images. Every graph has a
symbolic batch dimension `batch` and returns logits (argmax = class).

| model | opset | IR | nodes | op types | input | fp32 test accuracy (torch) | fp32 test accuracy (onnxruntime) | max abs logit diff torch vs ort |
|---|---|---|---|---|---|---|---|---|
"""

README_TAIL = """
What each is for:

- `digits_cnn.onnx`: Conv 3x3 (16) + BatchNormalization + Relu + MaxPool 2,
  Conv 3x3 (32) + BatchNormalization + Relu + AveragePool 2, Flatten,
  Dropout (ratio 0.5 as an initializer input, opset 13 form), Gemm. Exported
  with `training=PRESERVE` on a model in eval mode, because torch's EVAL mode
  folds BatchNormalization into Conv; the Dropout was inserted after export
  (eval-mode exports drop it) where the torch model has it.
- `digits_mlp.onnx`: Gemm 64->128, LayerNorm, GELU, Dropout, Gemm 128->64,
  LayerNorm, GELU, Dropout, Gemm 64->10. Opset 11, so torch decomposes
  LayerNorm into ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add and GELU
  into Div/Erf/Add/Mul/Mul; the two Dropouts carry ratio 0.1 as an
  attribute (the pre-12 form), the first also with its unused mask output.
- `digits_cnn_constnodes.onnx`: the same trained CNN written the way
  paddle2onnx and older exporters write graphs: opset 12, IR version 7, no
  initializers: every weight is a Constant node placed just before its first
  use, in every value form opset 12 has (`value` tensors for the 4-D
  weights and one bias, `value_floats` for 1-D float data, `value_ints` for
  the Reshape shape, `value_float` for the Dropout ratio, a bool `value` for
  Dropout's training_mode); Flatten is written as Reshape(x, [0, -1]); the
  tensor names are paddle-like (`x`, `save_infer_model/scale_0.tmp_0`).

Data (`data/`):

- `digits_test_x.npy`: float32 [{ntest}, 1, 8, 8], the test images (CNN input).
- `digits_test_x_flat.npy`: float32 [{ntest}, 64], the same flattened (MLP input).
- `digits_test_y.npy`: int64 [{ntest}], their labels.
- `data/<model>/test_data_set_0/`: `input_0.pb` (the whole test split) and
  `output_0.pb` (torch's logits for it); `test_data_set_1/`: the first test
  image alone and its logits. Tensor names match the graph's input and output.

`internal/ortref` runs these through onnxruntime in a Go test and checks the
logits against torch's and the accuracies against this table.

## Large models (not committed)

`--big-out DIR` writes torchvision's `mobilenet_v2.onnx` and `resnet18.onnx`
(random weights from seed {seed}, BatchNormalization statistics measured on
random images so that activations keep their scale, eval mode, input
`input` [batch, 3, 224, 224], opset 13, BatchNormalization kept) and for each
`DIR/<model>/test_data_set_0/{{input_0,output_0}}.pb` (one seeded random
image and torch's output).
"""


def fmt_acc(a):
    return "-" if a is None else "%.2f%%" % (100 * a)


def write_readme(rows, ntrain, ntest):
    text = README_HEAD.format(seed=SEED, ntrain=ntrain, ntest=ntest)
    for r in rows:
        text += "| `%s` | %d | %d | %d | %s | %s | %s | %s | %s |\n" % (
            r["file"], r["opset"], r["ir"], r["nodes"], ", ".join(r["ops"]), r["input"],
            fmt_acc(r["torch_acc"]), fmt_acc(r["ort_acc"]),
            "-" if r["ort_diff"] is None else "%.2g" % r["ort_diff"],
        )
    text += README_TAIL.format(seed=SEED, ntest=ntest)
    with open(os.path.join(HERE, "README.md"), "w") as f:
        f.write(text)


def distinct_ops(m):
    seen = []
    for op in op_types(m):
        if op not in seen:
            seen.append(op)
    return seen


def calibrate_batchnorm(model):
    """Gives a randomly initialized model's BatchNormalization layers
    non-trivial parameters: random affine weights and running statistics
    measured on random images, as training would leave them. Without this,
    torchvision's fresh layers are identities (mean 0, variance 1, scale 1,
    shift 0), which tells nothing about BatchNormalization folding, and
    activations shrink layer by layer until the outputs are ~1e-8. Returns
    the model in eval mode."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0.0, 0.1)
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the batches below
        model.train()
        for _ in range(4):
            model(torch.randn(8, 3, 224, 224))
    for bn in bns:
        bn.momentum = 0.1
    return model.eval()


def big_models(out):
    import torchvision

    os.makedirs(out, exist_ok=True)
    for name, ctor in [("mobilenet_v2", torchvision.models.mobilenet_v2), ("resnet18", torchvision.models.resnet18),
                       ("mobilenet_v3_small", torchvision.models.mobilenet_v3_small)]:
        torch.manual_seed(SEED)
        model = calibrate_batchnorm(ctor(weights=None))
        m = export(model, torch.zeros(1, 3, 224, 224), 13)
        require_ops(m, name, ["Conv", "BatchNormalization"])
        finish(m, name)
        path = os.path.join(out, name + ".onnx")
        onnx.save(m, path)
        x = np.random.default_rng(SEED).standard_normal((1, 3, 224, 224), dtype=np.float32)
        y = logits_of(model, x)
        save_test_sets(os.path.join(out, name), m, [x], [y])
        print("%s: %s (%d nodes: %s)" % (name, path, len(m.graph.node), ", ".join(distinct_ops(m))))
        if ort_available():
            got = ort_logits({name: (path, os.path.join(out, name, "test_data_set_0", "input_0.pb"))})[name]
            print("%s: onnxruntime vs torch max |diff| %.3g (outputs of order %.3g)" % (name, np.abs(got - y).max(), np.abs(y).max()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--big-out", help="also write mobilenet_v2 and resnet18 (and their test data) to this directory")
    ap.add_argument("--no-digits", action="store_true", help="skip the digits models")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    if not args.no_digits:
        digits()
    if args.big_out:
        big_models(args.big_out)


def digits():
    data = os.path.join(HERE, "data")
    os.makedirs(data, exist_ok=True)
    x_tr, y_tr, x_te, y_te = digits_split()
    x_te_flat = x_te.reshape(len(x_te), 64)
    np.save(os.path.join(data, "digits_test_x.npy"), x_te)
    np.save(os.path.join(data, "digits_test_x_flat.npy"), x_te_flat)
    np.save(os.path.join(data, "digits_test_y.npy"), y_te)

    torch.manual_seed(SEED)
    cnn = train(DigitsCNN(), x_tr, y_tr, epochs=40, lr=3e-3, seed=SEED)
    torch.manual_seed(SEED + 1)
    mlp = train(DigitsMLP(), x_tr.reshape(len(x_tr), 64), y_tr, epochs=40, lr=2e-3, seed=SEED + 1)

    built = [
        ("digits_cnn", cnn_onnx(cnn), cnn, x_te),
        ("digits_mlp", mlp_onnx(mlp), mlp, x_te_flat),
        ("digits_cnn_constnodes", cnn_constnodes_onnx(copy.deepcopy(cnn)), cnn, x_te),
    ]
    rows = []
    for name, m, model, x in built:
        path = os.path.join(HERE, name + ".onnx")
        onnx.save(m, path)
        logits = logits_of(model, x)
        save_test_sets(os.path.join(data, name), m, [x, x[:1]], [logits, logits[:1]])
        shape = "[batch, %s]" % ", ".join(str(d) for d in x.shape[1:])
        rows.append(dict(
            name=name, file=name + ".onnx", opset=m.opset_import[0].version, ir=m.ir_version,
            nodes=len(m.graph.node), ops=distinct_ops(m), input="`%s` %s" % (m.graph.input[0].name, shape),
            torch_acc=accuracy(logits, y_te), torch_logits=logits, ort_acc=None, ort_diff=None,
        ))
        print("%s: %d nodes, torch accuracy %.4f, ops %s" % (name, len(m.graph.node), rows[-1]["torch_acc"], " ".join(op_types(m))))

    if ort_available():
        got = ort_logits({r["name"]: (os.path.join(HERE, r["file"]),
                                      os.path.join(data, r["name"], "test_data_set_0", "input_0.pb")) for r in rows})
        for r in rows:
            r["ort_acc"] = accuracy(got[r["name"]], y_te)
            r["ort_diff"] = float(np.abs(got[r["name"]] - r["torch_logits"]).max())
            print("%s: onnxruntime accuracy %.4f, max |logit diff| %.3g" % (r["name"], r["ort_acc"], r["ort_diff"]))
    else:
        print("onnxruntime harness not installed (tools/ort/node_modules); README leaves its figures out")
    write_readme(rows, len(x_tr), len(x_te))


if __name__ == "__main__":
    main()
