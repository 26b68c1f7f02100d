"""Render ImageNet-style inputs from scikit-learn's two sample photographs.

Usage: /usr/bin/python3 bench/quantdoc/photos.py OUTDIR

Writes OUTDIR/calib_x.npy (32 crops, seed 1) and OUTDIR/eval_x.npy (64
crops, seed 2): random crops (30-100% of the shorter side), random
horizontal flips and small brightness changes of china.jpg and
flower.jpg (the images bundled with scikit-learn), resized to 224x224,
normalised with ImageNet's mean and std, NCHW float32. The models they
feed have random weights, so these measure top-1 agreement between the
float and quantized model, not accuracy.
"""
import os
import sys

import numpy as np
from PIL import Image
from sklearn.datasets import load_sample_images

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def crops(images, n, seed):
    rng = np.random.default_rng(seed)
    out = np.empty((n, 3, 224, 224), dtype=np.float32)
    for i in range(n):
        img = images[i % len(images)]
        h, w = img.shape[:2]
        side = int(min(h, w) * rng.uniform(0.3, 1.0))
        y = rng.integers(0, h - side + 1)
        x = rng.integers(0, w - side + 1)
        pil = Image.fromarray(img[y:y + side, x:x + side]).resize((224, 224), Image.BILINEAR)
        a = np.asarray(pil, dtype=np.float32) / 255.0
        if rng.random() < 0.5:
            a = a[:, ::-1]
        a = np.clip(a * rng.uniform(0.8, 1.2), 0, 1)
        out[i] = ((a - MEAN) / STD).transpose(2, 0, 1)
    return out


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    images = load_sample_images().images
    np.save(os.path.join(out, "calib_x.npy"), crops(images, 32, 1))
    np.save(os.path.join(out, "eval_x.npy"), crops(images, 64, 2))


if __name__ == "__main__":
    main()
