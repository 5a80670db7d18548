#!/usr/bin/env python3
"""PyTorch peer for `edgewise bench`: the same workloads on the same data and weights.

Reads <dir>/spec.json written by src/bench/peer.ts (raw little-endian float32 files beside it),
runs each measure with torch.set_num_threads(threads), and prints one JSON object to stdout:
{"torch": version, "threads": n, "results": [{workload, measure, median_ms, min_ms, max_ms}],
 "checks": [{workload, quantity, value}]}.

HVPs are by double backward (create_graph=True); sharpness is PyHessian-style power iteration
with the first-order graph retained across iterations.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def load(d, f, shape):
    return torch.from_numpy(np.fromfile(os.path.join(d, f), dtype='<f4').reshape(shape).copy())


def timed(fn, runs, warmup=1):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1000)
    ts.sort()
    m = len(ts) // 2
    med = ts[m] if len(ts) % 2 else (ts[m - 1] + ts[m]) / 2
    return {'median_ms': med, 'min_ms': ts[0], 'max_ms': ts[-1], 'runs': runs}


def make_loss(w, d):
    x = load(d, w['x'], w['x_shape'])
    y = load(d, w['y'], w['y_shape'])
    B = x.shape[0]

    def loss_of(z):
        if w['loss'] == 'cross-entropy':
            return -(F.log_softmax(z, dim=1) * y).sum(1).mean()
        return 0.5 * ((z - y) ** 2).sum() / B

    if w['arch'] == 'mlp':
        act = torch.tanh if w.get('activation', 'tanh') == 'tanh' else torch.relu

        def f(ps):
            h = x
            L = len(ps) // 2
            for l in range(L):
                h = h @ ps[2 * l].t() + ps[2 * l + 1]
                if l + 1 < L:
                    h = act(h)
            return loss_of(h)
    else:
        def f(ps):
            h = F.avg_pool2d(torch.relu(F.conv2d(x, ps[0], ps[1])), 2)
            h = F.avg_pool2d(torch.relu(F.conv2d(h, ps[2], ps[3])), 2)
            return loss_of(h.reshape(B, -1) @ ps[4].t() + ps[5])
    return f


def params_from(d, w):
    theta = np.fromfile(os.path.join(d, w['theta']), dtype='<f4')
    ps, off = [], 0
    for shape in w['param_shapes']:
        n = int(np.prod(shape))
        ps.append(torch.from_numpy(theta[off:off + n].reshape(shape).copy()).requires_grad_(True))
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


def power_top(f, ps, k, iters, seed=0):
    """PyHessian-style: top-k by power iteration with deflation, graph retained."""
    loss = f(ps)
    g = torch.autograd.grad(loss, ps, create_graph=True)
    gen = torch.Generator().manual_seed(seed)
    found, vals = [], []
    for _ in range(k):
        v = torch.randn(sum(p.numel() for p in ps), generator=gen)
        v /= v.norm()
        lam = 0.0
        for _ in range(iters):
            for u in found:
                v -= (v @ u) * u
            v /= v.norm()
            hv = flat(torch.autograd.grad(g, ps, grad_outputs=split_like(v, ps), retain_graph=True))
            lam = float(hv @ v)
            v = hv / hv.norm()
        found.append(v)
        vals.append(lam)
    return vals


def main():
    d = sys.argv[1]
    spec = json.load(open(os.path.join(d, 'spec.json')))
    threads = int(spec.get('threads', os.cpu_count()))
    torch.set_num_threads(threads)
    results, checks = [], []
    for w in spec['workloads']:
        f = make_loss(w, d)
        ps = params_from(d, w)
        v = load(d, w['v'], [-1]) if 'v' in w else None
        runs = w.get('runs', 5)
        for m in w['measures']:
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
            else:
                raise SystemExit(f'unknown measure {m}')
            r = timed(fn, w.get(f'runs_{m}', runs))
            r.update(workload=w['workload'], measure=m)
            results.append(r)
            print(f"# torch {w['workload']} {m}: {r['median_ms']:.1f} ms", file=sys.stderr, flush=True)
        # Numbers the Edgewise side compares against (float32 tolerance).
        loss = f(ps)
        g = torch.autograd.grad(loss, ps, create_graph=True)
        checks.append({'workload': w['workload'], 'quantity': 'loss', 'value': float(loss)})
        checks.append({'workload': w['workload'], 'quantity': 'grad_norm', 'value': float(flat(g).norm())})
        if v is not None:
            hv = flat(torch.autograd.grad(g, ps, grad_outputs=split_like(v, ps), retain_graph=True))
            checks.append({'workload': w['workload'], 'quantity': 'hvp_norm', 'value': float(hv.norm())})
        if 'eigvec' in w:
            u = load(d, w['eigvec'], [-1])
            hu = flat(torch.autograd.grad(g, ps, grad_outputs=split_like(u, ps), retain_graph=True))
            checks.append({'workload': w['workload'], 'quantity': 'rayleigh_top_eigvec', 'value': float(hu @ u / (u @ u))})
    json.dump({'torch': torch.__version__, 'threads': threads, 'results': results, 'checks': checks}, sys.stdout)


if __name__ == '__main__':
    main()
