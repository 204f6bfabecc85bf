"""Gradual magnitude pruning (Zhu & Gupta 2017): the mask found inside one training run."""
import os.path as osp
from typing import List, Optional


from ..core import load_mask, save_ticket
from ..core.apply import state_of, unwrap
from ..registry import METHODS
from ..runtime.checkpoints import load_state
from ..runtime.dist import agree
from ..runtime.logging import progress
from ..search.final import test_and_save
from ..search.stage import Stage
from ..search.workdir import WorkDir
from ..search.method import Method


@METHODS.register_module('gmp')
class GradualMagnitudePruning(Method):
    """One training run of the final schedule that prunes along ``colt.gmp``'s cubic schedule
    (:class:`~colt_det.hooks.gmp_hook.GMPHook`).

    By default the GMP run is the final stage itself: its trained, pruned weights are the final
    ticket (no rewinding, as GMP is used). With ``colt.gmp.rewind=True`` it trains in ``gmp/``
    (its own test metric in ``gmp/result.json``, its ticket ``tickets/gmp.safetensors``) and
    the final stage retrains its mask from theta0.
    """

    def find_mask(self, ctx, stages, rounds: List[dict]) -> Optional[str]:
        if not ctx.settings.gmp_options['rewind']:
            return None  # the final stage prunes (final_stage)
        work = ctx.work
        path, stage = work.ticket('gmp'), work.gmp_stage
        if agree(not osp.exists(path)):
            progress('gradual magnitude pruning (one training run) ...')
            stages.run(Stage(stage, kind='final', gmp=True),
                       then=lambda runner: test_and_save(ctx, runner, None, save=_save(path)))
        return path

    def final_stage(self, ctx, mask: Optional[str]) -> dict:
        return dict(gmp=mask is None)


def _save(path: str):
    def save(ctx, runner, _):
        if not osp.exists(path):
            save_ticket(path, load_mask(WorkDir.stage_mask(ctx.work.gmp_stage)),
                        load_state(ctx.work.theta0), trained=state_of(unwrap(runner.model)),
                        meta=ctx.meta(round=0, gmp=ctx.settings.gmp_options))
    return save
