"""pytorch-grad-cam 1.5.5's time per method on the ResNet-50 bench/methods.mjs measures (issue 20's figure).

The model is the one scripts/refs/export_resnet50.py exports (seeded_resnet50(): the same
weights; checked against the ONNX file's fc weights when it exists, `weights_match_onnx` in the
first line), unfolded (BatchNorm as modules, as pytorch-grad-cam users run it), on the CPU with
torch.set_num_threads(--threads, 2). Same input .npy and class as the bench; the CAM layer is
model.layer4 (its output is the ONNX's /layer4/layer4.2/relu_2 value), RefineCAM's layers
layer3 and layer4. Each method is called as pytorch-grad-cam's README and cam.py call it, with the
targets our CLI's defaults correspond to (ShapleyCAM: ClassifierOutputReST; FinerCAM: the 3
closest classes of target_idx). The CAM object is built untimed (a user builds it once); the call
is timed (forward, backward, the map, its upsampling to 224²).
Light methods are timed round-robin after one warm-up each, --repeats times; ScoreCAM and
AblationCAM (2048 channels: one full forward per channel, minutes each) afterwards, --heavy-repeats
times without a warm-up, on lines marked "heavy": true. --skip leaves methods out.
One JSON line per method: our method id, the pgc name, the median ms and every sample.

Run from the repository root (after bench/methods.mjs has written the input, or give --input):

    PYTHONPATH=/tmp/pgc:/tmp/pyshim /usr/bin/python3 scripts/refs/pgc_method_times.py \\
        [--repeats 5] [--heavy-repeats 1] [--skip scorecam,ablationcam] [--only gradcam,shapleycam] \\
        [--scorecam-batch 16] [--ablation-batch 32] [--class 1] [--input /tmp/camlens-methods-input.npy]

(/tmp/pgc: pytorch-grad-cam 1.5.5 source; /tmp/pyshim stubs `ttach`; torch 1.13, torchvision 0.14, opencv.)
"""
import argparse
import copy
import json
import os
import statistics
import sys
import time

import cv2
import numpy as np
import torch
import ttach

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_resnet50 import seeded_resnet50  # noqa: E402

# BaseCAM builds its aug_smooth transforms in __init__; the ttach stub raises there. They are never
# used here (no aug_smooth), so constructing them does nothing.
ttach.Compose = ttach.HorizontalFlip = ttach.Multiply = lambda *a, **k: None

from pytorch_grad_cam import (  # noqa: E402
    AblationCAM,
    DeepFeatureFactorization,
    EigenCAM,
    EigenGradCAM,
    FEM,
    FinerCAM,
    FullGrad,
    GradCAM,
    GradCAMElementWise,
    GradCAMPlusPlus,
    HiResCAM,
    KPCA_CAM,
    LayerCAM,
    RefineCAM,
    ScoreCAM,
    ShapleyCAM,
    XGradCAM,
)
from pytorch_grad_cam.guided_backprop import GuidedBackpropReLUModel  # noqa: E402
from pytorch_grad_cam.sobel_cam import sobel_cam  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputReST, ClassifierOutputTarget  # noqa: E402

HEAVY = ('scorecam', 'ablationcam')
# What a pgc call does not include that ours does: the row is then not like for like.
NOTES = {'sobelcam': "maps the picture's edges only: no model run (ours runs the model for the predictions)"}
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def weights_match_onnx(model, path):
    """Whether the ONNX export holds this model's fc weights (None when the file or onnx is missing)."""
    if not os.path.exists(path):
        return None
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        return None
    fc = model.fc.weight.detach().numpy()
    for init in onnx.load(path).graph.initializer:
        if init.name == 'fc.weight':
            return bool(np.array_equal(numpy_helper.to_array(init), fc))
    return False


def picture(x):
    """The RGB uint8 picture of a normalised [1, 3, H, W] input (SobelCAM maps a picture, not a tensor)."""
    rgb = x[0].numpy().transpose(1, 2, 0) * STD + MEAN
    return np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)


def methods(model, x, k, args):
    """our id → (pytorch-grad-cam's name, build() → object, call(object) → map, release(object))."""
    layer = [model.layer4]
    target = [ClassifierOutputTarget(k)]
    guided_model = copy.deepcopy(model)  # GuidedBackpropReLUModel swaps the model's ReLU modules: its own copy

    def base(cls, targets=target, layers=layer, **kw):
        return (lambda: cls(model=model, target_layers=layers, **kw), lambda cam: cam(input_tensor=x, targets=targets))

    def scorecam():
        cam = ScoreCAM(model=model, target_layers=layer)
        cam.batch_size = args.scorecam_batch  # read by get_cam_weights when set (default 16)
        return cam

    def guided_gradcam(cams):
        grad_cam, gb = cams
        m = grad_cam(input_tensor=x, targets=target)[0]
        return cv2.merge([m, m, m]) * gb(x, target_category=k)  # cam.py's composition

    rgb = picture(x)
    table = {
        'gradcam': ('GradCAM',) + base(GradCAM),
        'hirescam': ('HiResCAM',) + base(HiResCAM),
        'gradcam-elementwise': ('GradCAMElementWise',) + base(GradCAMElementWise),
        'gradcam++': ('GradCAMPlusPlus',) + base(GradCAMPlusPlus),
        'xgradcam': ('XGradCAM',) + base(XGradCAM),
        'layercam': ('LayerCAM',) + base(LayerCAM),
        'eigencam': ('EigenCAM',) + base(EigenCAM),
        'eigengradcam': ('EigenGradCAM',) + base(EigenGradCAM),
        'scorecam': ('ScoreCAM', scorecam, lambda cam: cam(input_tensor=x, targets=target)),
        'ablationcam': ('AblationCAM',) + base(AblationCAM, batch_size=args.ablation_batch),
        'fullgrad': ('FullGrad',) + base(FullGrad, layers=[]),
        'shapleycam': ('ShapleyCAM',) + base(ShapleyCAM, targets=[ClassifierOutputReST(k)]),
        'finercam': ('FinerCAM', lambda: FinerCAM(model=model, target_layers=layer), lambda cam: cam(input_tensor=x, targets=None, target_idx=k)),
        'refinecam': ('RefineCAM',) + base(RefineCAM, layers=[model.layer3, model.layer4]),
        'kpcacam': ('KPCA_CAM',) + base(KPCA_CAM),
        'fem': ('FEM',) + base(FEM),
        'sobelcam': ('sobel_cam', lambda: None, lambda _: sobel_cam(rgb)),
        'guided-backprop': ('GuidedBackpropReLUModel', lambda: GuidedBackpropReLUModel(model=guided_model, device='cpu'), lambda gb: gb(x, target_category=k)),
        'guided-gradcam': (
            'GradCAM x GuidedBackpropReLUModel',
            lambda: (GradCAM(model=model, target_layers=layer), GuidedBackpropReLUModel(model=guided_model, device='cpu')),
            guided_gradcam,
        ),
        'dff': (
            'DeepFeatureFactorization',
            lambda: DeepFeatureFactorization(model=model, target_layer=model.layer4, computation_on_concepts=model.fc),
            lambda dff: dff(x, n_components=5),
        ),
    }
    return table


def release(obj):
    """Removes the CAM's hooks, so that the next method's forward does not run them too."""
    for o in obj if isinstance(obj, tuple) else (obj,):
        hooks = getattr(o, 'activations_and_grads', None) or getattr(getattr(o, 'base_cam', None), 'activations_and_grads', None)
        if hooks is not None:
            hooks.release()
        for inner in getattr(o, 'base_cam_per_layer', []):
            inner.activations_and_grads.release()


def timed(entry):
    _, build, call = entry
    obj = build()
    try:
        t0 = time.perf_counter()
        call(obj)
        return (time.perf_counter() - t0) * 1000
    finally:
        release(obj)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--repeats', type=int, default=int(os.environ.get('PGC_REPEATS', 5)))
    p.add_argument('--heavy-repeats', type=int, default=1)
    p.add_argument('--skip', default='')
    p.add_argument('--only', default='')
    p.add_argument('--scorecam-batch', type=int, default=16)
    p.add_argument('--ablation-batch', type=int, default=32)
    p.add_argument('--class', dest='cls', type=int, default=1)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--input', default='/tmp/camlens-methods-input.npy')
    p.add_argument('--onnx', default='/tmp/models/resnet50.onnx')
    args = p.parse_args()
    if not os.path.exists(args.input):
        sys.exit(f'{args.input} not found: run bench/methods.mjs first (it writes the input), or give --input')
    torch.set_num_threads(args.threads)
    model = seeded_resnet50()
    x = torch.from_numpy(np.load(args.input).astype(np.float32))
    table = methods(model, x, args.cls, args)
    skip = {s for s in args.skip.split(',') if s}
    only = {s for s in args.only.split(',') if s}
    unknown = (skip | only) - set(table)
    if unknown:
        sys.exit(f'unknown method ids {sorted(unknown)}; known: {", ".join(table)}')
    chosen = [m for m in table if m not in skip and (not only or m in only)]
    emit = lambda o: print(json.dumps({'bench': 'pgc-methods', **o}), flush=True)
    emit({
        'header': True,
        'model': 'resnet50 (torchvision, seeded_resnet50(), BatchNorm unfolded)',
        'weights_match_onnx': weights_match_onnx(model, args.onnx),
        'input': args.input,
        'class': args.cls,
        'threads': args.threads,
        'torch': torch.__version__,
        'skipped': sorted(skip),
    })
    light = [m for m in chosen if m not in HEAVY]
    samples = {m: [] for m in chosen}
    for m in light:
        timed(table[m])  # warm-up
    for _ in range(args.repeats):
        for m in light:
            samples[m].append(timed(table[m]))
    for m in (m for m in chosen if m in HEAVY):
        for _ in range(args.heavy_repeats):
            samples[m].append(timed(table[m]))
    for m in chosen:
        heavy = m in HEAVY
        settings = {'scorecam': {'batch_size': args.scorecam_batch}, 'ablationcam': {'batch_size': args.ablation_batch}}.get(m, {})
        emit({
            'method': m,
            'pgc': table[m][0],
            'median_ms': round(statistics.median(samples[m]), 1),
            'samples_ms': [round(v, 1) for v in samples[m]],
            'repeats': len(samples[m]),
            'heavy': heavy,
            'warmup': not heavy,
            **({'settings': settings} if settings else {}),
            **({'note': NOTES[m]} if m in NOTES else {}),
        })


if __name__ == '__main__':
    main()
