#!/usr/bin/python3
"""Writes tiny deterministic ONNX models (with their manifests) for lpacs tests.

Run with Debian's python3 (python3-onnx): /usr/bin/python3 datasets/make-model.py
[--out datasets/cache/models]. Each model is a folder with model.onnx and
manifest.json, the layout `lpacs models add` expects.

ct-brightness (classification): input image [N,1,32,32] holds a CT frame
windowed to [0,1] (centre 40, width 400) and resized to 32x32. The model
takes the mean m of each image, then logits = m * [8, -8] + [-2, 2] and
scores = sigmoid(logits), labelled ["bright", "dark"]. So a frame's
expected scores are sigmoid(8m - 2) and sigmoid(2 - 8m): computable by hand.

ct-threshold (segmentation): the same input; mask = (image > 0.5) as float,
shape [N,1,32,32], label "dense".

ct-volume-trend (regression over a series): input [N,4,32,32] holds four
slices of a series, sorted by ImagePositionPatient and sampled evenly, each
preprocessed as above; value = mean(last slice) - mean(first slice),
labelled "last_minus_first". Reversed slice order flips its sign.

ct-volume-threshold (segmentation over a series): the same stacked input
[N,4,32,32]; mask = (mean of the four slices > 0.5) as float, shape
[N,1,32,32], label "dense": one mask for the whole series.

The files are written byte-for-byte the same on every run (no producer
timestamps), so their SHA-256, the model's identity in a lake, is stable.
"""

import argparse

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from onnx_folder import PREPROCESSING, SIZE, image_input, write_model_folder

def brightness_model():
    weight = numpy_helper.from_array(
        np.array([[8.0, -8.0]], dtype=np.float32), "weight"
    )
    bias = numpy_helper.from_array(np.array([-2.0, 2.0], dtype=np.float32), "bias")
    nodes = [
        helper.make_node(
            "ReduceMean", ["image"], ["mean4"], axes=[1, 2, 3], keepdims=1
        ),
        helper.make_node(
            "Flatten", ["mean4"], ["mean"], axis=1
        ),
        helper.make_node("MatMul", ["mean", "weight"], ["linear"]),
        helper.make_node("Add", ["linear", "bias"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["scores"]),
    ]
    graph = helper.make_graph(
        nodes,
        "ct_brightness",
        [image_input()],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 2])],
        initializer=[weight, bias],
    )
    manifest = {
        "name": "ct-brightness",
        "version": "1.0.0",
        "task": "classification",
        "description": "Mean of the windowed frame through a fixed linear layer and a sigmoid (test model).",
        "inputs": [
            {"name": "image", "shape": ["N", 1, SIZE, SIZE], "dtype": "float32"}
        ],
        "preprocessing": PREPROCESSING,
        "outputs": [{"name": "scores", "labels": ["bright", "dark"]}],
    }
    return graph, manifest


def threshold_model():
    half = numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half")
    nodes = [
        helper.make_node("Greater", ["image", "half"], ["above"]),
        helper.make_node("Cast", ["above"], ["mask"], to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes,
        "ct_threshold",
        [image_input()],
        [
            helper.make_tensor_value_info(
                "mask", TensorProto.FLOAT, ["N", 1, SIZE, SIZE]
            )
        ],
        initializer=[half],
    )
    manifest = {
        "name": "ct-threshold",
        "version": "1.0.0",
        "task": "segmentation",
        "description": "Pixels above half the window (test model).",
        "inputs": [
            {"name": "image", "shape": ["N", 1, SIZE, SIZE], "dtype": "float32"}
        ],
        "preprocessing": PREPROCESSING,
        "outputs": [{"name": "mask", "labels": ["dense"]}],
    }
    return graph, manifest


def volume_model():
    weight = numpy_helper.from_array(
        np.array([[-1.0], [0.0], [0.0], [1.0]], dtype=np.float32), "weight"
    )
    nodes = [
        helper.make_node(
            "ReduceMean", ["image"], ["means"], axes=[2, 3], keepdims=0
        ),
        helper.make_node("MatMul", ["means", "weight"], ["value"]),
    ]
    graph = helper.make_graph(
        nodes,
        "ct_volume_trend",
        [
            helper.make_tensor_value_info(
                "image", TensorProto.FLOAT, ["N", 4, SIZE, SIZE]
            )
        ],
        [helper.make_tensor_value_info("value", TensorProto.FLOAT, ["N", 1])],
        initializer=[weight],
    )
    manifest = {
        "name": "ct-volume-trend",
        "version": "1.0.0",
        "task": "regression",
        "description": "Mean of the last slice minus mean of the first (test model).",
        "inputs": [
            {"name": "image", "shape": ["N", 4, SIZE, SIZE], "dtype": "float32"}
        ],
        "preprocessing": {
            **PREPROCESSING,
            "frames": "first",
            "stack": {"by": "ImagePositionPatient", "slices": 4},
        },
        "outputs": [{"name": "value", "labels": ["last_minus_first"]}],
    }
    return graph, manifest


def volume_threshold_model():
    half = numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half")
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1], keepdims=1),
        helper.make_node("Greater", ["mean", "half"], ["above"]),
        helper.make_node("Cast", ["above"], ["mask"], to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes,
        "ct_volume_threshold",
        [
            helper.make_tensor_value_info(
                "image", TensorProto.FLOAT, ["N", 4, SIZE, SIZE]
            )
        ],
        [
            helper.make_tensor_value_info(
                "mask", TensorProto.FLOAT, ["N", 1, SIZE, SIZE]
            )
        ],
        initializer=[half],
    )
    manifest = {
        "name": "ct-volume-threshold",
        "version": "1.0.0",
        "task": "segmentation",
        "description": "Pixels whose mean over four stacked slices is above half the window (test model).",
        "inputs": [
            {"name": "image", "shape": ["N", 4, SIZE, SIZE], "dtype": "float32"}
        ],
        "preprocessing": {
            **PREPROCESSING,
            "frames": "first",
            "stack": {"by": "ImagePositionPatient", "slices": 4},
        },
        "outputs": [{"name": "mask", "labels": ["dense"]}],
    }
    return graph, manifest


def write(out, graph, manifest):
    write_model_folder(out, graph, manifest, "make-model.py")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="datasets/cache/models")
    args = parser.parse_args()
    for graph, manifest in (
        brightness_model(),
        threshold_model(),
        volume_model(),
        volume_threshold_model(),
    ):
        write(args.out, graph, manifest)


if __name__ == "__main__":
    main()
