"""What datasets/make-model.py and datasets/make-fault-models.py share
(they import it from their own folder): the input their CT models take
(a frame windowed to [0, 1], centre 40, width 400, resized to 32x32) and
a model folder written as `lpacs models add` reads one (model.onnx and
manifest.json).
"""

import json
import os

import onnx
from onnx import TensorProto, helper

OPSET = 13

SIZE = 32

PREPROCESSING = {
    "frames": "each",
    "rescale": True,
    "window": {"center": 40, "width": 400},
    "resize": {"rows": SIZE, "columns": SIZE, "method": "bilinear"},
    "normalize": {"mean": [0], "std": [1]},
    "layout": "NCHW",
}


def image_input():
    return helper.make_tensor_value_info(
        "image", TensorProto.FLOAT, ["N", 1, SIZE, SIZE]
    )


def write_model_folder(out, graph, manifest, script):
    """Checks the graph and writes OUT/<manifest name>/; `script` (the
    writer's file name) is the model's producer_name and the printed tag."""
    model = helper.make_model(
        graph,
        producer_name=f"lpacs datasets/{script}",
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    model.ir_version = 7
    onnx.checker.check_model(model)
    folder = os.path.join(out, manifest["name"])
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"{script.removesuffix('.py')}: {folder}")
