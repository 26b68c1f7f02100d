#!/usr/bin/python3
"""Render a labelled data set for PaddleOCR's text-orientation classifier.

ppocr_cls.onnx (fetched by passes/testdata/models/fetch.sh) is a trained
MobileNetV3 that tells whether a cropped text line is upright (class 0) or
upside down (class 1, "180"). This script renders real text lines with the
DejaVu fonts, rotates half of them by 180 degrees, and preprocesses them as
PaddleOCR does (resize to height 48 keeping the aspect ratio, width at most
192, scale to [-1, 1], pad on the right with zeros), so the model can be
measured on data with known labels.

    /usr/bin/python3 testmodels/ocr_data.py --out /tmp/nncc-models/ppocr_cls_data

writes calib_x.npy (64 samples), eval_x.npy / eval_y.npy (400 held-out
samples), each x of shape (N, 3, 48, 192) float32. The output depends only
on --seed.
"""
import argparse
import glob
import os
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WORDS = ("the quick brown fox jumps over lazy dog model compiler int8 float "
         "pruning channel tensor graph invoice total amount date paid number "
         "street city price quantity order receipt account balance name code "
         "2026 14:35 42.50 EUR 1999 No. 7 Tel. www example org").split()


def render(rng, fonts):
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5)))
    if rng.random() < 0.3:
        text = text.upper()
    font = ImageFont.truetype(rng.choice(fonts), rng.randint(18, 40))
    left, top, right, bottom = font.getbbox(text)
    w, h = right - left + rng.randint(4, 20), bottom - top + rng.randint(4, 14)
    bg = rng.randint(170, 255)
    fg = rng.randint(0, 90)
    img = Image.new("RGB", (w, h), (bg, bg, max(0, bg - rng.randint(0, 30))))
    d = ImageDraw.Draw(img)
    d.text((rng.randint(1, 8) - left, rng.randint(1, 6) - top), text, font=font, fill=(fg, fg, fg))
    return img


def preprocess(img):
    w, h = img.size
    nw = min(192, max(1, int(round(48 * w / h))))
    img = img.resize((nw, 48), Image.BILINEAR)
    x = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
    x = (x - 0.5) / 0.5
    out = np.zeros((3, 48, 192), dtype=np.float32)
    out[:, :, :nw] = x
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--calib", type=int, default=64)
    ap.add_argument("--eval", type=int, default=400)
    a = ap.parse_args()
    fonts = sorted(f for f in glob.glob("/usr/share/fonts/truetype/dejavu/*.ttf"))
    if not fonts:
        raise SystemExit("no DejaVu fonts: apt-get install fonts-dejavu-core")
    rng = random.Random(a.seed)
    xs, ys = [], []
    for i in range(a.calib + a.eval):
        img = render(rng, fonts)
        y = i % 2
        if y:
            img = img.rotate(180)
        xs.append(preprocess(img))
        ys.append(y)
    x = np.stack(xs)
    y = np.array(ys, dtype=np.int64)
    os.makedirs(a.out, exist_ok=True)
    np.save(os.path.join(a.out, "calib_x.npy"), x[:a.calib])
    np.save(os.path.join(a.out, "eval_x.npy"), x[a.calib:])
    np.save(os.path.join(a.out, "eval_y.npy"), y[a.calib:])
    print(f"{a.out}: {a.calib} calibration, {a.eval} evaluation samples")


if __name__ == "__main__":
    main()
