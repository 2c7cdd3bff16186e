# Exports the two models issue 17's cold-start figures are measured on: torchvision ResNet-50 and
# ViT-B/16 with seeded random weights (weights=None: nothing is downloaded), eval mode, opset 17,
# constants folded (BatchNorm folded into Conv by the exporter), 1x3x224x224 input.
# Usage: /usr/bin/python3 scripts/refs/export_bench_models.py [OUT_DIR=/tmp/models]
# The files are large (98 MB, 330 MB): keep them out of the repository.
import os
import sys

import torch
import torchvision

out = sys.argv[1] if len(sys.argv) > 1 else '/tmp/models'
os.makedirs(out, exist_ok=True)
for name in ['resnet50', 'vit_b_16']:
    path = os.path.join(out, f'{name}.onnx')
    if os.path.exists(path):
        print(f'{path} exists')
        continue
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    if name == 'vit_b_16':
        # torchvision zero-initialises ViT's head: every logit 0, every gradient 0, empty maps.
        torch.nn.init.normal_(model.heads.head.weight, std=0.02)
    x = torch.randn(1, 3, 224, 224)
    # Grad mode stays on: under no_grad torch 1.13's eval-mode attention takes its fused fast path
    # (aten::_native_multi_head_attention), which the ONNX exporter cannot export.
    torch.onnx.export(model, x, path, opset_version=17, do_constant_folding=True, input_names=['input'], output_names=['logits'])
    print(f'{path} {os.path.getsize(path) / 1e6:.1f} MB')
