#!/usr/bin/python3
"""PyTorch peer for bench/nn_bench: builds the model from a mystyle spec (text on stdin), trains
it with Adam on BCE for --batches batches of --batch random images (channels_last, --threads
threads), times encoder-only inference, and prints one JSON line. `--peak` instead measures the
machine's sgemm peak with a 4096x4096 numpy (OpenBLAS) matmul."""
import argparse
import json
import sys
import time


def build(spec_text):
    import torch.nn as nn
    layers, encoder_layers, channels, side = [], None, 3, 64
    for line in spec_text.splitlines():
        words = line.split('#')[0].split()
        if not words:
            continue
        op = words[0]
        if op == 'model':
            continue
        if op == 'input':
            channels, side = int(words[1]), int(words[2])
            continue
        if op == 'latent':
            encoder_layers = len(layers)
            continue
        act = words[2] if len(words) > 2 else 'none'
        if op == 'conv':
            layers.append(nn.Conv2d(channels, int(words[1]), 3, padding=1))
            channels = int(words[1])
        elif op == 'maxpool':
            layers.append(nn.MaxPool2d(2))
        elif op == 'upsample':
            layers.append(nn.Upsample(scale_factor=2, mode='nearest'))
        elif op == 'batchnorm':
            layers.append(nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01))
        elif op in ('relu', 'sigmoid'):
            act = op
        else:
            raise SystemExit(f'torch_peer: layer {op} not supported')
        if op in ('conv', 'relu', 'sigmoid'):
            if act == 'relu':
                layers.append(nn.ReLU(inplace=True))
            elif act == 'sigmoid':
                layers.append(nn.Sigmoid())
    if encoder_layers is None:
        encoder_layers = len(layers)
    return nn.Sequential(*layers), nn.Sequential(*layers[:encoder_layers]), channels, side


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batches', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--encode-batch', type=int, default=256)
    ap.add_argument('--encode-seconds', type=float, default=3.0)
    ap.add_argument('--threads', type=int, default=2)
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
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    spec = sys.stdin.read()
    model, encoder, _, side = build(spec)
    # The encoder is built from the same layer objects, so "latent" ends after its activation.
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.BCELoss()
    x = torch.rand(a.batch, 3, side, side).contiguous(memory_format=torch.channels_last)
    model.train()
    for i in range(a.warmup + a.batches):
        if i == a.warmup:
            t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), x)
        loss.backward()
        opt.step()
    train = a.batches * a.batch / (time.perf_counter() - t)
    model.eval()
    xe = torch.rand(a.encode_batch, 3, side, side).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        encoder(xe)
        t, reps = time.perf_counter(), 0
        while reps < 2 or time.perf_counter() - t < a.encode_seconds:
            encoder(xe)
            reps += 1
        encode = reps * a.encode_batch / (time.perf_counter() - t)
    print(json.dumps({'train_img_s': train, 'encode_img_s': encode, 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
