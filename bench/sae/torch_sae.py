"""A PyTorch TopK SAE training step, the baseline for bench/sae (Debian python3-torch 1.13).

Same step as hcprobe's: f = TopK(ReLU(W_enc (x - b_dec) + b_enc)), x_hat = W_dec f + b_dec,
loss = sum||x_hat - x||^2 / sum||x - mean x||^2, decoder-parallel gradient removed, global
grad-norm clip 1, Adam, decoder rows renormalised. --decode sparse uses embedding_bag (as
sparsify does on CPU), dense scatters into [B, m] and multiplies (as OpenAI's reference).
Prints one JSON object: median ms per step and tokens/s.
"""
import argparse, json, statistics, time

import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('--d', type=int, required=True)
ap.add_argument('--m', type=int, required=True)
ap.add_argument('--k', type=int, required=True)
ap.add_argument('--batch', type=int, required=True)
ap.add_argument('--steps', type=int, default=10)
ap.add_argument('--warmup', type=int, default=3)
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--decode', choices=['sparse', 'dense'], default='sparse')
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

W_dec = torch.randn(a.m, a.d)
W_dec /= W_dec.norm(dim=1, keepdim=True)
W_enc = W_dec.t().clone().requires_grad_(True)
W_dec.requires_grad_(True)
b_enc = torch.zeros(a.m, requires_grad=True)
b_dec = torch.zeros(a.d, requires_grad=True)
params = [W_enc, W_dec, b_enc, b_dec]
opt = torch.optim.Adam(params, lr=2e-4 / (a.m / 16384) ** 0.5)
batches = [torch.randn(a.batch, a.d) for _ in range(4)]


def step(x):
    pre = F.relu((x - b_dec) @ W_enc + b_enc)
    v, i = pre.topk(a.k, dim=1, sorted=False)
    if a.decode == 'dense':
        xh = torch.zeros_like(pre).scatter(1, i, v) @ W_dec + b_dec
    else:
        xh = F.embedding_bag(i, W_dec, per_sample_weights=v, mode='sum') + b_dec
    loss = (xh - x).pow(2).sum() / (x - x.mean(0)).pow(2).sum()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    with torch.no_grad():
        g = W_dec.grad
        g -= (g * W_dec).sum(1, keepdim=True) * W_dec
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    with torch.no_grad():
        W_dec.div_(W_dec.norm(dim=1, keepdim=True))
    return loss.item()


times = []
for s in range(a.warmup + a.steps):
    t = time.perf_counter()
    step(batches[s % len(batches)])
    if s >= a.warmup:
        times.append(time.perf_counter() - t)
ms = statistics.median(times) * 1000
print(json.dumps({'impl': f'pytorch {torch.__version__} ({a.decode} decode, {a.threads} threads)', 'ms_per_step': ms, 'tokens_per_s': a.batch / (ms / 1000)}))
