#!/usr/bin/env python3
"""PyTorch peer of `npm run bench` (bench/torch.ts runs it; not meant to be run by hand).

    python3 bench/torch_baseline.py CONFIG.json OUT.json

CONFIG (written by bench/torch.ts) says which tasks to run:
  distill    - the CartPole-v1 distillation of bench/distill.ts on the same data: the same
               teacher-labelled training and held-out states, the same initial weights, the same
               minibatch index stream, 4-32-32-2 relu student, KL to softmax(teacher logits / tau)
               (averaged over the batch), Adam (same lr, betas, eps), the same Polyak average of the
               weights checked every `checkEvery` steps; wall seconds until held-out agreement of the
               averaged net first reaches the target.
  throughput - samples/s of one training step (minibatch draw, forward, KL, backward, Adam) on
               synthetic data, at each batch size (bench/distill.ts measures ours the same way).
  latency    - batch-1 (and batch-32) latency of the student (fp32 eager, fp32 TorchScript frozen,
               int8 torch.quantization.quantize_dynamic) and the teacher (fp32 eager, rebuilt from
               teacher.onnx with the `onnx` package), each call timed alone like
               runtime/src/check/latency.ts: nearest-rank p50/p99 in microseconds.
Writes OUT as JSON. Everything runs on one thread (torch.set_num_threads(1), and the env the
parent sets: OMP/OPENBLAS/MKL_NUM_THREADS=1). Reports which BLAS library the process mapped.
"""
import json
import math
import os
import platform
import sys
import time


def blas_libraries():
    """Shared libraries of this process whose names say BLAS/LAPACK (from /proc/self/maps)."""
    libs = set()
    try:
        with open('/proc/self/maps') as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6:
                    name = parts[-1]
                    base = os.path.basename(name).lower()
                    if 'blas' in base or 'lapack' in base or 'mkl' in base:
                        libs.add(name)
    except OSError:
        pass
    return sorted(libs)


def sgemm_provider():
    """The file whose sgemm_ PyTorch's matrix products call: the global scope first (LD_PRELOAD wins
    there), else the libblas.so.3 that torch's own dependencies loaded; found with dladdr."""
    import ctypes

    class DlInfo(ctypes.Structure):
        _fields_ = [('dli_fname', ctypes.c_char_p), ('dli_fbase', ctypes.c_void_p), ('dli_sname', ctypes.c_char_p), ('dli_saddr', ctypes.c_void_p)]

    libc = ctypes.CDLL(None)
    for lib in (None, 'libblas.so.3'):
        try:
            fn = getattr(ctypes.CDLL(lib), 'sgemm_')
        except (OSError, AttributeError):
            continue
        info = DlInfo()
        if libc.dladdr(ctypes.cast(fn, ctypes.c_void_p), ctypes.byref(info)) and info.dli_fname:
            return os.path.realpath(info.dli_fname.decode())
    return None


def blas_name(libs, provider=None):
    if provider:
        libs = [provider]
    joined = ' '.join(libs).lower()
    if 'openblas' in joined:
        return 'OpenBLAS'
    if 'mkl' in joined:
        return 'MKL'
    if 'blis' in joined:
        return 'BLIS'
    if 'atlas' in joined:
        return 'ATLAS'
    if any('/blas/libblas.so' in os.path.realpath(l) for l in libs):
        return 'reference BLAS (netlib)'
    return 'unknown' if libs else 'none mapped'


def percentile(sorted_ns, p):
    """Nearest rank, as runtime/src/check/stats.ts percentileSorted."""
    n = len(sorted_ns)
    if n == 0:
        return float('nan')
    rank = math.ceil(p / 100 * n)
    return sorted_ns[min(n, max(1, rank)) - 1]


def summarize(samples_ns):
    s = sorted(samples_ns)
    n = len(s)
    us = lambda ns: round(ns) / 1000
    return {
        'p50': us(percentile(s, 50)),
        'p90': us(percentile(s, 90)),
        'p99': us(percentile(s, 99)),
        'min': us(s[0]),
        'max': us(s[-1]),
        'mean': us(sum(s) / n),
        'calls': n,
    }


def main():
    cfg_path, out_path = sys.argv[1], sys.argv[2]
    with open(cfg_path) as f:
        cfg = json.load(f)
    result = {'python': sys.version.split()[0], 'executable': sys.executable}
    try:
        import numpy as np
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except ImportError as e:
        result['skipped'] = f'PyTorch is not importable by {sys.executable}: {e} (Debian: apt-get install python3-torch)'
        write(out_path, result)
        return
    threads = int(cfg.get('threads', 1))
    torch.set_num_threads(threads)
    # Touch BLAS once so the library is mapped before we look.
    _ = torch.ones(64, 64) @ torch.ones(64, 64)
    libs = blas_libraries()
    provider = sgemm_provider()
    result.update({
        'torch': torch.__version__,
        'numpy': np.__version__,
        'threads': torch.get_num_threads(),
        'blas': blas_name(libs, provider),
        'sgemmFrom': provider,
        'blasLibraries': libs,
        'blasInfo': blas_info(torch),
        'ldPreload': os.environ.get('LD_PRELOAD'),
        'quantizedEngine': None,
    })
    tasks = cfg.get('tasks', [])
    ctx = {'np': np, 'torch': torch, 'nn': nn, 'F': F}
    for task in tasks:
        try:
            if task == 'distill':
                result['distill'] = run_distill(ctx, cfg['distill'])
            elif task == 'throughput':
                result['throughput'] = run_throughput(ctx, cfg['throughput'])
            elif task == 'latency':
                result['latency'] = run_latency(ctx, cfg['latency'])
                result['quantizedEngine'] = torch.backends.quantized.engine
            else:
                result[task] = {'skipped': f'unknown task {task}'}
        except Exception as e:  # one failed task must not lose the others
            import traceback
            result[task] = {'skipped': f'{type(e).__name__}: {e}', 'traceback': traceback.format_exc()}
    # Libraries mapped at the end too (quantized kernels may map more).
    result['blasLibraries'] = blas_libraries()
    result['blas'] = blas_name(result['blasLibraries'], provider)
    write(out_path, result)


def blas_info(torch):
    try:
        cfg = torch.__config__.show()
        for part in cfg.replace('\n', ',').split(','):
            if 'BLAS_INFO' in part:
                return part.strip()
    except Exception:
        pass
    return None


def write(path, obj):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def mlp(nn, sizes, act):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU() if act == 'relu' else nn.Tanh())
    return nn.Sequential(*layers)


def load_layers(torch, net, layers):
    """layers: [{w: row-major [out][in] flat list, b: list}] into the Linear modules, in order."""
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    assert len(linears) == len(layers), f'{len(linears)} Linear modules vs {len(layers)} layers'
    with torch.no_grad():
        for lin, l in zip(linears, layers):
            lin.weight.copy_(torch.tensor(l['w'], dtype=torch.float32).reshape(lin.out_features, lin.in_features))
            lin.bias.copy_(torch.tensor(l['b'], dtype=torch.float32))


def run_distill(ctx, c):
    runs = [distill_once(ctx, c) for _ in range(int(c.get('repeats', 1)))]
    times = sorted(r['secondsToTarget'] for r in runs if r['secondsToTarget'] is not None)
    med = None
    if times:
        m = len(times) // 2
        med = times[m] if len(times) % 2 else (times[m - 1] + times[m]) / 2
    first = runs[0]
    return {
        'secondsToTarget': med,
        'stepsToTarget': first['stepsToTarget'],
        'samplesToTarget': first['samplesToTarget'],
        'adamForeach': first['adamForeach'],
        'curve': first.pop('curve'),
        'runs': [{k: v for k, v in r.items() if k != 'curve'} for r in runs],
    }


def distill_once(ctx, c):
    np, torch, nn, F = ctx['np'], ctx['torch'], ctx['nn'], ctx['F']
    d = c['dataDir']
    meta = json.load(open(os.path.join(d, 'meta.json')))
    obs = np.load(os.path.join(d, 'train_obs.npy'))
    tgt = np.load(os.path.join(d, 'train_targets.npy'))
    hobs = np.load(os.path.join(d, 'heldout_obs.npy'))
    hact = np.load(os.path.join(d, 'heldout_actions.npy')).reshape(-1)
    idx_all = np.load(os.path.join(d, 'indices.npy')).astype(np.int64)
    mean = np.array(meta['mean'], dtype=np.float32)
    std = np.array(meta['std'], dtype=np.float32)
    # Normalized once, in float32: fround(fround(obs - mean) / std), as the TS buffer does per draw.
    X = torch.from_numpy(((obs - mean) / std).astype(np.float32))
    T = torch.from_numpy(tgt.astype(np.float32))
    Xh = torch.from_numpy(((hobs - mean) / std).astype(np.float32))
    Ah = torch.from_numpy(hact.astype(np.int64))
    idx = torch.from_numpy(idx_all)
    B = int(c['batch'])
    check_every = int(c['checkEvery'])
    target = float(c['target'])
    ema = float(c['emaDecay'])
    max_steps = int(c['maxSteps'])
    max_seconds = float(c['maxSeconds'])
    sizes = meta['sizes']
    torch.manual_seed(int(c.get('seed', 0)))
    model = mlp(nn, sizes, meta['activation'])
    load_layers(torch, model, meta['init'])
    avg = mlp(nn, sizes, meta['activation'])
    avg.load_state_dict(model.state_dict())
    avg.requires_grad_(False)
    params = list(model.parameters())
    avg_params = list(avg.parameters())
    opt = torch.optim.Adam(params, lr=float(c['lr']), betas=(0.9, 0.999), eps=1e-8, foreach=bool(c.get('foreach', False)))
    stream = idx.numel() // B  # steps covered by the shared index stream
    rows = X.shape[0]
    g = torch.Generator().manual_seed(int(c.get('seed', 0)))

    def agreement():
        with torch.no_grad():
            return (avg(Xh).argmax(1) == Ah).sum().item() / Ah.numel()

    steps = 0
    curve = []
    seconds_to_target = None
    steps_to_target = None
    first_check = agreement()
    t0 = time.perf_counter()
    c0 = time.process_time()
    stop = None
    while stop is None:
        for _ in range(check_every):
            if steps < stream:
                bi = idx[steps * B:(steps + 1) * B]
            else:  # past the shared stream: torch's own sampler
                bi = torch.randint(0, rows, (B,), generator=g)
            xb = X.index_select(0, bi)
            tb = T.index_select(0, bi)
            out = model(xb)
            loss = F.kl_div(F.log_softmax(out, dim=1), tb, reduction='batchmean')
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
            dcy = min(ema, (1 + steps) / (10 + steps))
            with torch.no_grad():
                for a, p in zip(avg_params, params):
                    a.lerp_(p, 1 - dcy)
        agree = agreement()
        el = time.perf_counter() - t0
        curve.append({'steps': steps, 'samples': steps * B, 'agreement': agree, 'seconds': el})
        if agree >= target:
            seconds_to_target = el
            steps_to_target = steps
            stop = 'target'
        elif steps >= max_steps:
            stop = 'steps'
        elif el >= max_seconds:
            stop = 'seconds'
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return {
        'secondsToTarget': seconds_to_target,
        'stepsToTarget': steps_to_target,
        'samplesToTarget': None if steps_to_target is None else steps_to_target * B,
        'stopReason': stop,
        'steps': steps,
        'wallSeconds': wall,
        'cpuSeconds': cpu,
        'initialAgreement': first_check,
        'finalAgreement': curve[-1]['agreement'] if curve else None,
        'usedSharedIndexStreamFor': min(steps, stream),
        'adamForeach': bool(c.get('foreach', False)),
        'curve': curve,
    }


def run_throughput(ctx, c):
    np, torch, nn, F = ctx['np'], ctx['torch'], ctx['nn'], ctx['F']
    out = []
    sizes = c['sizes']
    for B in c['batches']:
        torch.manual_seed(0)
        rows = 16384
        model = mlp(nn, sizes, 'relu')
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        X = torch.rand(rows, sizes[0]) * 2 - 1
        T = torch.softmax(torch.rand(rows, sizes[-1]) * 6 - 3, dim=1)

        def step():
            bi = torch.randint(0, rows, (B,))
            y = model(X.index_select(0, bi))
            loss = F.kl_div(F.log_softmax(y, dim=1), T.index_select(0, bi), reduction='batchmean')
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        for _ in range(50):
            step()
        steps = 0
        t0 = time.perf_counter()
        c0 = time.process_time()
        el = 0.0
        while el < float(c['seconds']):
            for _ in range(20):
                step()
            steps += 20
            el = time.perf_counter() - t0
        cpu = time.process_time() - c0
        out.append({
            'sizes': sizes,
            'batch': B,
            'steps': steps,
            'seconds': el,
            'samplesPerSecond': steps * B / el,
            'samplesPerCpuSecond': steps * B / cpu if cpu > 0 else None,
        })
    return out


def teacher_from_onnx(ctx, path):
    """The teacher rebuilt in torch: Gemm(transB=1, alpha=beta=1) + Tanh/Relu chains only."""
    import onnx
    from onnx import numpy_helper
    torch, nn = ctx['torch'], ctx['nn']
    m = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    mods = []
    for node in m.graph.node:
        if node.op_type == 'Gemm':
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get('transB', 0) != 1 or attrs.get('transA', 0) != 0 or attrs.get('alpha', 1.0) != 1.0 or attrs.get('beta', 1.0) != 1.0:
                raise ValueError(f'{path}: Gemm {node.name} with attributes {attrs} is not a plain Linear')
            w = inits[node.input[1]]
            b = inits[node.input[2]]
            lin = nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w.copy()))
                lin.bias.copy_(torch.from_numpy(b.copy()))
            mods.append(lin)
        elif node.op_type == 'Tanh':
            mods.append(nn.Tanh())
        elif node.op_type == 'Relu':
            mods.append(nn.ReLU())
        else:
            raise ValueError(f'{path}: op {node.op_type} is not supported by this rebuild')
    return nn.Sequential(*mods).eval()


def student_module(ctx, s):
    """The student with its observation normalization folded into the first Linear (one fewer op
    per call: the fastest honest eager form), activations as in the IR."""
    torch, nn = ctx['torch'], ctx['nn']
    layers = s['layers']
    mean = torch.tensor(s['mean'], dtype=torch.float64)
    std = torch.tensor(s['std'], dtype=torch.float64)
    mods = []
    for k, l in enumerate(layers):
        w = torch.tensor(l['w'], dtype=torch.float64).reshape(l['outDim'], l['inDim'])
        b = torch.tensor(l['b'], dtype=torch.float64)
        if k == 0:
            w = w / std  # W((x - m) / s) + b = (W / s) x + (b - (W / s) m)
            b = b - w @ mean
        lin = nn.Linear(l['inDim'], l['outDim'])
        with torch.no_grad():
            lin.weight.copy_(w.float())
            lin.bias.copy_(b.float())
        mods.append(lin)
        if l['activation'] == 'relu':
            mods.append(nn.ReLU())
        elif l['activation'] == 'tanh':
            mods.append(nn.Tanh())
    return nn.Sequential(*mods).eval()


def time_calls(fn, inputs, min_calls, max_seconds, warmup_calls, warmup_seconds):
    k = len(inputs)
    pc = time.perf_counter_ns
    warm_end = pc() + int(warmup_seconds * 1e9)
    i = 0
    while i < warmup_calls:
        fn(inputs[i % k])
        i += 1
        if i % 1024 == 0 and pc() > warm_end:
            break
    samples = [0] * min_calls
    end = pc() + int(max_seconds * 1e9)
    n = 0
    j = 0
    while n < min_calls:
        x = inputs[j]
        j = j + 1 if j + 1 < k else 0
        t0 = pc()
        fn(x)
        t = pc()
        samples[n] = t - t0
        n += 1
        if n % 1024 == 0 and t > end:
            break
    return summarize(samples[:n])


def run_latency(ctx, c):
    np, torch = ctx['np'], ctx['torch']
    obs = np.load(c['inputs']).astype(np.float32)
    student = json.load(open(c['student']))
    m = int(c['minCalls'])
    ms = float(c['maxSeconds'])
    wc = int(c['warmupCalls'])
    ws = float(c['warmupSeconds'])
    rows1 = [torch.from_numpy(obs[i:i + 1].copy()) for i in range(obs.shape[0])]
    n32 = obs.shape[0] // 32
    rows32 = [torch.from_numpy(obs[i * 32:(i + 1) * 32].copy()) for i in range(n32)]
    out = {}
    fp32 = student_module(ctx, student)
    variants = {'student-fp32-eager': fp32}
    try:
        with torch.no_grad():
            variants['student-fp32-torchscript'] = torch.jit.freeze(torch.jit.trace(fp32, rows1[0]).eval())
    except Exception as e:
        out['student-fp32-torchscript'] = {'skipped': f'{type(e).__name__}: {e}'}
    # int8: every quantized engine this build has, a short trial each; the fastest is measured.
    trials = {}
    best = None
    for e in [e for e in torch.backends.quantized.supported_engines if e != 'none']:
        try:
            torch.backends.quantized.engine = e
            q = torch.quantization.quantize_dynamic(student_module(ctx, student), {torch.nn.Linear}, dtype=torch.qint8)
            with torch.inference_mode():
                trials[e] = time_calls(lambda x, q=q: int(q(x).argmax()), rows1, 1000, 2.0, 200, 0.5)['p50']
            if best is None or trials[e] < trials[best[0]]:
                best = (e, q)
        except Exception as ex:
            trials[e] = f'{type(ex).__name__}: {ex}'
    out['int8EngineTrials'] = trials
    if best is not None:
        torch.backends.quantized.engine = best[0]
        variants['student-int8-dynamic'] = best[1]
    try:
        variants['teacher-fp32-eager'] = teacher_from_onnx(ctx, c['teacherOnnx'])
    except Exception as e:
        out['teacher-fp32-eager'] = {'skipped': f'{type(e).__name__}: {e}'}
    # Agreement of each variant's actions with the fp32 student (and teacher rebuilt vs given labels).
    xs = torch.from_numpy(obs)
    with torch.inference_mode():
        ref = fp32(xs).argmax(1)
        agree = {name: (mod(xs).argmax(1) == ref).float().mean().item() for name, mod in variants.items()}
    for name, mod in variants.items():
        if name == 'student-int8-dynamic':
            torch.backends.quantized.engine = best[0]
        # act(): the action index, as ours (actSync / await act) returns it.
        def act1(x, mod=mod):
            return int(mod(x).argmax())

        def act32(x, mod=mod):
            return mod(x).argmax(1).tolist()

        with torch.inference_mode():
            r = {'batch1': time_calls(act1, rows1, m, ms, wc, ws)}
            if rows32:
                r['batch32'] = time_calls(act32, rows32, max(1, m // 8), ms, max(1, wc // 8), ws)
        r['agreementWithStudentFp32'] = agree[name]
        out[name] = r
    return out


if __name__ == '__main__':
    main()
