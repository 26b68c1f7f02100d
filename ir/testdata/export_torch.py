"""Regenerates the PyTorch exports that ir's shape-inference tests load.

    python3 export_torch.py   # with torch 1.13 (Debian python3-torch)

Both models have symbolic input dimensions and compute shapes at run time
(x.view(x.size(0), -1), F.interpolate, multi-head attention's head split),
which is what the tests exercise. Weights are random.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16 * 8 * 8, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.c1(x)))
        x = F.max_pool2d(x, 2)
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = F.relu(self.c2(x))
        x = x.view(x.size(0), -1)
        return self.fc(x)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64)

    def forward(self, x):
        y = self.enc(x)
        t, b, d = y.shape
        return y.reshape(t, b, 4, d // 4).mean(-1)


def export(model, x, name, opset, axes):
    model.eval()
    torch.onnx.export(model, x, name, opset_version=opset, input_names=["x"],
                      output_names=["y"], dynamic_axes=axes)


export(SmallCNN(), torch.randn(2, 3, 16, 16), "torch_cnn_op11.onnx", 11,
       {"x": {0: "N"}, "y": {0: "N"}})
export(Attention(), torch.randn(7, 2, 32), "torch_attention_op13.onnx", 13,
       {"x": {0: "T", 1: "B"}, "y": {0: "T", 1: "B"}})
