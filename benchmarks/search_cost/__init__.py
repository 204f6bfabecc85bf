"""The search-cost benchmark as a package: the matrix of tasks and methods (:mod:`.matrix`),
running it resumably (:mod:`.run`), statistics over seeds (:mod:`.stats`), the tables and
verdicts (:mod:`.verdict`, thresholds as data) and plots (:mod:`.plots`).

Run it as ``python benchmarks/search_cost --task det-hard [...]`` (``__main__.py``).
"""
from .matrix import (  # noqa: F401
                     COLLAPSED,
                     DEFAULTS,
                     ONE_TRAINING,
                     REACH_TOLERANCE,
                     REWOUND,
                     SEARCH_METHODS,
                     known_methods,
                     reaches,
                     resolve_schedule,
)
from .plots import plot  # noqa: F401
from .run import (  # noqa: F401
                     ROOT,
                     ensure_pretrained,
                     final_metric,
                     load_cfg,
                     points,
                     rounds_of,
                     run_benchmark,
                     run_search,
                     searched_to,
                     sha,
)
from .stats import _difference, _values, aggregate, mean_std  # noqa: F401
from .verdict import (  # noqa
                     GOALS,
                     PAIRS,
                     WITHIN,
                     _f,
                     _row,
                     _versus,
                     gaps,
                     table,
                     verdict,
                     verdicts,  # noqa: F401
)
