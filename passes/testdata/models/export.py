#!/usr/bin/python3
"""Export the small real-architecture models the passes' end-to-end tests use.

Run from the repository root with Debian's Python (torch, torchvision, onnx):

    /usr/bin/python3 passes/testdata/models/export.py

Weights are random (seeded); BatchNormalization running statistics are
set by a few training-mode forward passes on random data so that folding
them is not trivial. Each model gets test_data_set_0 with a seeded input
and torch's output.

    vit_tiny.onnx   torchvision.models.VisionTransformer (image 32, patch 8,
                    2 layers, 4 heads, hidden 64, MLP 128), opset 13: torch
                    writes LayerNorm and GELU decomposed (ReduceMean/Sub/Pow/
                    Sqrt/Div and Erf), plus attention MatMuls and Softmax.
                    Parameters are perturbed by N(0, 0.1²) after torchvision's
                    initialisation (which zeroes the head).
    decoder.onnx    Conv + BatchNormalization, then two ConvTranspose (the
                    second grouped, groups=2) each followed by
                    BatchNormalization, Relu and Dropout; opset 13, exported
                    with training=PRESERVE so BatchNormalization is kept.
"""

import os

import numpy as np
import onnx
import torch
import torchvision
from onnx import numpy_helper
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 4


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.ConvTranspose2d(8, 8, 2, stride=2), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.2),
            nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1, groups=2), nn.BatchNorm2d(6), nn.ReLU(),
            nn.Conv2d(6, 2, 1),
        )

    def forward(self, x):
        return self.net(x)


def calibrate(model, shape):
    model.train()
    with torch.no_grad():
        for i in range(4):
            model(torch.randn(*shape) * (1 + i))
    return model.eval()


def export(name, model, shape, training):
    torch.manual_seed(SEED)
    x = torch.randn(*shape)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(HERE, name + ".onnx")
    torch.onnx.export(model, x, path, opset_version=13, training=training,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    m = onnx.load(path)
    m.producer_name = "nncc passes/testdata/models/export.py (pytorch %s)" % torch.__version__
    onnx.save(m, path)
    d = os.path.join(HERE, name, "test_data_set_0")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x.numpy(), "input").SerializeToString())
    with open(os.path.join(d, "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(y.numpy(), "output").SerializeToString())
    ops = sorted({n.op_type for n in m.graph.node})
    print("%s: %d nodes, %s" % (path, len(m.graph.node), ", ".join(ops)))


def main():
    torch.manual_seed(SEED)
    vit = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4,
                                               hidden_dim=64, mlp_dim=128, num_classes=10).eval()
    # torchvision zero-initialises the head and sets every LayerNorm to
    # γ=1, β=0: perturb all parameters so the output and the affine
    # parameters are not trivial (and the exporter cannot share them).
    with torch.no_grad():
        for p in vit.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    export("vit_tiny", vit, (2, 3, 32, 32), torch.onnx.TrainingMode.EVAL)
    torch.manual_seed(SEED)
    dec = calibrate(Decoder(), (4, 3, 8, 8))
    export("decoder", dec, (2, 3, 8, 8), torch.onnx.TrainingMode.PRESERVE)


if __name__ == "__main__":
    main()
