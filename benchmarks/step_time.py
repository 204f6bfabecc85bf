"""Iteration time of a COLT partition stage vs a stock MMEngine ``Runner.train()`` of the same
config, and the fixed cost of one stage (Runner build and everything before the first step:
rewind, mask; everything after the last: pruning, mask file, result, teardown).

Both runs use the same config, model, data, batch and number of iterations; the COLT run adds
exactly what a search stage adds (ColtHook: rewind to theta0, mask at 50% sparsity, enforcement
after every step, NaN check, progress lines, pruning and the mask file at the end; the stage's
resources released). Step time = time between consecutive ``after_train_iter`` calls (data
loading included), median over the timed steps after warm-up.

Usage:
    .venv/bin/python benchmarks/step_time.py --model slim [--steps 100] [--warmup 10] [--repeats 2]
    .venv/bin/python benchmarks/step_time.py --model r50 --steps 20   # VOC scale: 1000x600, batch 2
    [--device cpu|cuda] [--amp] [--num-workers N]
    [--out benchmarks/results/step_time_<model>_<device>[_amp].json]
"""
import argparse
import copy
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)


def build_cfg(model: str, data_root: str, iters: int, num_workers: int, amp: bool = False):
    """The config both runs share: an iteration-based stage with no validation/checkpoints."""
    from mmengine.config import Config

    from colt_det.synthetic.demo import make_voc
    if model == 'slim':
        cfg = Config.fromfile(osp.join(ROOT, 'configs', 'colt_faster_rcnn_demo.py'))
        voc = make_voc(data_root, num_train=64, num_test=8, img_size=96)
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[key].dataset.data_root = voc
    else:  # Faster R-CNN R-50 FPN at VOC scale on generated 500x375 VOC07+12 (resized to 1000x600)
        cfg = Config.fromfile(osp.join(ROOT, 'configs', 'colt_faster_rcnn_voc.py'))
        from colt_det.synthetic.demo import make_voc0712
        voc = make_voc0712(data_root, num_train=48, num_test=8)
        for dataset in cfg.train_dataloader.dataset.dataset.datasets:
            dataset.data_root = voc
    cfg.train_dataloader.num_workers = num_workers
    cfg.train_dataloader.persistent_workers = num_workers > 0
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters + 1)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg[key] = None
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=iters + 1,
                                        by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1000)
    cfg.log_processor = dict(by_epoch=False)
    cfg.pop('colt')
    if amp:  # what tools/train.py --amp sets
        cfg.optim_wrapper.update(type='AmpOptimWrapper', loss_scale='dynamic')
    return cfg


def run_stage(cfg, work_dir: str, device: str, colt_hook=None) -> dict:
    """One Runner.train(); per-step times and the stage's wall time incl. build and teardown."""
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    from colt_det.runtime.runner import release_runner, without_code_formatting
    times, first_start = [], []

    class StepTimer(Hook):
        priority = 'LOWEST'  # after ColtHook's per-step work

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if not first_start:
                first_start.append(time.perf_counter())

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if device == 'cuda':
                torch.cuda.synchronize()
            times.append(time.perf_counter())

    cfg = copy.deepcopy(cfg)
    if colt_hook:  # as a search stage builds its config (ColtSearch._run_stage)
        without_code_formatting(cfg)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{osp.basename(work_dir)}_{time.time_ns()}'
    cfg.custom_hooks = [colt_hook] if colt_hook else []
    cfg.randomness = dict(seed=0)
    start = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    runner.register_hook(StepTimer())
    hook_s = [0.0]  # host time spent inside ColtHook's per-step methods
    for h in runner.hooks:
        if type(h).__name__ == 'ColtHook':
            for name in ('before_train_iter', 'after_train_iter'):
                setattr(h, name, _timed(getattr(h, name), hook_s))
    runner.train()
    release_runner(runner)
    end = time.perf_counter()
    steps = [b - a for a, b in zip(times, times[1:])]
    # fixed cost: build, before-train work (rewind, mask) up to the first step, and everything
    # after the last step (pruning, mask file, result, teardown)
    return dict(steps=steps, wall=end - start, hook_ms_per_step=1e3 * hook_s[0] / len(times),
                fixed=(first_start[0] - start) + (end - times[-1]))


def _timed(method, total: list):
    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            total[0] += time.perf_counter() - t
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', choices=['slim', 'r50'], default='slim')
    parser.add_argument('--steps', type=int, default=100)
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--device', choices=['cpu', 'cuda'],
                        default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--num-workers', type=int, default=0)
    parser.add_argument('--repeats', type=int, default=2,
                        help='stock/COLT pairs, run alternately; steps are pooled')
    parser.add_argument('--amp', action='store_true', help='mixed precision (AmpOptimWrapper, '
                        'as tools/train.py --amp); GPU only')
    parser.add_argument('--out')
    args = parser.parse_args()
    from mmengine.logging import MMLogger
    from mmengine.registry import MODELS, DefaultScope

    from colt_det.core import PrunableSpec, magnitude_prune, ones_mask, save_mask
    from colt_det.runtime.checkpoints import save_state
    tmp = tempfile.mkdtemp(prefix='step_time_')
    iters = args.warmup + args.steps + 1
    cfg = build_cfg(args.model, osp.join(tmp, 'data'), iters, args.num_workers, args.amp)
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    # theta0 and a 50%-sparse mask, as a round-2 partition stage has
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')  # init_weights logs every parameter at INFO
    model.init_weights()
    logger.setLevel(level)
    names = PrunableSpec(include=['backbone.*']).select(model)
    params = dict(model.named_parameters())
    mask = magnitude_prune({n: params[n] for n in names}, ones_mask(model, names), 0.5)
    save_state(osp.join(tmp, 'theta0.safetensors'), model)
    save_mask(osp.join(tmp, 'mask.safetensors'), mask)
    hook = dict(type='colt_det.ColtHook', prunable=dict(include=['backbone.*']),
                mask=osp.join(tmp, 'mask.safetensors'),
                theta0=osp.join(tmp, 'theta0.safetensors'), prune_ratio=0.2,
                out_mask=osp.join(tmp, 'colt', 'pruned.safetensors'),
                out_result=osp.join(tmp, 'colt', 'result.json'), progress_interval=50,
                seed=0, stage_name='step_time')
    steps = {'stock': [], 'colt': []}
    fixed = {'stock': [], 'colt': []}
    hook_ms = []
    # alternate stock / COLT so both see the same machine state (drift, caches)
    for rep in range(args.repeats):
        for name in ('stock', 'colt'):
            res = run_stage(cfg, osp.join(tmp, f'{name}_{rep}'), args.device,
                            hook if name == 'colt' else None)
            steps[name] += res['steps'][args.warmup:]
            fixed[name].append(res['fixed'])
            if name == 'colt':
                hook_ms.append(res['hook_ms_per_step'])
            print(f"{name} #{rep + 1}: median {statistics.median(res['steps'][args.warmup:]):.4f}"
                  f" s/step, stage wall {res['wall']:.1f} s, fixed cost {fixed[name][-1]:.2f} s",
                  flush=True)
    runs = {name: dict(median_step_s=statistics.median(steps[name]), steps=len(steps[name]),
                       fixed_s=statistics.median(fixed[name]), fixed_s_each=fixed[name])
            for name in steps}
    device = (torch.cuda.get_device_name(0) if args.device == 'cuda'
              else f'CPU, {torch.get_num_threads()} threads')
    out = dict(model=args.model, device=device, batch=cfg.train_dataloader.batch_size,
               num_workers=args.num_workers, amp=args.amp, warmup=args.warmup, repeats=args.repeats,
               runs=runs,
               step_ratio=runs['colt']['median_step_s'] / runs['stock']['median_step_s'],
               extra_fixed_s=runs['colt']['fixed_s'] - runs['stock']['fixed_s'],
               colt_hook_ms_per_step=statistics.mean(hook_ms),
               torch=torch.__version__)
    print(f"{args.model} on {device}: step ratio COLT/stock {out['step_ratio']:.3f}, COLT fixed "
          f"cost {runs['colt']['fixed_s']:.2f} s per stage ({out['extra_fixed_s']:+.2f} s vs "
          f"stock); ColtHook's own per-step host time {out['colt_hook_ms_per_step']:.2f} ms")
    path = args.out or osp.join(ROOT, 'benchmarks', 'results',
                                f'step_time_{args.model}_{args.device}'
                                f'{"_amp" if args.amp else ""}.json')
    from colt_det.core import atomic_write_json
    atomic_write_json(path, out)
    print(f'-> {path}')


if __name__ == '__main__':
    main()
