#!/usr/bin/env python3
"""JAX peer for `edgewise bench --peer cuda` (used when `import jax` works): the same workloads,
the same JSON-line protocol as torch_bench.py (see there), on JAX's default device.

HVPs are forward-over-reverse, jax.jvp(jax.grad(f)), jitted; matmuls at 'highest' precision
(no TF32). Sharpness is power iteration with its 20 HVPs in one jitted loop; W4 (eos_run) is one
jitted loop over the whole run. jit has no separate "prepare at θ" step, so hvp_cold and
hvp_amortized time the same compiled HVP. Every timing waits on block_until_ready().
"""
import argparse
import os
import sys
import time

import numpy as np
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from peer_server import serve

jax.config.update('jax_default_matmul_precision', 'highest')


def load(d, f, shape):
    return jnp.asarray(np.fromfile(os.path.join(d, f), dtype='<f4').reshape(shape))


def make_net(w, d):
    """The network's outputs z(ps) and the loss on them, loss_of(z)."""
    x = load(d, w['x'], w['x_shape'])
    y = load(d, w['y'], w['y_shape'])
    B = x.shape[0]

    def loss_of(z):
        if w['loss'] == 'cross-entropy':
            return -(jax.nn.log_softmax(z, axis=1) * y).sum(1).mean()
        return 0.5 * ((z - y) ** 2).sum() / B

    def pool2(h):  # average pooling 2x2, stride 2, NCHW
        return jax.lax.reduce_window(h, 0.0, jax.lax.add, (1, 1, 2, 2), (1, 1, 2, 2), 'VALID') / 4.0

    def conv(h, k, b):
        out = jax.lax.conv_general_dilated(h, k, (1, 1), 'VALID', dimension_numbers=('NCHW', 'OIHW', 'NCHW'))
        return out + b.reshape(1, -1, 1, 1)

    if w['arch'] == 'mlp':
        act = jnp.tanh if w.get('activation', 'tanh') == 'tanh' else jax.nn.relu

        def net(ps):
            h = x
            L = len(ps) // 2
            for l in range(L):
                h = h @ ps[2 * l].T + ps[2 * l + 1]
                if l + 1 < L:
                    h = act(h)
            return h
    else:
        def net(ps):
            h = pool2(jax.nn.relu(conv(x, ps[0], ps[1])))
            h = pool2(jax.nn.relu(conv(h, ps[2], ps[3])))
            return h.reshape(B, -1) @ ps[4].T + ps[5]
    return net, loss_of


def params_from(d, w):
    theta = np.fromfile(os.path.join(d, w['theta']), dtype='<f4')
    ps, off = [], 0
    for shape in w['param_shapes']:
        n = int(np.prod(shape))
        ps.append(jnp.asarray(theta[off:off + n].reshape(shape)))
        off += n
    return ps


class Workload:
    def __init__(self, d, w):
        self.w = w
        net, loss_of = make_net(w, d)

        def f(ps):
            return loss_of(net(ps))
        self.f = f
        self.ps = params_from(d, w)
        _, self.unravel = ravel_pytree(self.ps)
        self.v = load(d, w['v'], [-1]) if 'v' in w else None
        self.eigvec = load(d, w['eigvec'], [-1]) if 'eigvec' in w else None
        unravel = self.unravel
        grad = jax.grad(f)

        def hvp_flat(ps, v):
            return ravel_pytree(jax.jvp(grad, (ps,), (unravel(v),))[1])[0]

        iters = w.get('iters', 20)

        def sharp(ps, key):
            v0 = jax.random.normal(key, ravel_pytree(ps)[0].shape, dtype=jnp.float32)
            v0 = v0 / jnp.linalg.norm(v0)

            def body(_, c):
                v, _lam = c
                hv = hvp_flat(ps, v)
                return hv / jnp.linalg.norm(hv), hv @ v
            return jax.lax.fori_loop(0, iters, body, (v0, jnp.float32(0)))[1]

        def ggn_flat(ps, v):
            # G·v = Jᵀ (∇²_z ℓ)(J v): jvp through the net, forward-over-reverse on ℓ alone, vjp back.
            z, jv = jax.jvp(net, (ps,), (unravel(v),))
            hjv = jax.jvp(jax.grad(loss_of), (z,), (jv,))[1]
            return ravel_pytree(jax.vjp(net, ps)[1](hjv)[0])[0]

        def ggn_sharp(ps, key):
            v0 = jax.random.normal(key, ravel_pytree(ps)[0].shape, dtype=jnp.float32)
            v0 = v0 / jnp.linalg.norm(v0)

            def body(_, c):
                v, _lam = c
                gv = ggn_flat(ps, v)
                return gv / jnp.linalg.norm(gv), gv @ v
            return jax.lax.fori_loop(0, iters, body, (v0, jnp.float32(0)))[1]

        self.jit_ggn = jax.jit(ggn_flat)
        self.jit_ggn_sharp = jax.jit(ggn_sharp)
        self.jit_f = jax.jit(f)
        self.jit_grad = jax.jit(grad)
        self.jit_hvp = jax.jit(hvp_flat)
        self.jit_sharp = jax.jit(sharp)
        lr = w.get('lr', 0.0)

        def gd_step_sharp(ps, key):
            g = grad(ps)
            return sharp([p - lr * gi for p, gi in zip(ps, g)], key)
        self.jit_gd_step_sharp = jax.jit(gd_step_sharp)

        steps, every = w.get('steps', 0), w.get('every', 1)

        def eos(ps, key):
            def gd(_, ps):
                g = grad(ps)
                return [p - lr * gi for p, gi in zip(ps, g)]

            def block(i, c):
                ps, out = c
                out = out.at[i].set(sharp(ps, jax.random.fold_in(key, i)))
                return jax.lax.fori_loop(0, every, gd, ps), out
            ps, out = jax.lax.fori_loop(0, steps // every, block, (ps, jnp.zeros(steps // every + 1, jnp.float32)))
            return out.at[steps // every].set(sharp(ps, jax.random.fold_in(key, steps // every)))
        self.jit_eos = jax.jit(eos)
        self.fns = {}

    def measure_fn(self, m):
        ps, v, key = self.ps, self.v, jax.random.PRNGKey(0)
        table = {
            'forward': lambda: self.jit_f(ps),
            'gradient': lambda: self.jit_grad(ps),
            'hvp': lambda: self.jit_hvp(ps, v),
            'hvp_cold': lambda: self.jit_hvp(ps, v),
            'hvp_amortized': lambda: self.jit_hvp(ps, v),
            'sharpness': lambda: self.jit_sharp(ps, key),
            'ggn_sharpness': lambda: self.jit_ggn_sharp(ps, key),
            'gd_step_sharpness': lambda: self.jit_gd_step_sharp(ps, key),
            'eos_run': lambda: self.jit_eos(ps, key),
        }
        if m not in table:
            raise ValueError(f'measure {m} is not implemented by the JAX peer')
        fn = table[m]
        return lambda: jax.block_until_ready(fn())

    def time(self, m, runs, warmup=True):
        if m not in self.fns:
            self.fns[m] = self.measure_fn(m)
            self.fns[m]()  # compile (always, warmup or not: compilation is not what we time)
        fn = self.fns[m]
        ts = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t0) * 1000)
        return ts

    def checks(self):
        ps = self.ps
        out = [{'quantity': 'loss', 'value': float(self.jit_f(ps))},
               {'quantity': 'grad_norm', 'value': float(jnp.linalg.norm(ravel_pytree(self.jit_grad(ps))[0]))}]
        if self.v is not None:
            out.append({'quantity': 'hvp_norm', 'value': float(jnp.linalg.norm(self.jit_hvp(ps, self.v)))})
            out.append({'quantity': 'ggn_vp_norm', 'value': float(jnp.linalg.norm(self.jit_ggn(ps, self.v)))})
        if self.eigvec is not None:
            u = self.eigvec
            out.append({'quantity': 'rayleigh_top_eigvec', 'value': float(self.jit_hvp(ps, u) @ u / (u @ u))})
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--device', choices=['cpu', 'cuda'], default='cuda')
    a = ap.parse_args()
    devs = jax.devices()
    if a.device == 'cuda' and devs[0].platform != 'gpu':
        print(f'jax_bench: a GPU was requested but JAX runs on {devs[0].platform} '
              '(install jax[cuda12] and check the driver)', file=sys.stderr, flush=True)
        sys.exit(2)
    serve(Workload, {'jax': jax.__version__, 'threads': a.threads, 'device': str(devs[0].device_kind)})


if __name__ == '__main__':
    main()
