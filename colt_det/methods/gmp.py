"""Gradual magnitude pruning (Zhu & Gupta 2017): the mask found inside one training run."""
import os.path as osp
from typing import List, Optional

from mmengine.dist import is_main_process

from ..core import load_mask, save_ticket
from ..core.apply import state_of, unwrap
from ..core.schedule import check_window
from ..registry import METHODS
from ..runtime.checkpoints import load_state
from ..runtime.dist import agree
from ..runtime.logging import progress
from ..search.final import test_and_save
from ..search.method import Method
from ..search.stage import Stage
from ..search.workdir import WorkDir, remove_checkpoints


@METHODS.register_module('gmp')
class GradualMagnitudePruning(Method):
    """One training run of the final schedule that prunes along ``colt.gmp``'s cubic schedule
    (:class:`~colt_det.hooks.gmp_hook.GMPHook`).

    By default the GMP run is the final stage itself: its trained, pruned weights are the final
    ticket (no rewinding, as GMP is used). With ``colt.gmp.rewind=True`` it trains in ``gmp/``
    (its own test metric in ``gmp/result.json``, its ticket ``tickets/gmp.safetensors``) and
    the final stage retrains its mask from theta0.

    Its block ``colt.gmp``: ``start``, ``end``, ``every`` (iterations, int, or fractions of the
    training, float) and ``rewind`` (retrain the GMP mask from theta0 with the final schedule
    instead of keeping the GMP run's own weights).
    """

    option = 'gmp'
    defaults = dict(start=0.0, end=0.75, every=0.025, rewind=False)

    def check(self, s) -> None:
        g = self.options(s)
        check_window(g, 'gmp')  # the type and range; iterations at run time
        if not isinstance(g['rewind'], bool):
            raise ValueError(f"colt.gmp.rewind must be True or False, got {g['rewind']!r}")
        if s.granularity != 'weight':
            raise ValueError("method='gmp' prunes single weights: use granularity='weight'")

    def find_mask(self, ctx, stages, rounds: List[dict]) -> Optional[str]:
        if not self.options(ctx.settings)['rewind']:
            return None  # the final stage prunes (final_stage)
        work = ctx.work
        path, stage = work.ticket('gmp'), work.gmp_stage
        if agree(not osp.exists(path)):
            progress('gradual magnitude pruning (one training run) ...')
            stages.run(Stage(stage, kind='final', hooks=[self.hook(ctx, stage)]),
                       then=lambda runner: test_and_save(ctx, runner, None,
                                                         save=self._save(path)))
        if is_main_process() and not ctx.settings.keep_stage_checkpoints:
            remove_checkpoints(stage)  # after its ticket, also when a kill came between
        return path

    def final_stage(self, ctx, mask: Optional[str]) -> dict:
        if mask is not None:  # rewound: the final stage trains the GMP ticket as it is
            return {}
        return dict(hooks=[self.hook(ctx, ctx.work.final_stage)], own_mask=True,
                    what='gradual magnitude pruning')

    def hook(self, ctx, stage_dir: str) -> dict:
        """The :class:`~colt_det.hooks.gmp_hook.GMPHook` of a GMP stage in ``stage_dir``."""
        s, g = ctx.settings, self.options(ctx.settings)
        return dict(type='colt_det.GMPHook', prunable=s.prunable,
                    target_sparsity=s.target_sparsity, start=g['start'], end=g['end'],
                    every=g['every'], scope=s.prune_scope, min_density=s.min_density,
                    score=s.weight_score, theta0=ctx.work.theta0,
                    out_mask=WorkDir.stage_mask(stage_dir))

    def _save(self, path: str):
        def save(ctx, runner, _):
            if not osp.exists(path):
                save_ticket(path, load_mask(WorkDir.stage_mask(ctx.work.gmp_stage)),
                            load_state(ctx.work.theta0), trained=state_of(unwrap(runner.model)),
                            meta=ctx.meta(round=0, gmp=self.options(ctx.settings)))
        return save
