#!/usr/bin/python3
"""Independent reference for the ml tests: reads DICOM with pydicom and
computes, with numpy, what ct-brightness and ct-threshold (see
datasets/make-model.py) must output for each file's first frame.

Usage: /usr/bin/python3 reference.py FILE... > reference.json
       /usr/bin/python3 reference.py --tensor ROWS COLUMNS MEAN STD FILE...
       (each file's first frame preprocessed the same way but resized to
       ROWS x COLUMNS and normalised, one channel, as a JSON list)
       /usr/bin/python3 reference.py --volume FILE...
       (ct-volume-trend on one series: the files sorted along the slice
       normal, 4 sampled evenly, mean of the last minus mean of the first)

Preprocessing as the manifests describe it: modality values (pydicom's
modality LUT), window centre 40 width 400 to [0, 1], bilinear resize to
32x32 with pixel centres aligned, written here as two interpolation
matrices (out = R @ image @ C.T).
"""

import json
import sys

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut

SIZE = 32


def interpolation_matrix(n_in, n_out):
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        src = min(max((o + 0.5) * n_in / n_out - 0.5, 0.0), n_in - 1)
        lo = int(np.floor(src))
        hi = min(lo + 1, n_in - 1)
        w = src - lo
        m[o, lo] += 1 - w
        m[o, hi] += w
    return m


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def first_frame(path):
    ds = pydicom.dcmread(path)
    stored = ds.pixel_array
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        stored = stored[0]
    modality = apply_modality_lut(stored, ds).astype(np.float64)
    return ds, stored, modality


def windowed_resized(modality, out_rows, out_cols):
    rows, cols = modality.shape
    windowed = np.clip((modality - (40 - 400 / 2)) / 400, 0, 1)
    resized = (
        interpolation_matrix(rows, out_rows)
        @ windowed
        @ interpolation_matrix(cols, out_cols).T
    )
    return windowed, resized


def tensor(path, out_rows, out_cols, mean, std):
    _, _, modality = first_frame(path)
    _, resized = windowed_resized(modality, out_rows, out_cols)
    return ((resized - mean) / std).ravel().tolist()


def volume(paths):
    placed = []
    for path in paths:
        ds, _, modality = first_frame(path)
        iop = np.array([float(x) for x in ds.ImageOrientationPatient])
        normal = np.cross(iop[:3], iop[3:])
        at = float(np.dot([float(x) for x in ds.ImagePositionPatient], normal))
        placed.append((at, modality))
    placed.sort(key=lambda p: p[0])
    n = len(placed)
    picked = [placed[int(np.floor(i * (n - 1) / 3 + 0.5))][1] for i in range(4)]
    means = [windowed_resized(m, SIZE, SIZE)[1].mean() for m in picked]
    return {"value": means[3] - means[0], "means": means}


def reference(path):
    ds, stored, modality = first_frame(path)
    rows, cols = stored.shape
    windowed, resized = windowed_resized(modality, SIZE, SIZE)
    if rows == 2 * SIZE and cols == 2 * SIZE:
        # A factor-2 bilinear shrink is the mean of 2x2 blocks.
        blocks = windowed.reshape(SIZE, 2, SIZE, 2).mean(axis=(1, 3))
        assert np.allclose(blocks, resized)
    m = resized.mean()
    mask = resized > 0.5
    return {
        "path": path,
        "rows": rows,
        "columns": cols,
        "bitsStored": int(ds.BitsStored),
        "pixelRepresentation": int(ds.PixelRepresentation),
        "photometricInterpretation": str(ds.PhotometricInterpretation),
        "stored": stored.astype(np.int64).ravel().tolist(),
        "modality": modality.ravel().tolist(),
        "mean": m,
        "scores": [sigmoid(8 * m - 2), sigmoid(2 - 8 * m)],
        "maskFraction": float(mask.mean()),
        "mask": mask.astype(np.uint8).ravel().tolist(),
    }


def main():
    args = sys.argv[1:]
    if args and args[0] == "--volume":
        json.dump(volume(args[1:]), sys.stdout)
    elif args and args[0] == "--tensor":
        r, c, mean, std = int(args[1]), int(args[2]), float(args[3]), float(args[4])
        json.dump([tensor(p, r, c, mean, std) for p in args[5:]], sys.stdout)
    else:
        json.dump([reference(p) for p in args], sys.stdout)


if __name__ == "__main__":
    main()
