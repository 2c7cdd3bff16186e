# Reference maps of pytorch-grad-cam 1.5.5's FullGrad, FinerCAM and RefineCAM (GradCAM as an
# anchor) for test/cam/pgcMethods.test.ts, on a small seeded CNN exported to ONNX.
#
# Run from the repository root (torch 1.13, onnx, opencv; pytorch-grad-cam 1.5.5 source on the path):
#   PYTHONPATH=/tmp/pgc /usr/bin/python3 scripts/refs/pgc_methods.py
# Writes test/fixtures/pgc155/: model.onnx, input<i>.npy ([1, 3, 64, 64] float32), and per image i
# <method>_<i>.npy final maps [64, 64] float32 (+ raw maps where the API exposes them), and
# index.json (ONNX value names of the target layers, the classes, every case's settings).
#
# The convolutions in front of BatchNorm have no bias, as in torchvision: the export folds each
# BatchNorm into its Conv, and FullGrad's two bias terms (Conv bias at the Conv's output, BN bias
# at the BN's output) then become the one folded bias at the same place. A Conv with its own
# bias and a BatchNorm behind it would fold |b_conv·g_conv| + |b_bn·g_bn| into |b_conv·g_conv +
# b_bn·g_bn|, which no exported graph can tell apart; conv5 has a bias and no BatchNorm, so both
# kinds of bias FullGrad sees on an export are covered.
import json
import os
import sys
import types

import numpy as np
import torch
import torch.nn as nn

# pytorch-grad-cam builds (never runs here) a ttach augmentation list in every BaseCAM; a
# placeholder module stands in for ttach, which this script's cases never use.
_tta = types.ModuleType('ttach')
_tta.Compose = _tta.HorizontalFlip = _tta.Multiply = lambda *a, **k: None
sys.modules['ttach'] = _tta

from pytorch_grad_cam import FinerCAM, FullGrad, GradCAM, GradCAMPlusPlus, RefineCAM
from pytorch_grad_cam.utils.model_targets import FinerWeightedTarget

OUT = os.path.join('test', 'fixtures', 'pgc155')
torch.manual_seed(155)
np.random.seed(155)


def conv_bn(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block1 = conv_bn(3, 16, 1)
        self.block2 = conv_bn(16, 32, 2)
        self.res_a = conv_bn(32, 32, 1)
        self.res_b = nn.Sequential(nn.Conv2d(32, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32))
        self.res_relu = nn.ReLU()
        self.conv5 = nn.Conv2d(32, 48, 3, 2, 1, bias=True)
        self.relu5 = nn.ReLU()
        self.fc = nn.Linear(48, 10)

    def forward(self, x):
        x = self.block2(self.block1(x))
        x = self.res_relu(x + self.res_b(self.res_a(x)))
        x = self.relu5(self.conv5(x))
        return self.fc(x.mean(dim=(2, 3)))


model = Net()
# BatchNorm statistics and affine terms far from identity, so folding them matters.
for m in model.modules():
    if isinstance(m, nn.BatchNorm2d):
        c = m.num_features
        m.running_mean.copy_(torch.randn(c) * 0.3)
        m.running_var.copy_(torch.rand(c) * 1.5 + 0.3)
        m.weight.data.copy_(torch.rand(c) * 1.5 + 0.25)
        m.bias.data.copy_(torch.randn(c) * 0.5)
    if isinstance(m, nn.Conv2d) and m.bias is not None:
        m.bias.data.copy_(torch.randn(m.bias.shape) * 0.3)
model.eval()

os.makedirs(OUT, exist_ok=True)
torch.onnx.export(
    model,
    torch.zeros(1, 3, 64, 64),
    os.path.join(OUT, 'model.onnx'),
    opset_version=17,
    do_constant_folding=True,
    input_names=['input'],
    output_names=['logits'],
)

# ONNX value names of the modules' outputs: torch 1.13 names them /<module path>/<Op>_output_0.
import onnx  # noqa: E402

graph = onnx.load(os.path.join(OUT, 'model.onnx')).graph
names = {o for n in graph.node for o in n.output}
layer_names = {
    'block2': '/block2/block2.2/Relu_output_0',
    'res_relu': '/res_relu/Relu_output_0',
    'relu5': '/relu5/Relu_output_0',
}
for k, v in layer_names.items():
    assert v in names, f'{k}: {v} not in the export ({sorted(names)})'
layer_modules = {'block2': model.block2[2], 'res_relu': model.res_relu, 'relu5': model.relu5}


def image(i):
    """A smooth seeded picture (blobs and a gradient), normalised like ImageNet inputs."""
    yy, xx = np.mgrid[0:64, 0:64] / 63.0
    rng = np.random.RandomState(i)
    img = np.zeros((3, 64, 64))
    for _ in range(4):
        cy, cx, r = rng.rand(3) * [1, 1, 0.3] + [0, 0, 0.1]
        img += rng.randn(3, 1, 1) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    img += 0.5 * (xx - 0.5) * rng.randn(3, 1, 1)
    return np.float32(img[None])


def save(name, arr):
    np.save(os.path.join(OUT, name + '.npy'), np.float32(arr))


def raw_of(cam_obj, x, targets):
    """relu(get_cam_image) of the one target layer after a call: pytorch-grad-cam's raw map."""
    acts = cam_obj.activations_and_grads.activations[0].cpu().numpy()
    grads = cam_obj.activations_and_grads.gradients[0].cpu().numpy()
    return np.maximum(cam_obj.get_cam_image(x, None, targets, acts, grads, False), 0)[0]


cases = []
for i in range(2):
    x = torch.from_numpy(image(i))
    save(f'input{i}', x.numpy())
    logits = model(x).detach().numpy()[0]
    top = int(np.argmax(logits))

    gc = GradCAM(model, [layer_modules['relu5']])
    save(f'gradcam_{i}', gc(x, None)[0])
    save(f'gradcam_raw_{i}', raw_of(gc, x, None))

    fg = FullGrad(model, [])
    save(f'fullgrad_{i}', fg(x, None)[0])

    # FinerCAM's defaults: top-1 against the classes ranked 1..3 by |logit - target logit|, alpha 1, GradCAM.
    fc = FinerCAM(model, [layer_modules['relu5']])
    save(f'finercam_{i}', fc(x)[0])
    order = np.argsort(np.abs(logits - logits[top]))
    default_comparisons = [int(order[k]) for k in (1, 2, 3)]
    save(f'finercam_raw_{i}', raw_of(fc.base_cam, x, None))
    # Chosen classes and alpha (the targets as FinerCAM builds them, with other settings).
    chosen = [int(order[-1]), int(order[-2])]
    fc2 = FinerCAM(model, [layer_modules['relu5']])
    save(f'finercam_chosen_{i}', fc2(x, targets=[FinerWeightedTarget(top, chosen, 0.6)])[0])

    refine_layers = ['block2', 'res_relu', 'relu5']
    rc = RefineCAM(model, [layer_modules[k] for k in refine_layers])
    save(f'refinecam_{i}', rc(x, None)[0])
    # Its per-layer Grad-CAM++ maps (the product's factors).
    for k in refine_layers:
        save(f'refinecam_factor_{k}_{i}', GradCAMPlusPlus(model, [layer_modules[k]])(x, None)[0])
    cases.append(
        {
            'input': f'input{i}.npy',
            'top1': top,
            'logits': [float(v) for v in logits],
            'finerDefaultComparisons': default_comparisons,
            'finerChosen': {'classes': chosen, 'alpha': 0.6},
        }
    )

with open(os.path.join(OUT, 'index.json'), 'w') as f:
    json.dump(
        {
            'generator': 'scripts/refs/pgc_methods.py (pytorch-grad-cam 1.5.5, torch ' + torch.__version__ + ')',
            'layers': layer_names,
            'gradcamLayer': 'relu5',
            'finercamLayer': 'relu5',
            'refinecamLayers': ['block2', 'res_relu', 'relu5'],
            'cases': cases,
        },
        f,
        indent=1,
    )
print('wrote', OUT)
