"""The search's summary (``colt_summary.json`` and its plot), written after every round."""
from typing import List, Optional

from mmengine.dist import is_main_process

from ..report.summary import write_summary as write_summary_files
from .context import SearchContext


def write_summary(ctx: SearchContext, rounds: List[dict], final: Optional[dict]) -> None:
    """Rank 0 replaces ``colt_summary.json`` and ``metric_vs_sparsity.png`` (atomically)."""
    if is_main_process():
        write_summary_files(ctx.summary(rounds, final), ctx.work.summary, ctx.work.plot,
                            title=f'{ctx.settings.method.upper()} '
                                  f'{ctx.task.dataset_name(ctx.cfg)}')
