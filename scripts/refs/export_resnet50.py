"""Exports torchvision ResNet-50 (seeded random weights, eval mode) to ONNX for the benchmarks.

BatchNorm is folded into the convolutions by the exporter (eval + do_constant_folding), as a
real deployment export is; the batch dimension is dynamic so the batch and Score-CAM benches can
run it at any batch size. The file is large (~100 MB) and never committed. `seeded_resnet50()`
is the torch model itself, for references that must run the same weights
(scripts/refs/pgc_method_times.py).

Run: /usr/bin/python3 scripts/refs/export_resnet50.py [/tmp/models/resnet50.onnx]
"""
import os
import sys

import torch
import torchvision


def seeded_resnet50():
    """The exported model: torchvision's ResNet-50 built after torch.manual_seed(0), in eval mode."""
    torch.manual_seed(0)
    return torchvision.models.resnet50(weights=None).eval()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/models/resnet50.onnx"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    model = seeded_resnet50()
    x = torch.randn(1, 3, 224, 224)
    tmp = out + ".part"
    torch.onnx.export(
        model,
        x,
        tmp,
        opset_version=17,
        do_constant_folding=True,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}},
    )
    os.replace(tmp, out)  # another process may be reading the previous file
    print(out)


if __name__ == "__main__":
    main()
