#!/usr/bin/python3
"""Write calibration samples for the digits models: the first 64 images of
the training split testmodels/train.py uses (never the 450 held-out test
images), as testmodels/data/digits_calib_x.npy (64 x 1 x 8 x 8) and
digits_calib_x_flat.npy (64 x 64, the MLP's layout), with their labels in
digits_calib_y.npy.

    /usr/bin/python3 testmodels/calib_data.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from train import digits_split  # noqa: E402

x_tr, y_tr, _, _ = digits_split()
out = os.path.join(os.path.dirname(__file__), "data")
np.save(os.path.join(out, "digits_calib_x.npy"), x_tr[:64])
np.save(os.path.join(out, "digits_calib_x_flat.npy"), x_tr[:64].reshape(64, 64))
np.save(os.path.join(out, "digits_calib_y.npy"), y_tr[:64])
print("wrote 64 calibration samples to", out)
