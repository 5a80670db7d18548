#!/usr/bin/env python3
"""PyTorch peer for `edgewise bench`: the same workloads on the same data and weights.

A warm server, so that the bench can alternate Edgewise and PyTorch measure by measure:
    torch_bench.py --threads N [--device cpu|cuda]
prints one JSON line {"torch", "threads", "device"}, then answers JSON-line requests on stdin:
    {"cmd": "load", "dir": D, "workload": {...}}  loads a workload written by src/bench/peer.ts
                                                   (raw little-endian float32 files in D)
    {"cmd": "time", "workload": W, "measure": M, "runs": n, "warmup": true}  -> {"ms": [..]}
                                                   (the first call of a measure sets it up and,
                                                   with warmup, runs it once untimed)
    {"cmd": "checks", "workload": W}              -> {"checks": [{quantity, value}]}
    {"cmd": "quit"}
Errors answer {"error": message}.

HVPs are by double backward (create_graph=True); sharpness is PyHessian-style power iteration
with the first-order graph retained across iterations; Gauss–Newton products G·v = Jᵀ H_z J v
(ggn_sharpness) by autograd too (see ggn_products). On CUDA, TF32 is off (float32 matmuls,
as Edgewise) and every timing is bracketed by torch.cuda.synchronize().
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from peer_server import serve

DEVICE = torch.device('cpu')


def sync():
    if DEVICE.type == 'cuda':
        torch.cuda.synchronize()


def load(d, f, shape):
    return torch.from_numpy(np.fromfile(os.path.join(d, f), dtype='<f4').reshape(shape).copy()).to(DEVICE)


def make_net(w, d):
    """The network's outputs z(ps) and the loss on them, loss_of(z)."""
    x = load(d, w['x'], w['x_shape'])
    y = load(d, w['y'], w['y_shape'])
    B = x.shape[0]

    def loss_of(z):
        if w['loss'] == 'cross-entropy':
            return -(F.log_softmax(z, dim=1) * y).sum(1).mean()
        return 0.5 * ((z - y) ** 2).sum() / B

    if w['arch'] == 'mlp':
        act = torch.tanh if w.get('activation', 'tanh') == 'tanh' else torch.relu

        def net(ps):
            h = x
            L = len(ps) // 2
            for l in range(L):
                h = h @ ps[2 * l].t() + ps[2 * l + 1]
                if l + 1 < L:
                    h = act(h)
            return h
    else:
        def net(ps):
            h = F.avg_pool2d(torch.relu(F.conv2d(x, ps[0], ps[1])), 2)
            h = F.avg_pool2d(torch.relu(F.conv2d(h, ps[2], ps[3])), 2)
            return h.reshape(B, -1) @ ps[4].t() + ps[5]
    return net, loss_of


def params_from(d, w):
    theta = np.fromfile(os.path.join(d, w['theta']), dtype='<f4')
    ps, off = [], 0
    for shape in w['param_shapes']:
        n = int(np.prod(shape))
        ps.append(torch.from_numpy(theta[off:off + n].reshape(shape).copy()).to(DEVICE).requires_grad_(True))
        off += n
    return ps


def flat(ts):
    return torch.cat([t.reshape(-1) for t in ts])


def split_like(v, ps):
    out, off = [], 0
    for p in ps:
        n = p.numel()
        out.append(v[off:off + n].reshape(p.shape))
        off += n
    return out


def power_top_of(matvec, n, k, iters, seed=0):
    """Top-k of a symmetric operator by power iteration with deflation (PyHessian-style)."""
    gen = torch.Generator().manual_seed(seed)
    found, vals = [], []
    for _ in range(k):
        v = torch.randn(n, generator=gen).to(DEVICE)
        v /= v.norm()
        lam = 0.0
        for _ in range(iters):
            for u in found:
                v -= (v @ u) * u
            v /= v.norm()
            hv = matvec(v)
            lam = float(hv @ v)
            v = hv / hv.norm()
        found.append(v)
        vals.append(lam)
    return vals


def power_top(f, ps, k, iters, seed=0):
    """PyHessian-style: top-k Hessian eigenvalues by power iteration with deflation, graph retained."""
    g = torch.autograd.grad(f(ps), ps, create_graph=True)

    def hvp(v):
        return flat(torch.autograd.grad(g, ps, grad_outputs=split_like(v, ps), retain_graph=True))
    return power_top_of(hvp, sum(p.numel() for p in ps), k, iters, seed)


def ggn_products(net, loss_of, ps):
    """G·v = Jᵀ (∇²_z ℓ) J v by autograd alone, the graphs built once and retained: J·v by the
    double-vjp trick (the vjp's derivative in its cotangent u), ∇²_z ℓ by double backward on the
    loss in the outputs, Jᵀ by a plain vjp."""
    z = net(ps)
    gz = torch.autograd.grad(loss_of(z), z, create_graph=True)[0]
    u = torch.zeros_like(z, requires_grad=True)
    jtu = torch.autograd.grad(z, ps, grad_outputs=u, create_graph=True)

    def gvp(v):
        jv = torch.autograd.grad(jtu, u, grad_outputs=split_like(v, ps), retain_graph=True)[0]
        hjv = torch.autograd.grad(gz, z, grad_outputs=jv, retain_graph=True)[0]
        return flat(torch.autograd.grad(z, ps, grad_outputs=hjv, retain_graph=True))
    return gvp


def ggn_power_top(net, loss_of, ps, iters, seed=0):
    """λ1 of the Gauss–Newton matrix by power iteration (as power_top for the Hessian)."""
    return power_top_of(ggn_products(net, loss_of, ps), sum(p.numel() for p in ps), 1, iters, seed)[0]


def eos_run(f, ps0, lr, steps, every, iters):
    """W4: full-batch GD for `steps` steps, sharpness (iters HVPs) at step 0 and every `every` steps."""
    ps = [p.detach().clone().requires_grad_(True) for p in ps0]
    sharp = []
    for step in range(steps + 1):
        if step % every == 0:
            sharp.append(power_top(f, ps, 1, iters, seed=step)[0])
        if step == steps:
            break
        g = torch.autograd.grad(f(ps), ps)
        with torch.no_grad():
            for p, gi in zip(ps, g):
                p -= lr * gi
    return sharp


class Workload:
    def __init__(self, d, w):
        self.w = w
        self.net, self.loss_of = make_net(w, d)
        net, loss_of = self.net, self.loss_of
        self.f = lambda ps: loss_of(net(ps))
        self.ps = params_from(d, w)
        self.v = load(d, w['v'], [-1]) if 'v' in w else None
        self.eigvec = load(d, w['eigvec'], [-1]) if 'eigvec' in w else None
        self.fns = {}

    def measure_fn(self, m):
        f, ps, v, w = self.f, self.ps, self.v, self.w
        if m == 'forward':
            def fn():
                with torch.no_grad():
                    f(ps)
        elif m == 'gradient':
            def fn():
                torch.autograd.grad(f(ps), ps)
        elif m in ('hvp', 'hvp_cold'):
            def fn():
                g = torch.autograd.grad(f(ps), ps, create_graph=True)
                torch.autograd.grad(g, ps, grad_outputs=split_like(v, ps))
        elif m == 'hvp_amortized':
            g = torch.autograd.grad(f(ps), ps, create_graph=True)

            def fn(g=g):
                torch.autograd.grad(g, ps, grad_outputs=split_like(v, ps), retain_graph=True)
        elif m == 'sharpness':
            def fn():
                power_top(f, ps, 1, w.get('iters', 20))
        elif m == 'ggn_sharpness':
            def fn():
                ggn_power_top(self.net, self.loss_of, ps, w.get('iters', 20))
        elif m == 'top5':
            def fn():
                power_top(f, ps, 5, w.get('iters', 20))
        elif m == 'gd_step_sharpness':
            lr = w['lr']

            def fn():
                g = torch.autograd.grad(f(ps), ps)
                with torch.no_grad():
                    stepped = [(p - lr * gi).requires_grad_(True) for p, gi in zip(ps, g)]
                power_top(f, stepped, 1, w.get('iters', 20))
        elif m == 'eos_run':
            def fn():
                eos_run(f, ps, w['lr'], w['steps'], w['every'], w.get('iters', 20))
        else:
            raise ValueError(f'unknown measure {m}')
        return fn

    def time(self, m, runs, warmup=True):
        if m not in self.fns:
            self.fns[m] = self.measure_fn(m)
            if warmup:
                self.fns[m]()  # warm-up
            sync()
        fn = self.fns[m]
        ts = []
        for _ in range(runs):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            ts.append((time.perf_counter() - t0) * 1000)
        return ts

    def checks(self):
        """Numbers the Edgewise side compares against (float32 tolerance)."""
        f, ps, v = self.f, self.ps, self.v
        out = []
        loss = f(ps)
        g = torch.autograd.grad(loss, ps, create_graph=True)
        out.append({'quantity': 'loss', 'value': float(loss)})
        out.append({'quantity': 'grad_norm', 'value': float(flat(g).norm())})
        if v is not None:
            hv = flat(torch.autograd.grad(g, ps, grad_outputs=split_like(v, ps), retain_graph=True))
            out.append({'quantity': 'hvp_norm', 'value': float(hv.norm())})
            out.append({'quantity': 'ggn_vp_norm', 'value': float(ggn_products(self.net, self.loss_of, ps)(v).norm())})
        if self.eigvec is not None:
            u = self.eigvec
            hu = flat(torch.autograd.grad(g, ps, grad_outputs=split_like(u, ps), retain_graph=True))
            out.append({'quantity': 'rayleigh_top_eigvec', 'value': float(hu @ u / (u @ u))})
        return out


def main():
    global DEVICE
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    name = 'cpu'
    if a.device == 'cuda':
        if not torch.cuda.is_available():
            print('torch_bench: CUDA requested (--peer cuda) but torch.cuda.is_available() is False '
                  f'(torch {torch.__version__}, built with CUDA {torch.version.cuda}); no GPU, driver or CUDA build',
                  file=sys.stderr, flush=True)
            sys.exit(2)
        DEVICE = torch.device('cuda')
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        name = torch.cuda.get_device_name(0)
    on_drop = torch.cuda.empty_cache if DEVICE.type == 'cuda' else None
    serve(Workload, {'torch': torch.__version__, 'threads': a.threads, 'device': name}, on_drop)


if __name__ == '__main__':
    main()
