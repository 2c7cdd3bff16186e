"""Reference arrays for guided backprop, guided Grad-CAM and ShapleyCAM (pytorch-grad-cam 1.5.5).

Builds a small torch CNN with seeded random weights (Conv+ReLU blocks with torch.nn.ReLU modules,
global average pooling, Linear; 64x64 input), exports it to ONNX (opset 17, constant folding) and
runs pytorch-grad-cam 1.5.5 on 2 images:
  - GuidedBackpropReLUModel (raw guided gradients, top-1 class)
  - guided Grad-CAM as its cam.py composes it: GradCAM map (top-1) x guided backprop, per channel
  - ShapleyCAM with the ReST target it recommends (ClassifierOutputReST) and with the plain logit
    (ClassifierOutputTarget, its default), at two target layers
Writes test/fixtures/pgc155c/: model.onnx, meta.json and float32 .npy arrays. Tests only read them.

Run from the repository root:
  PYTHONPATH=/tmp/pgc:/tmp/pyshim /usr/bin/python3 scripts/refs/pgc_guided_shapley.py
(/tmp/pgc: pytorch-grad-cam 1.5.5 source; /tmp/pyshim stubs `ttach`; torch 1.13, opencv.)
"""
import copy
import json
import os

import cv2
import numpy as np
import torch
import ttach

# BaseCAM builds its aug_smooth transforms in __init__; the ttach stub raises there. They are never
# used here (no aug_smooth), so constructing them does nothing.
ttach.Compose = ttach.HorizontalFlip = ttach.Multiply = lambda *a, **k: None
from pytorch_grad_cam import GradCAM, ShapleyCAM
from pytorch_grad_cam.guided_backprop import GuidedBackpropReLUModel
from pytorch_grad_cam.utils.model_targets import ClassifierOutputReST, ClassifierOutputTarget

OUT = 'test/fixtures/pgc155c'
IMAGES = ['../shared/fixtures/images/dog.jpg', '../shared/fixtures/images/cat.jpg']
SIZE = 64


class SmallCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 16, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.ReLU(),
        )
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def image_tensor(path):
    rgb = cv2.imread(path, 1)[:, :, ::-1]
    rgb = cv2.resize(rgb, (SIZE, SIZE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    x = (rgb - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


def main():
    torch.manual_seed(20)
    model = SmallCnn().eval()
    # Larger logits than the default init, so that ReST's softmax term is far from uniform.
    with torch.no_grad():
        model.fc.weight.mul_(4)
    os.makedirs(OUT, exist_ok=True)
    onnx_path = os.path.join(OUT, 'model.onnx')
    torch.onnx.export(model, torch.zeros(1, 3, SIZE, SIZE), onnx_path, opset_version=17, do_constant_folding=True,
                      input_names=['input'], output_names=['logits'], dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
    import onnx
    graph = onnx.load(onnx_path).graph
    relus = [n.output[0] for n in graph.node if n.op_type == 'Relu']
    # GuidedBackpropReLUModel swaps every nn.ReLU for a guided module and back for ONE shared new
    # nn.ReLU (hooks on one ReLU would then fire at all three): it gets a copy of the model.
    layer_index = {'mid': (3, relus[1]), 'last': (5, relus[2])}
    meta = {'layers': {k: v[1] for k, v in layer_index.items()}, 'images': [], 'size': SIZE}

    for i, path in enumerate(IMAGES):
        x = image_tensor(path)
        np.save(os.path.join(OUT, f'input{i}.npy'), x.numpy().astype(np.float32))
        with torch.no_grad():
            logits = model(x)[0].numpy()
        top = int(np.argmax(logits))
        meta['images'].append({'file': os.path.basename(path), 'class': top, 'logits': [float(v) for v in logits]})

        with GradCAM(model=model, target_layers=[model.features[5]]) as cam:
            grad_cam = cam(input_tensor=x, targets=None)[0]
        np.save(os.path.join(OUT, f'gradcam{i}.npy'), grad_cam.astype(np.float32))
        gb = GuidedBackpropReLUModel(model=copy.deepcopy(model), device='cpu')(x, target_category=None)  # [H, W, C]
        np.save(os.path.join(OUT, f'guided_backprop{i}.npy'), gb.transpose(2, 0, 1).astype(np.float32))
        # cam.py: cv2.merge([cam]*3) * gb, before deprocess_image (which only rescales for display).
        cam_gb = cv2.merge([grad_cam, grad_cam, grad_cam]) * gb
        np.save(os.path.join(OUT, f'guided_gradcam{i}.npy'), cam_gb.transpose(2, 0, 1).astype(np.float32))

        for name, (index, _) in layer_index.items():
            for target_name, targets in (('rest', [ClassifierOutputReST(top)]), ('logit', [ClassifierOutputTarget(top)])):
                with ShapleyCAM(model=model, target_layers=[model.features[index]]) as cam:
                    m = cam(input_tensor=x, targets=targets)[0]
                np.save(os.path.join(OUT, f'shapleycam_{target_name}_{name}{i}.npy'), m.astype(np.float32))

    with open(os.path.join(OUT, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
