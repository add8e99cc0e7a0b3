"""A model folder as `lpacs models add` reads one: model.onnx and
manifest.json, written by datasets/make-model.py and
datasets/make-fault-models.py (which import it from their own folder).
"""

import json
import os

import onnx
from onnx import helper

OPSET = 13


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
