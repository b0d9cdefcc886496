"""PyTorch golden data for the Tensor engine, NN layers and optimizers, written
with Python's `safetensors` (so loading it also checks our reader):

    .venv-bench/bin/python tools/golden/make_tensor_golden.py   # Fixtures/golden/tensor_ops.safetensors

For an op y = f(x, ...), the file holds the inputs, y, a random upstream
gradient g ("…/up") and the gradients of sum(y · g) with respect to each input.
"""
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
from kth3l import KTH3L, CTModule, Recon3L  # noqa: E402

torch.manual_seed(0)
out = {}


def case(name, fn, inputs, **extra):
    leaves = {k: v.clone().requires_grad_(v.dtype == torch.float32) for k, v in inputs.items()}
    y = fn(**leaves)
    up = torch.randn_like(y)
    (y * up).sum().backward()
    for k, v in inputs.items():
        out[f"{name}/{k}"] = v.contiguous()
        if leaves[k].grad is not None:
            out[f"{name}/d{k}"] = leaves[k].grad.contiguous()
    out[f"{name}/y"] = y.detach().contiguous()
    out[f"{name}/up"] = up.contiguous()
    for k, v in extra.items():
        out[f"{name}/{k}"] = v.contiguous()


r = torch.randn
case("conv_basic", lambda x, w: F.conv3d(x, w, padding=1), {"x": r(2, 3, 5, 6, 7), "w": r(4, 3, 3, 3, 3)})
case("conv_strided", lambda x, w: F.conv3d(x, w, stride=(1, 2, 2), padding=(0, 2, 1), dilation=(1, 2, 2)),
     {"x": r(2, 3, 6, 9, 8), "w": r(5, 3, 2, 3, 3)})
case("conv_groups", lambda x, w: F.conv3d(x, w, padding=(1, 0, 1), groups=2), {"x": r(1, 4, 4, 5, 5), "w": r(6, 2, 3, 1, 3)})
case("conv_depthwise", lambda x, w: F.conv3d(x, w, padding=1, groups=4), {"x": r(2, 4, 4, 6, 6), "w": r(4, 1, 3, 3, 3)})
case("conv_depthwise_dilated", lambda x, w: F.conv3d(x, w, padding=(2, 1, 2), dilation=(2, 1, 2), stride=(1, 2, 1), groups=3),
     {"x": r(2, 3, 6, 7, 8), "w": r(3, 1, 3, 3, 3)})
case("conv_pointwise", lambda x, w: F.conv3d(x, w), {"x": r(2, 5, 3, 4, 4), "w": r(7, 5, 1, 1, 1)})
case("maxpool_122", lambda x: F.max_pool3d(x, (1, 2, 2)), {"x": r(2, 3, 3, 6, 8)})
case("maxpool_2", lambda x: F.max_pool3d(x, 2), {"x": r(2, 3, 4, 6, 8)})
case("avgpool_2", lambda x: F.avg_pool3d(x, 2), {"x": r(2, 3, 4, 6, 8)})
case("gap", lambda x: x.mean(dim=(2, 3, 4)), {"x": r(3, 4, 2, 3, 5)})
rm, rv = torch.randn(4) * 0.1, torch.rand(4) + 0.5
case("bn_train", lambda x, gamma, beta: F.batch_norm(x, rm_t := rm.clone(), rv_t := rv.clone(), gamma, beta, training=True),
     {"x": r(3, 4, 2, 3, 3) * 2 + 1, "gamma": r(4), "beta": r(4)}, running_mean_in=rm, running_var_in=rv)
rm2, rv2 = rm.clone(), rv.clone()
F.batch_norm(out["bn_train/x"], rm2, rv2, out["bn_train/gamma"], out["bn_train/beta"], training=True)
out["bn_train/running_mean_out"], out["bn_train/running_var_out"] = rm2, rv2
case("bn_eval", lambda x, gamma, beta: F.batch_norm(x, rm, rv, gamma, beta, training=False),
     {"x": r(2, 4, 2, 3, 3), "gamma": r(4), "beta": r(4)}, running_mean_in=rm, running_var_in=rv)
case("relu", lambda x: torch.relu(x), {"x": r(2, 3, 4, 5)})
case("sigmoid", lambda x: torch.sigmoid(x), {"x": r(2, 3, 4, 5)})
for tag, bshape in {"c": (2, 3, 1, 1, 1), "t": (1, 1, 4, 1, 1), "hw": (2, 1, 1, 5, 6)}.items():
    case(f"add_{tag}", lambda a, b: a + b, {"a": r(2, 3, 4, 5, 6), "b": r(*bshape)})
    case(f"mul_{tag}", lambda a, b: a * b, {"a": r(2, 3, 4, 5, 6), "b": r(*bshape)})
case("linear", lambda x, w, b: F.linear(x, w, b), {"x": r(4, 7), "w": r(5, 7), "b": r(5)})
labels = torch.tensor([0, 3, 1, 4, 4, 2])
case("xent", lambda x: F.cross_entropy(x, labels).reshape(1), {"x": r(6, 5) * 3}, labels=labels.float())
case("permute", lambda x: x.permute(0, 2, 1, 3, 4), {"x": r(2, 3, 4, 2, 3)})
case("slice", lambda x: x[:, :, 1:3], {"x": r(2, 3, 5, 2, 2)})
case("concat", lambda a, b: torch.cat([a, b], dim=1), {"a": r(2, 3, 2, 2), "b": r(2, 4, 2, 2)})

# Optimizers: three steps from the same parameters with fixed gradients.
p0 = r(10)
grads = [r(10) for _ in range(3)]
for k, g in enumerate(grads):
    out[f"opt/grad{k}"] = g
out["opt/p0"] = p0
for name, make in {
    "sgd_momentum_nesterov_wd": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "sgd_plain": lambda p: torch.optim.SGD([p], lr=0.1),
    "adam": lambda p: torch.optim.Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
    "adamw": lambda p: torch.optim.AdamW([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1),
}.items():
    p = p0.clone().requires_grad_(True)
    opt = make(p)
    for k, g in enumerate(grads):
        p.grad = g.clone()
        opt.step()
        out[f"opt/{name}/step{k}"] = p.detach().clone()

# kth3l-reg3d: one training-mode forward/backward on a small clip.
model = KTH3L(classes=6)
x = r(2, 3, 8, 12, 16)
target = torch.tensor([1, 4])
logits = model(x)
loss = F.cross_entropy(logits, target)
loss.backward()
out["kth3l/x"], out["kth3l/labels"] = x, target.float()
out["kth3l/logits"], out["kth3l/loss"] = logits.detach(), loss.detach().reshape(1)
for n, p in model.named_parameters():
    out[f"kth3l/param/{n}"] = p.detach().clone()
    out[f"kth3l/grad/{n}"] = p.grad.clone()
for n, b in model.named_buffers():
    if "num_batches" not in n:
        out[f"kth3l/buffer/{n}"] = b.clone()

# STDCF (appended, so the tensors above keep their values): W = Σ α·ψ·φ, then conv3d
# with temporal dilation 2 and spatial dilation 1.
def stdcf(x, alpha, psi, phi):
    w = torch.einsum("ocij,iuv,jt->octuv", alpha, psi, phi)
    return F.conv3d(x, w, padding=(2, 1, 1), dilation=(2, 1, 1))


case("stdcf", stdcf, {"x": r(2, 3, 6, 5, 5), "alpha": r(4, 3, 6, 2), "psi": r(6, 3, 3), "phi": r(2, 3)})
case("rank1", lambda x, ws, wt: F.conv3d(F.conv3d(x, ws, padding=(0, 1, 1)), wt, padding=(1, 0, 0)),
     {"x": r(2, 3, 4, 5, 5), "ws": r(4, 3, 1, 3, 3), "wt": r(4, 4, 3, 1, 1)})


def tsm(x, fold=8):
    n, c, t, h, w = x.shape
    part = c // fold
    out = torch.zeros_like(x)
    out[:, :part, :-1] = x[:, :part, 1:]               # from the next frame
    out[:, part:2 * part, 1:] = x[:, part:2 * part, :-1]   # from the previous frame
    out[:, 2 * part:] = x[:, 2 * part:]
    return out


case("tsm", tsm, {"x": r(2, 16, 4, 3, 3)})


def tt_kernel(k0, params, t):
    """3DTT: slice t+1 = grid_sample(slice t, affine_grid(θ(s, r, tx, ty))), per output channel."""
    o, c, kh, kw = k0.shape
    slices = [k0]
    for step in range(t - 1):
        s_, r_, tx, ty = params[:, step, 0], params[:, step, 1], params[:, step, 2], params[:, step, 3]
        cos, sin = torch.cos(r_), torch.sin(r_)
        theta = torch.stack([torch.stack([s_ * cos, -s_ * sin, s_ * (tx * cos - ty * sin)], 1),
                             torch.stack([s_ * sin, s_ * cos, s_ * (tx * sin + ty * cos)], 1)], 1)   # O×2×3
        grid = F.affine_grid(theta, (o, c, kh, kw), align_corners=False)
        slices.append(F.grid_sample(slices[-1], grid, mode="bilinear", padding_mode="zeros", align_corners=False))
    return torch.stack(slices, 2)   # O×C×T×kh×kw


tt_params = torch.stack([1 + 0.15 * r(3, 2), 0.3 * r(3, 2), 0.2 * r(3, 2), 0.2 * r(3, 2)], 2)   # O×(T−1)×4
case("tt", lambda x, k0, params: F.conv3d(x, tt_kernel(k0, params, 3), padding=1),
     {"x": r(2, 2, 4, 6, 6), "k0": r(3, 2, 3, 3), "params": tt_params})



def module_case(name, module, x):
    """A whole module in training mode: its parameters (randomised BN affine
    too), x, y, the upstream gradient, dx and every parameter's gradient."""
    with torch.no_grad():
        for pname, p in module.named_parameters():
            if pname.endswith("bn.weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif pname.endswith("bn.bias"):
                p.copy_(0.2 * torch.randn_like(p))
    x = x.clone().requires_grad_(True)
    y = module(x)
    up = torch.randn_like(y)
    (y * up).sum().backward()
    out[f"{name}/x"], out[f"{name}/y"], out[f"{name}/up"], out[f"{name}/dx"] = x.detach(), y.detach(), up, x.grad
    for pname, p in module.named_parameters():
        out[f"{name}/p/{pname}"] = p.detach().contiguous()
        out[f"{name}/g/{pname}"] = p.grad.contiguous()


# CT-Module (appended): C = 32 = 4×8, so the two steps use different groups.
module_case("ct", CTModule(32), r(2, 32, 4, 6, 5))

# Fast paths (appended): whole-axis average pools, and broadcasts large enough
# to run in parallel, with the small operand first and second.
case("avgpool_time", lambda x: F.avg_pool3d(x, (4, 1, 1)), {"x": r(2, 3, 4, 5, 6)})
case("avgpool_space", lambda x: F.avg_pool3d(x, (1, 5, 6)), {"x": r(2, 3, 4, 5, 6)})
case("mul_big", lambda a, b: a * b, {"a": r(2, 16, 8, 1, 1), "b": r(2, 16, 8, 16, 16)})
case("add_big", lambda a, b: a + b, {"a": r(2, 16, 8, 16, 16), "b": r(2, 16, 1, 16, 16)})
# Temporal pooling of the supplement (k = 3 in time, stride 2, padding 1), odd and even T.
case("tmaxpool_odd", lambda x: F.max_pool3d(x, (3, 1, 1), (2, 1, 1), (1, 0, 0)), {"x": r(2, 3, 7, 4, 5)})
case("tmaxpool_even", lambda x: F.max_pool3d(x, (3, 1, 1), (2, 1, 1), (1, 0, 0)), {"x": r(2, 3, 8, 4, 5)})
# The non-local block's products and softmax.
case("bmm", lambda a, b: torch.bmm(a, b), {"a": r(2, 3, 4), "b": r(2, 4, 5)})
case("bmm_ta", lambda a, b: torch.bmm(a.transpose(1, 2), b), {"a": r(2, 4, 3), "b": r(2, 4, 5)})
case("bmm_tb", lambda a, b: torch.bmm(a, b.transpose(1, 2)), {"a": r(2, 3, 4), "b": r(2, 5, 4)})
case("softmax_last", lambda x: torch.softmax(x, -1), {"x": r(2, 3, 7)})
# GoogLeNet's pools (appended): 3/2 and 2/2 in ceil mode (odd and even sizes), 3×3×3/1 with padding 1.
case("maxpool_ceil3", lambda x: F.max_pool3d(x, (1, 3, 3), (1, 2, 2), ceil_mode=True), {"x": r(2, 3, 2, 8, 7)})
case("maxpool_ceil2", lambda x: F.max_pool3d(x, (1, 2, 2), (1, 2, 2), ceil_mode=True), {"x": r(2, 3, 2, 7, 5)})
case("maxpool_pad333", lambda x: F.max_pool3d(x, 3, 1, 1, ceil_mode=True), {"x": r(2, 3, 4, 5, 6)})
# Mean squared error (appended): the reconstruction task's loss, target without gradient.
case("mse", lambda x, t: F.mse_loss(x, t).reshape(1), {"x": r(2, 3, 4, 5, 6), "t": r(2, 3, 4, 5, 6)})
# kth3l-tsm (appended): the whole net in training mode.
module_case("kth3l_tsm", KTH3L(classes=6, conv="tsm"), r(2, 3, 8, 12, 16))
# The reconstruction nets (appended), STDCF and rank-1.
module_case("recon3l_stdcf", Recon3L(conv="stdcf"), r(2, 3, 6, 8, 8))
module_case("recon3l_rank1", Recon3L(conv="rank1"), r(2, 3, 6, 8, 8))
# ResNet's stem pool: 3×3/2 with padding 1 on every frame, odd and even sizes.
case("maxpool_stem", lambda x: F.max_pool3d(x, (1, 3, 3), (1, 2, 2), (0, 1, 1)), {"x": r(2, 3, 2, 8, 7)})

save_file({k: v.float().contiguous().clone() for k, v in out.items()}, "Fixtures/golden/tensor_ops.safetensors",
          metadata={"made_by": "tools/golden/make_tensor_golden.py", "torch": torch.__version__})
print(f"{len(out)} tensors")
