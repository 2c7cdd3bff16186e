"""Torch-autograd Grad-CAM references for a small YOLOv8-like detector (issue 16, "How it is checked").

Run from the repository root (needs torch, onnx; not numpy-only):

    /usr/bin/python3 scripts/refs/yolo_autograd.py    # SEED=n picks other weights (0: the fixture)

Writes test/fixtures/yolo-autograd/: model.onnx (opset 17, constant-folded, seeded random
weights), input.npy [1, 3, 96, 96], one raw Grad-CAM map per case (case_<name>.npy, float32
[h, w] at the CAM layer's resolution: ReLU(sum_c mean_hw(dS/dA_c) * A_c), pytorch-grad-cam's
GradCAM weights, before any normalisation) and index.json naming the ONNX values of the layer
and of each target, the element differentiated and its score. test/targets/torchAutograd.test.ts
runs CamLens' own autodiff on the same model, input, layer and target and compares.

The network follows ultralytics' YOLOv8 layout at a toy width: Conv(+BN folded away: plain
Conv with bias)+SiLU, C2f blocks, SPPF, an FPN/PAN neck and a decoupled head per level with DFL
(softmax over 16 bins · arange) and dist2bbox, output [1, 4+K, A] (cx, cy, w, h in input pixels,
then K sigmoid class scores).
"""

import json
import os

import numpy as np
import onnx
import torch
import torch.nn as nn

SIZE = 96
WIDTH = 6
CLASSES = 4
REG_MAX = 16
STRIDES = (8, 16, 32)
OUT_DIR = os.path.join("test", "fixtures", "yolo-autograd")


class Conv(nn.Module):
    def __init__(self, cin, cout, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, k // 2)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.conv(x))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut=True):
        super().__init__()
        self.cv1 = Conv(c, c, 3)
        self.cv2 = Conv(c, c, 3)
        self.add = shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, cin, cout, n=1, shortcut=True):
        super().__init__()
        self.c = cout // 2
        self.cv1 = Conv(cin, 2 * self.c)
        self.cv2 = Conv((2 + n) * self.c, cout)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.cv1 = Conv(cin, cin // 2)
        self.cv2 = Conv(cin * 2, cout)
        self.m = nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat([x, y1, y2, self.m(y2)], 1))


class Backbone(nn.Module):
    def __init__(self, w=8):
        super().__init__()
        self.stem = Conv(3, w, 3, 2)  # /2
        self.down1 = Conv(w, 2 * w, 3, 2)  # /4
        self.c2f1 = C2f(2 * w, 2 * w)
        self.down2 = Conv(2 * w, 4 * w, 3, 2)  # /8
        self.c2f2 = C2f(4 * w, 4 * w)
        self.down3 = Conv(4 * w, 8 * w, 3, 2)  # /16
        self.c2f3 = C2f(8 * w, 8 * w)
        self.down4 = Conv(8 * w, 8 * w, 3, 2)  # /32
        self.c2f4 = C2f(8 * w, 8 * w)
        self.sppf = SPPF(8 * w, 8 * w)

    def forward(self, x):
        x = self.c2f1(self.down1(self.stem(x)))
        p3 = self.c2f2(self.down2(x))
        p4 = self.c2f3(self.down3(p3))
        p5 = self.sppf(self.c2f4(self.down4(p4)))
        return p3, p4, p5


class Neck(nn.Module):
    """FPN top-down (upsample + concat) then PAN bottom-up (strided conv + concat)."""

    def __init__(self, w=8):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.td4 = C2f(16 * w, 8 * w, shortcut=False)
        self.p3 = C2f(12 * w, 4 * w, shortcut=False)
        self.down3 = Conv(4 * w, 4 * w, 3, 2)
        self.p4 = C2f(12 * w, 8 * w, shortcut=False)
        self.down4 = Conv(8 * w, 8 * w, 3, 2)
        self.p5 = C2f(16 * w, 8 * w, shortcut=False)

    def forward(self, p3, p4, p5):
        t4 = self.td4(torch.cat([self.up(p5), p4], 1))
        n3 = self.p3(torch.cat([self.up(t4), p3], 1))
        n4 = self.p4(torch.cat([self.down3(n3), t4], 1))
        n5 = self.p5(torch.cat([self.down4(n4), p5], 1))
        return n3, n4, n5


class Head(nn.Module):
    """Decoupled head: per level a box branch (4 × 16 DFL bins) and a class branch."""

    def __init__(self, chans, k):
        super().__init__()
        self.k = k
        self.box = nn.ModuleList(nn.Sequential(Conv(c, 16, 3), Conv(16, 16, 3), nn.Conv2d(16, 4 * REG_MAX, 1)) for c in chans)
        self.cls = nn.ModuleList(nn.Sequential(Conv(c, 16, 3), Conv(16, 16, 3), nn.Conv2d(16, k, 1)) for c in chans)
        self.register_buffer("proj", torch.arange(REG_MAX, dtype=torch.float32))
        anchors, strides = [], []
        for s in STRIDES:
            g = SIZE // s
            ys, xs = torch.meshgrid(torch.arange(g) + 0.5, torch.arange(g) + 0.5, indexing="ij")
            anchors.append(torch.stack([xs.flatten(), ys.flatten()], 0))
            strides.append(torch.full((1, g * g), float(s)))
        self.register_buffer("anchors", torch.cat(anchors, 1))  # [2, A]
        self.register_buffer("strides", torch.cat(strides, 1))  # [1, A]

    def forward(self, feats):
        box, cls = [], []
        for i, f in enumerate(feats):
            box.append(self.box[i](f).flatten(2))
            cls.append(self.cls[i](f).flatten(2))
        box = torch.cat(box, 2)  # [1, 64, A]
        cls = torch.cat(cls, 2)  # [1, K, A]
        a = box.shape[2]
        dist = box.view(1, 4, REG_MAX, a).softmax(2)
        dist = (dist * self.proj.view(1, 1, REG_MAX, 1)).sum(2)  # DFL: expected bin, [1, 4, A]
        lt, rb = dist[:, :2], dist[:, 2:]
        x0y0 = self.anchors.unsqueeze(0) - lt
        x1y1 = self.anchors.unsqueeze(0) + rb
        xywh = torch.cat([(x0y0 + x1y1) / 2, x1y1 - x0y0], 1) * self.strides
        return torch.cat([xywh, cls.sigmoid()], 1)


class YoloLike(nn.Module):
    def __init__(self, w=8, k=CLASSES):
        super().__init__()
        self.backbone = Backbone(w)
        self.neck = Neck(w)
        self.head = Head((4 * w, 8 * w, 8 * w), k)

    def forward(self, x):
        return self.head(self.neck(*self.backbone(x)))


def module_output_name(model_proto, scope):
    """The ONNX value a module's forward returns: the output of the last node exported in its scope."""
    last = [n for n in model_proto.graph.node if n.name.startswith(scope + "/")]
    if not last:
        raise SystemExit(f"no node in scope {scope}")
    return last[-1].output[0]


def main():
    torch.manual_seed(int(os.environ.get("SEED", "0")))
    model = YoloLike(WIDTH).eval()
    # Variance-keeping weights (PyTorch's default init shrinks the signal layer after layer until
    # the maps are 1e-8 and all of one sign), small random biases.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.normal_(0, 1.6 / fan_in**0.5)
                m.bias.normal_(0, 0.1)
    # Spread the class logits so that some anchors score above CamLens' default conf (0.25).
    with torch.no_grad():
        for seq in model.head.cls:
            seq[2].bias.add_(-1.0)
    x = torch.rand(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))

    os.makedirs(OUT_DIR, exist_ok=True)
    onnx_path = os.path.join(OUT_DIR, "model.onnx")
    torch.onnx.export(model, x, onnx_path, opset_version=17, do_constant_folding=True, input_names=["images"], output_names=["output0"])
    proto = onnx.load(onnx_path)
    layer_name = module_output_name(proto, "/neck/p3/cv2/act")
    inner_name = module_output_name(proto, "/neck/p4/cv2/act")

    # Hooks keep the CAM layer's activation and the internal value of case 4.
    kept = {}
    model.neck.p3.register_forward_hook(lambda m, i, o: kept.__setitem__("layer", o))
    model.neck.p4.register_forward_hook(lambda m, i, o: kept.__setitem__("inner", o))

    def grad_cam(scalar_of):
        out = model(x)
        s = scalar_of(out, kept["inner"])
        (g,) = torch.autograd.grad(s, kept["layer"])
        a = kept["layer"]
        w = g.mean(dim=(2, 3), keepdim=True)  # pytorch-grad-cam's GradCAM weights
        cam = torch.relu((w * a).sum(1))[0]
        return cam.detach().numpy().astype(np.float32), float(s)

    with torch.no_grad():
        out0 = model(x)[0]
        inner0 = kept["inner"][0]
    cls = out0[4:]
    best_class, best_anchor = np.unravel_index(int(cls.argmax()), tuple(cls.shape))
    flat_max = int(out0.argmax())
    max_index = [0, *np.unravel_index(flat_max, tuple(out0.shape))]
    inner_index = [0, 5, inner0.shape[1] // 2, inner0.shape[2] // 3]
    element = [0, 4 + 1, 40]

    cases = {
        "element": ("output0", element, lambda o, n: o[tuple(element)]),
        "max": ("output0", [int(i) for i in max_index], lambda o, n: o[0].flatten()[flat_max]),
        "sum": ("output0", [], lambda o, n: o.sum()),
        "internal": (inner_name, inner_index, lambda o, n: n[tuple(inner_index)]),
        # The top detection after conf + class-wise NMS is the best class score of all anchors
        # (NMS never suppresses the highest box), CamLens' --box 0.
        "box0": ("output0", [0, 4 + int(best_class), int(best_anchor)], lambda o, n: o[0, 4 + int(best_class), int(best_anchor)]),
    }
    index = {"model": "model.onnx", "input": "input.npy", "layer": layer_name, "cases": {}}
    np.save(os.path.join(OUT_DIR, "input.npy"), x.numpy().astype(np.float32))
    for name, (value, idx, fn) in cases.items():
        cam, score = grad_cam(fn)
        np.save(os.path.join(OUT_DIR, f"case_{name}.npy"), cam)
        index["cases"][name] = {"value": value, "index": [int(i) for i in idx], "score": score, "map": f"case_{name}.npy"}
        print(f"{name}: {value} {idx} score {score:.6g} map {cam.shape} max {cam.max():.4g} positive {(cam > 0).mean():.2f}")
    index["box0"] = {"class": int(best_class), "anchor": int(best_anchor), "score": float(cls[best_class, best_anchor])}
    with open(os.path.join(OUT_DIR, "index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
