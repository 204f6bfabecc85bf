"""The docs are the recorded JSON's: every generated table and verdict is what the scripts print
from ``benchmarks/results/``, and every measured number of the benchmark pages' prose is one of
its section's sources' numbers (``benchmarks/docs.py``)."""
import glob
import os.path as osp
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
import docs  # noqa: E402

CHECKED = sorted(glob.glob(osp.join(ROOT, 'docs', 'benchmarks', '*.md'))) + [
    osp.join(ROOT, 'README.md')]


@pytest.mark.parametrize('page', docs.pages(), ids=lambda p: osp.relpath(p, ROOT))
def test_generated_regions_are_what_the_json_gives(page):
    text = open(page).read()
    assert docs.regenerate(text) == text, \
        f'{osp.relpath(page, ROOT)} is stale: run python benchmarks/docs.py'


@pytest.mark.parametrize('page', CHECKED, ids=lambda p: osp.relpath(p, ROOT))
def test_every_measured_number_of_the_prose_is_in_its_sources(page):
    assert docs.unchecked_numbers(page) == []


def test_the_checker_finds_a_number_no_json_holds(tmp_path):
    page = tmp_path / 'p.md'
    page.write_text('<!-- sources: search_cost_det-hard_pre32.json -->\n# T\n\n'
                    'IMP reached 0.3743 (true), COLT 0.4242 (made up), at 83.36% (true) in '
                    'Python 3.11 (not a measurement: a constant).\n<!-- constants: 3.11 -->\n')
    assert [b.split(': ')[-1] for b in docs.unchecked_numbers(str(page))] == ['0.4242']


def test_benchmark_results_page_is_short():
    lines = open(osp.join(ROOT, 'docs', 'benchmarks', 'README.md')).read().splitlines()
    assert len(lines) <= 150
