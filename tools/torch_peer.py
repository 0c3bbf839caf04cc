#!/usr/bin/python3
"""PyTorch peer for bench/nn_bench: builds the model from a mystyle spec (text on stdin), trains
it for --batches batches of --batch random images (channels_last, --threads threads), times
encoder-only inference, and prints one JSON line. `--objective bce` (autoencoders): Adam on BCE
against the input. `--objective proxy` (encoder-only models such as style): the proxy heads of
nn/proxy_loss.h on random labels, logits_h = scale * normalize(z) @ normalize(W_h).T, cross-entropy
summed with the head weights, Adam at --lr on the model and --proxy-lr on the proxies. `--peak`
instead measures the machine's sgemm peak with a 4096x4096 numpy (OpenBLAS) matmul."""
import argparse
import json
import sys
import time


def build(spec_text):
    """Returns (model, encoder, channels, side, l2norm); `l2norm`: encode() output has unit rows."""
    import torch.nn as nn
    layers, encoder_layers, channels, side, l2norm = [], None, 3, 64, False
    height = width = None  # of the activation; None after a linear layer (flat)
    for line in spec_text.splitlines():
        words = line.split('#')[0].split()
        if not words:
            continue
        op = words[0]
        if op == 'model':
            continue
        if op == 'input':
            channels, side = int(words[1]), int(words[2])
            height = width = side
            continue
        if op == 'l2norm':
            l2norm = True
            continue
        if op == 'latent':
            encoder_layers = len(layers)
            continue
        act = words[2] if len(words) > 2 else 'none'
        if op == 'conv':
            layers.append(nn.Conv2d(channels, int(words[1]), 3, padding=1))
            channels = int(words[1])
        elif op == 'linear':
            # Our Linear flattens a C x H x W input in c, h, w order (src/nn/linear.cpp: oihw
            # weights), as nn.Flatten does on NCHW (also on a channels_last tensor: logical order).
            if height is not None:
                layers.append(nn.Flatten())
                channels, height, width = channels * height * width, None, None
            layers.append(nn.Linear(channels, int(words[1])))
            channels = int(words[1])
        elif op == 'maxpool':
            layers.append(nn.MaxPool2d(2))
            height, width = height // 2, width // 2
        elif op == 'upsample':
            layers.append(nn.Upsample(scale_factor=2, mode='nearest'))
            height, width = height * 2, width * 2
        elif op == 'batchnorm':
            bn = nn.BatchNorm2d if height is not None else nn.BatchNorm1d
            layers.append(bn(channels, eps=1e-3, momentum=0.01))
        elif op in ('relu', 'sigmoid'):
            act = op
        else:
            raise SystemExit(f'torch_peer: layer {op} not supported')
        if op in ('conv', 'linear', 'relu', 'sigmoid'):
            if act == 'relu':
                layers.append(nn.ReLU(inplace=True))
            elif act == 'sigmoid':
                layers.append(nn.Sigmoid())
    if encoder_layers is None:
        encoder_layers = len(layers)
    return nn.Sequential(*layers), nn.Sequential(*layers[:encoder_layers]), channels, side, l2norm


def parse_heads(text):
    """'118:1,39:0.5' -> [(118, 1.0), (39, 0.5)]: classes and loss weight per head."""
    heads = []
    for item in text.split(','):
        classes, weight = item.split(':')
        heads.append((int(classes), float(weight)))
    return heads


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batches', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--encode-batch', type=int, default=256)
    ap.add_argument('--encode-seconds', type=float, default=3.0)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--objective', choices=('bce', 'proxy'), default='bce')
    ap.add_argument('--heads', default='118:1,39:0.5,7:0.25,10:1', help='proxy: classes:weight,...')
    ap.add_argument('--scale', type=float, default=16.0, help='proxy: logit scale')
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--proxy-lr', type=float, default=1e-2)
    ap.add_argument('--peak', action='store_true')
    a = ap.parse_args()
    if a.peak:
        import numpy as np
        n = 4096
        x = np.random.rand(n, n).astype(np.float32)
        y = np.random.rand(n, n).astype(np.float32)
        x @ y
        best = 0.0
        for _ in range(3):
            t = time.perf_counter()
            x @ y
            best = max(best, 2 * n ** 3 / (time.perf_counter() - t) / 1e9)
        print(json.dumps({'peak_gflops': best}))
        return
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    spec = sys.stdin.read()
    model, encoder, out_channels, side, l2norm = build(spec)
    # The encoder is built from the same layer objects, so "latent" ends after its activation.
    model = model.to(memory_format=torch.channels_last)
    x = torch.rand(a.batch, 3, side, side).contiguous(memory_format=torch.channels_last)
    if a.objective == 'proxy':
        # Per head: [classes, dim] proxies drawn uniformly in [-1, 1), as ProxyLoss does.
        dim = out_channels  # the flat code: the model ends in a linear layer
        heads = parse_heads(a.heads)
        proxies = [torch.nn.Parameter(torch.rand(c, dim) * 2 - 1) for c, _ in heads]
        labels = [torch.randint(0, c, (a.batch,)) for c, _ in heads]
        opt = torch.optim.Adam([{'params': model.parameters()}, {'params': proxies, 'lr': a.proxy_lr}],
                               lr=a.lr, eps=1e-7)

        def compute_loss():
            z = F.normalize(model(x), dim=1)
            loss = 0
            for (_, weight), w, y in zip(heads, proxies, labels):
                logits = a.scale * z @ F.normalize(w, dim=1).t()
                loss = loss + weight * F.cross_entropy(logits, y)
            return loss
    else:
        opt = torch.optim.Adam(model.parameters(), lr=a.lr, eps=1e-7)
        bce = torch.nn.BCELoss()

        def compute_loss():
            return bce(model(x), x)
    model.train()
    steps = []  # seconds per timed step
    for i in range(a.warmup + a.batches):
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = compute_loss()
        loss.backward()
        opt.step()
        if i >= a.warmup:
            steps.append(time.perf_counter() - t)
    train = a.batches * a.batch / sum(steps)
    model.eval()
    xe = torch.rand(a.encode_batch, 3, side, side).contiguous(memory_format=torch.channels_last)

    def encode(images):
        z = encoder(images)
        return F.normalize(z, dim=1) if l2norm else z

    with torch.no_grad():
        encode(xe)
        calls = []  # seconds per encode call
        while len(calls) < 2 or sum(calls) < a.encode_seconds:
            t = time.perf_counter()
            encode(xe)
            calls.append(time.perf_counter() - t)
        encode_img_s = len(calls) * a.encode_batch / sum(calls)
    # *_best: the fastest single step / call (robust to other processes on a shared machine).
    print(json.dumps({'train_img_s': train, 'encode_img_s': encode_img_s,
                      'train_best_img_s': a.batch / min(steps), 'encode_best_img_s': a.encode_batch / min(calls),
                      'torch': torch.__version__}))


if __name__ == '__main__':
    main()
