#!/usr/bin/python3
"""Writes tiny ONNX test models that misbehave, with their manifests: two
whose outputs are not finite for some inputs (lpacs must fail those
inputs, NON_FINITE_OUTPUT, rather than store NULL scores or masks made of
NaN), and a slow one (to stop a server or lpacs predict mid-job).

Run with Debian's python3 (python3-onnx):
  /usr/bin/python3 datasets/make-fault-models.py --threshold T --out DIR

Each takes the input of datasets/make-model.py's ct-brightness (a CT frame
windowed to [0,1], centre 40, width 400, resized to 32x32) and its mean m.

ct-nonfinite (classification): scores = [1 / relu(m - T), m], labelled
["inverse", "mean"]: +Infinity for a frame with m <= T, finite above it.

ct-nonfinite-mask (segmentation): mask = (image > 0.5) + 0 * sqrt(m - T),
label "dense": NaN in every pixel for a frame with m < T, otherwise
ct-threshold's mask.

ct-volume-nonfinite (regression over a series, with --volume-threshold V):
the four slices ct-volume-trend stacks, value = 1 / relu(M - V) where M is
the mean of the stacked input (the mean of its four slices' means),
labelled "inverse": +Infinity for a series with M <= V, so the whole
series fails.

So which inputs fail and what the others get follows from the frame means
alone (packages/ml/scripts/reference.py computes them with numpy).

ct-slow-brightness (classification): ct-brightness's scores, sigmoid(8m - 2)
and sigmoid(2 - 8m) labelled ["bright", "dark"], plus zero times a chain of
SLOW_LAYERS 3x3 convolutions over the image tiled to 128x128: the same
scores (adding zero changes no float), some milliseconds per image.
"""

import argparse

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from onnx_folder import PREPROCESSING, SIZE, image_input, write_model_folder

def scalar(name, value):
    return numpy_helper.from_array(np.array(value, dtype=np.float32), name)


def inverse_model(threshold):
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean4"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Flatten", ["mean4"], ["mean"], axis=1),
        helper.make_node("Sub", ["mean", "threshold"], ["above"]),
        helper.make_node("Relu", ["above"], ["positive"]),
        helper.make_node("Div", ["one", "positive"], ["inverse"]),
        helper.make_node("Concat", ["inverse", "mean"], ["scores"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "ct_nonfinite",
        [image_input()],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 2])],
        initializer=[scalar("threshold", threshold), scalar("one", 1.0)],
    )
    manifest = {
        "name": "ct-nonfinite",
        "version": "1.0.0",
        "task": "classification",
        "description": f"1 / relu(mean - {threshold}) and the mean: +Infinity at or below it (test model).",
        "inputs": [{"name": "image", "shape": ["N", 1, SIZE, SIZE], "dtype": "float32"}],
        "preprocessing": PREPROCESSING,
        "outputs": [{"name": "scores", "labels": ["inverse", "mean"]}],
    }
    return graph, manifest


def nan_mask_model(threshold):
    nodes = [
        helper.make_node("Greater", ["image", "half"], ["bright"]),
        helper.make_node("Cast", ["bright"], ["dense"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Sub", ["mean", "threshold"], ["above"]),
        helper.make_node("Sqrt", ["above"], ["root"]),
        helper.make_node("Mul", ["root", "zero"], ["nothing"]),
        helper.make_node("Add", ["dense", "nothing"], ["mask"]),
    ]
    graph = helper.make_graph(
        nodes,
        "ct_nonfinite_mask",
        [image_input()],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", 1, SIZE, SIZE])],
        initializer=[
            scalar("half", 0.5),
            scalar("threshold", threshold),
            scalar("zero", 0.0),
        ],
    )
    manifest = {
        "name": "ct-nonfinite-mask",
        "version": "1.0.0",
        "task": "segmentation",
        "description": f"Pixels above half the window, NaN everywhere when the mean is below {threshold} (test model).",
        "inputs": [{"name": "image", "shape": ["N", 1, SIZE, SIZE], "dtype": "float32"}],
        "preprocessing": PREPROCESSING,
        "outputs": [{"name": "mask", "labels": ["dense"]}],
    }
    return graph, manifest


SLOW_LAYERS = 120


def volume_nonfinite_model(threshold):
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean4"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Flatten", ["mean4"], ["mean"], axis=1),
        helper.make_node("Sub", ["mean", "threshold"], ["above"]),
        helper.make_node("Relu", ["above"], ["positive"]),
        helper.make_node("Div", ["one", "positive"], ["value"]),
    ]
    graph = helper.make_graph(
        nodes,
        "ct_volume_nonfinite",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 4, SIZE, SIZE])],
        [helper.make_tensor_value_info("value", TensorProto.FLOAT, ["N", 1])],
        initializer=[scalar("threshold", threshold), scalar("one", 1.0)],
    )
    manifest = {
        "name": "ct-volume-nonfinite",
        "version": "1.0.0",
        "task": "regression",
        "description": f"1 / relu(mean of four stacked slices - {threshold}): +Infinity at or below it (test model).",
        "inputs": [{"name": "image", "shape": ["N", 4, SIZE, SIZE], "dtype": "float32"}],
        "preprocessing": {
            **PREPROCESSING,
            "frames": "first",
            "stack": {"by": "ImagePositionPatient", "slices": 4},
        },
        "outputs": [{"name": "value", "labels": ["inverse"]}],
    }
    return graph, manifest


def slow_brightness_model():
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean4"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Flatten", ["mean4"], ["mean"], axis=1),
        helper.make_node("MatMul", ["mean", "weight"], ["linear"]),
        helper.make_node("Add", ["linear", "bias"], ["fast"]),
        helper.make_node("Tile", ["image", "tiles"], ["c0"]),
    ]
    for i in range(SLOW_LAYERS):
        nodes.append(
            helper.make_node("Conv", [f"c{i}", "kernel"], [f"c{i + 1}"], pads=[1, 1, 1, 1])
        )
    nodes += [
        helper.make_node(
            "ReduceMean", [f"c{SLOW_LAYERS}"], ["work4"], axes=[1, 2, 3], keepdims=1
        ),
        helper.make_node("Flatten", ["work4"], ["work"], axis=1),
        helper.make_node("Mul", ["work", "zero"], ["nothing"]),
        helper.make_node("Add", ["fast", "nothing"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["scores"]),
    ]
    graph = helper.make_graph(
        nodes,
        "ct_slow_brightness",
        [image_input()],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 2])],
        initializer=[
            numpy_helper.from_array(np.array([[8.0, -8.0]], dtype=np.float32), "weight"),
            numpy_helper.from_array(np.array([-2.0, 2.0], dtype=np.float32), "bias"),
            numpy_helper.from_array(np.array([1, 1, 4, 4], dtype=np.int64), "tiles"),
            numpy_helper.from_array(np.full((1, 1, 3, 3), 1 / 9, dtype=np.float32), "kernel"),
            scalar("zero", 0.0),
        ],
    )
    manifest = {
        "name": "ct-slow-brightness",
        "version": "1.0.0",
        "task": "classification",
        "description": "ct-brightness's scores, computed slowly (test model).",
        "inputs": [{"name": "image", "shape": ["N", 1, SIZE, SIZE], "dtype": "float32"}],
        "preprocessing": PREPROCESSING,
        "outputs": [{"name": "scores", "labels": ["bright", "dark"]}],
    }
    return graph, manifest


def write(out, graph, manifest):
    write_model_folder(out, graph, manifest, "make-fault-models.py")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threshold", type=float, required=True)
    parser.add_argument("--volume-threshold", type=float)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    models = [
        inverse_model(args.threshold),
        nan_mask_model(args.threshold),
        slow_brightness_model(),
    ]
    if args.volume_threshold is not None:
        models.append(volume_nonfinite_model(args.volume_threshold))
    for graph, manifest in models:
        write(args.out, graph, manifest)


if __name__ == "__main__":
    main()
