"""Reference maps for kpcacam, fem, sobelcam and dff from pytorch-grad-cam 1.5.5.

Run (from the repository root; needs torch, onnx, opencv, sklearn and the pytorch-grad-cam
1.5.5 source):

    PYTHONPATH=/tmp/pgc /usr/bin/python3 scripts/refs/pgc_methods_b.py

Writes test/fixtures/pgc155b/: model.onnx (a small CNN with seeded random weights: three
Conv+BN+ReLU blocks, global average pooling, Linear; 64x64 input; opset 17, constant folding)
and, per image, <image>/input.npy (the preprocessed [1, 3, 64, 64] tensor) and the maps as
float32 .npy, listed in index.json. test/cam/pgcMethodsB.test.ts reads them.
"""
import json
import os
import sys

import types

import cv2
import numpy as np
import torch
import torch.nn as nn


class _Inert:
    # BaseCAM builds its test-time augmentations in __init__; these references never use them.
    def __init__(self, *args, **kwargs):
        pass


# pytorch-grad-cam imports ttach (test-time augmentation) at import time; stand in for it.
sys.modules.setdefault('ttach', types.SimpleNamespace(Compose=_Inert, HorizontalFlip=_Inert, Multiply=_Inert))

from pytorch_grad_cam import FEM, KPCA_CAM, DeepFeatureFactorization
from pytorch_grad_cam.sobel_cam import sobel_cam
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from sklearn.decomposition import KernelPCA

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'pgc155b')
IMAGES = {
    'dogs': '/work/shared/fixtures/images/dogs.png',
    'star': os.path.join(ROOT, 'demo', 'images', 'star_1.png'),
}
SIZE = 64
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
KERNELS = ['sigmoid', 'rbf', 'poly', 'linear', 'cosine']
DFF_CONCEPTS = 5  # pytorch-grad-cam's DFF example (run_dff_on_image's default)


def block(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class SmallCnn(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.block1 = block(3, 16, 2)  # 32x32
        self.block2 = block(16, 32, 2)  # 16x16
        self.block3 = block(32, 48, 2)  # 8x8
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(48, classes)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def make_model():
    torch.manual_seed(20)
    model = SmallCnn()
    # Random BN statistics, so the folded Conv biases are not zero.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.3)
    return model.eval()


def concept_head(model, layer):
    """What DFF passes the concept embeddings [K, C] through: after the last block the classifier
    (model.fc, as pytorch-grad-cam's example does with a ResNet's fc); after an earlier block the rest
    of the model run on each embedding as a spatially constant map (CamLens's definition for any
    layer: for block3 it equals model.fc, since the average pool of a constant map is the map)."""
    if layer == 'block3':
        return model.fc

    def head(concepts):
        plane = concepts[:, :, None, None].expand(-1, -1, SIZE // 4, SIZE // 4)
        return model.fc(torch.flatten(model.pool(model.block3(plane)), 1))

    return head


def save(path, array):
    np.save(path, np.ascontiguousarray(array, dtype=np.float32))


def main():
    os.makedirs(OUT, exist_ok=True)
    model = make_model()
    # Layer outputs are named after the block so the tests can name the CAM layer.
    names = ['input', 'block1', 'block2', 'block3', 'logits']
    torch.onnx.export(model, torch.zeros(1, 3, SIZE, SIZE), os.path.join(OUT, 'model.onnx'), opset_version=17,
                      do_constant_folding=True, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}})
    index = {'size': SIZE, 'kernels': KERNELS, 'dff_concepts': DFF_CONCEPTS, 'fem_k': 2, 'layers': {}, 'images': {}}
    layers = {'block2': model.block2, 'block3': model.block3}
    for name, file in IMAGES.items():
        bgr = cv2.imread(file, cv2.IMREAD_COLOR)
        rgb = cv2.resize(bgr[:, :, ::-1], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
        x = ((rgb.astype(np.float32) / 255 - MEAN) / STD).transpose(2, 0, 1)[None]
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        save(os.path.join(d, 'input.npy'), x)
        tensor = torch.from_numpy(x)
        with torch.no_grad():
            logits = model(tensor)[0].numpy()
        target = int(np.argmax(logits))
        entry = {'target': target, 'logits': logits.tolist(), 'maps': {}}
        targets = [ClassifierOutputTarget(target)]
        for lname, layer in layers.items():
            for kernel in KERNELS:
                with KPCA_CAM(model, [layer], kernel=kernel) as cam:
                    save(os.path.join(d, f'kpcacam_{kernel}_{lname}.npy'), cam(tensor, targets)[0])
                entry['maps'][f'kpcacam_{kernel}_{lname}'] = f'kpcacam_{kernel}_{lname}.npy'
            with FEM(model, [layer]) as cam:
                save(os.path.join(d, f'fem_{lname}.npy'), cam(tensor, targets)[0])
            entry['maps'][f'fem_{lname}'] = f'fem_{lname}.npy'
            dff = DeepFeatureFactorization(model, layer, computation_on_concepts=concept_head(model, lname))
            concepts, explanations, outputs = dff(tensor, DFF_CONCEPTS)
            del dff
            save(os.path.join(d, f'dff_{lname}_maps.npy'), explanations[0])  # [K, H, W], each min-max'd
            save(os.path.join(d, f'dff_{lname}_concepts.npy'), concepts)  # [C, K] embeddings
            save(os.path.join(d, f'dff_{lname}_outputs.npy'), outputs)  # [K, classes]: fc(concept)
            entry['maps'][f'dff_{lname}'] = f'dff_{lname}_maps.npy'
        # --components 2 (CamLens's extension: pytorch-grad-cam fixes 1): the sum of sklearn's two projections.
        acts = {}
        hook = model.block3.register_forward_hook(lambda m, i, o: acts.update(a=o.detach().numpy()))
        with torch.no_grad():
            model(tensor)
        hook.remove()
        a = acts['a'][0].reshape(acts['a'].shape[1], -1).T
        projections = KernelPCA(n_components=2, kernel='sigmoid').fit_transform(a - a.mean(axis=0))
        save(os.path.join(d, 'kpcacam_sigmoid_block3_2components_raw.npy'), projections.sum(axis=1).reshape(acts['a'].shape[2:]))
        save(os.path.join(d, 'sobelcam.npy'), sobel_cam(np.ascontiguousarray(rgb)).astype(np.float32))
        entry['maps']['sobelcam'] = 'sobelcam.npy'
        index['images'][name] = entry
    with open(os.path.join(OUT, 'index.json'), 'w') as f:
        json.dump(index, f, indent=1)
    print('wrote', OUT, file=sys.stderr)


if __name__ == '__main__':
    main()
