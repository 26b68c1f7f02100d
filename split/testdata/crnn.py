"""Export a small CRNN text recogniser (CNN + two-layer bidirectional LSTM +
per-column classifier, as in Shi et al. 2015) to crnn.onnx for the split
tests. Random weights (seeded): the tests compare a split against the
whole model, so accuracy does not matter, only the structure.

Run with Debian's Python (torch 1.13): /usr/bin/python3 split/testdata/crnn.py
"""
import os
import torch
import torch.nn as nn

torch.manual_seed(20261206)


class CRNN(nn.Module):
    def __init__(self, classes=37, hidden=48):
        super().__init__()

        def block(cin, cout, pool):
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(pool)]

        self.cnn = nn.Sequential(
            *block(1, 16, (2, 2)),   # 32x128 -> 16x64
            *block(16, 32, (2, 2)),  # -> 8x32
            *block(32, 64, (2, 1)),  # -> 4x32
            *block(64, 64, (4, 1)),  # -> 1x32
        )
        self.rnn = nn.LSTM(64, hidden, num_layers=2, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        f = self.cnn(x)                    # (N, 64, 1, W)
        f = f.squeeze(2).permute(2, 0, 1)  # (W, N, 64)
        y, _ = self.rnn(f)                 # (W, N, 2*hidden)
        return self.fc(y).log_softmax(-1)  # (W, N, classes)


m = CRNN().eval()
# Give BatchNorm non-trivial statistics.
with torch.no_grad():
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.1, 0.1)
            mod.running_var.uniform_(0.5, 1.5)
x = torch.randn(1, 1, 32, 128)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crnn.onnx")
torch.onnx.export(m, x, out, input_names=["image"], output_names=["logits"],
                  dynamic_axes={"image": {0: "N"}, "logits": {1: "N"}}, opset_version=13)
print(out, os.path.getsize(out))
