"""Training-step time with mask enforcement vs the dense model (same model, batch, one run).

Alternates dense and masked steps so both see the same machine state; reports medians.

Usage:
    .venv/bin/python benchmarks/mask_overhead.py [--steps 60] [--model det|cls] [--out F.json]
"""
import argparse
import os.path as osp
import statistics
import sys
import time

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def build(kind: str):
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    if kind == 'det':
        from colt_det.synthetic import ensure_demo_data
        ensure_demo_data(osp.join(root, 'data', 'demo'), 'det')
        init_default_scope('mmdet')
        from mmdet.registry import DATASETS, MODELS
        cfg = Config.fromfile(osp.join(root, 'configs', 'colt_faster_rcnn_demo.py'))
        cfg.train_dataloader.dataset.data_root = osp.join(root, cfg.data_root)
        model = MODELS.build(cfg.model)
        ds = DATASETS.build(cfg.train_dataloader.dataset)
        batch = pseudo_collate([ds[i] for i in range(8)])
        include = ['backbone.*']
    else:
        from mmengine.registry import MODELS
        model = MODELS.build(dict(type='ImageClassifier',
                                  backbone=dict(type='CifarResNet', depth=18), num_classes=10))
        batch = dict(inputs=torch.randn(32, 3, 32, 32), data_samples=torch.randint(0, 10, (32, )))
        include = ['backbone.*']
    model.init_weights()
    return model, batch, include


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--steps', type=int, default=60)
    parser.add_argument('--model', choices=['det', 'cls'], default='det')
    parser.add_argument('--sparsity', type=float, default=0.89)
    parser.add_argument('--out')
    args = parser.parse_args()
    from colt_det.core import MaskEnforcer, PrunableSpec, apply_mask, magnitude_prune, ones_mask
    model, batch, include = build(args.model)
    names = PrunableSpec(include=include).select(model)
    params = dict(model.named_parameters())
    mask = magnitude_prune({n: params[n] for n in names}, ones_mask(model, names),
                           args.sparsity)
    apply_mask(model, mask)
    enforcer = MaskEnforcer(model, mask)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    model.train()

    def step(masked: bool) -> float:
        t = time.perf_counter()
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if masked:
            enforcer.step()
        return time.perf_counter() - t

    for _ in range(3):  # warm-up
        step(False)
    dense, masked = [], []
    for _ in range(args.steps):
        dense.append(step(False))
        masked.append(step(True))
    res = dict(model=args.model, steps=args.steps, sparsity=args.sparsity,
               dense_median_s=statistics.median(dense),
               masked_median_s=statistics.median(masked),
               enforce_only_ms=None, threads=torch.get_num_threads())
    t = time.perf_counter()
    for _ in range(50):
        enforcer.step()
    res['enforce_only_ms'] = (time.perf_counter() - t) / 50 * 1e3
    res['ratio'] = res['masked_median_s'] / res['dense_median_s']
    print(f"{args.model}: dense {res['dense_median_s']:.3f} s/step, masked "
          f"{res['masked_median_s']:.3f} s/step, ratio {res['ratio']:.3f} "
          f"(enforcement alone {res['enforce_only_ms']:.2f} ms), {args.steps} steps each")
    if args.out:
        from colt_det.core import atomic_write_json
        atomic_write_json(args.out, res)


if __name__ == '__main__':
    main()
