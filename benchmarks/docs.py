"""The benchmark pages' tables and verdicts, generated from the recorded JSON.

A page marks a generated region with a comment naming the generator, the JSON (under
``benchmarks/results/``) and the generator's arguments, and its end::

    <!-- generated: search_cost.table search_cost_det-hard_pre32_high.json -->
    ...
    <!-- end generated -->

``python benchmarks/docs.py`` rewrites every region of ``docs/**/*.md`` and ``README.md`` from
the JSON; ``--check`` only says which are stale (exit 1). ``tests/test_docs.py`` runs the check
and also holds the prose to the JSON (every measured number of a section must be one of its
sources' numbers, see :func:`vocabulary`).
"""
import argparse
import glob
import json
import os.path as osp
import re
import sys
from typing import Callable, Dict, Iterator, List, Set, Tuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RESULTS = osp.join(ROOT, 'benchmarks', 'results')
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))

REGION = re.compile(r'(<!-- generated: (?P<spec>[^>]*?) -->\n)(?P<body>.*?)(<!-- end generated -->)',
                    re.S)


def load(name: str):
    with open(osp.join(RESULTS, name)) as f:
        return json.load(f)


def _code(lines: str) -> str:
    return f'```text\n{lines}\n```'


def _search_cost():
    import search_cost
    return search_cost


def gen_search_cost_table(name: str) -> str:
    return _search_cost().table(load(name))


def gen_search_cost_verdict(name: str) -> str:
    return _code(_search_cost().verdict(load(name)))


def gen_search_cost_verdicts(name: str, *targets: str) -> str:
    lines = _search_cost().verdicts(load(name))
    if targets:
        lines = [ln for ln in lines if ln.split(':')[0] in targets]
    return _code('\n'.join(lines))


def gen_search_cost_gaps(name: str, ref: str = 'imp') -> str:
    return _code('\n'.join(_search_cost().gaps(load(name), ref)))


def gen_channel_table(name: str) -> str:
    import channel_tickets
    return channel_tickets.table(load(name))


def gen_channel_verdicts(name: str) -> str:
    import channel_tickets
    return _code('\n'.join(channel_tickets.verdicts(load(name))))


def gen_channel_slim_verdicts(name: str) -> str:
    import channel_tickets
    return _code('\n'.join(channel_tickets.slim_verdicts(load(name))))


def gen_deploy_table(name: str, detector: str) -> str:
    import deploy
    detectors = load(name)['detectors']
    if detector not in detectors:
        return f'_Not recorded yet: the {detector} rows of `benchmarks/results/{name}`._'
    return deploy.table(detectors[detector], detector)


def gen_deploy_int8_table(name: str, detector: str) -> str:
    import deploy
    return deploy.int8_table(load(name)['detectors'][detector], detector)


def gen_deploy_verdict(latency: str, channels: str, seeds: str = '') -> str:
    import deploy
    return _code('\n'.join(deploy.verdict(load(latency), load(channels),
                                           load(seeds) if seeds else None)))


def gen_calibration(name: str) -> str:
    sys.path.insert(0, osp.join(ROOT, 'benchmarks', 'calibration'))
    import record
    return '\n'.join(['| run | sparsity | final training | test mAP@0.5 |', '|---|---|---|---|']
                     + record.rows(load(name)))


def gen_fields(name: str, *fields: str) -> str:
    """A two-column table of chosen fields (dotted paths) of a JSON object."""
    data = load(name)
    rows = ['| field | value |', '|---|---|']
    for field in fields:
        value = data
        for part in field.split('.'):
            value = value[int(part)] if isinstance(value, list) else value[part]
        rows.append(f'| `{field}` | {_fmt(value)} |')
    return '\n'.join(rows)


def gen_early_stop(name: str) -> str:
    """The distance of consecutive checks of the early-stop calibration round."""
    data = load(name)
    rows = ['| iteration | mask distance to the previous check |', '|---|---|']
    rows += [f'| {i} | {d:.4f} |' for i, d in data['distances']]
    return '\n'.join(rows)


def gen_ticket_size(name: str) -> str:
    import ticket_size
    return ticket_size.table(load(name))


def gen_summary(name: str) -> str:
    from colt_det.report.summary import format_summary
    return _code(format_summary(load(name)))


def _fmt(v) -> str:
    if isinstance(v, float):
        return f'{v:.4g}'
    return str(v)


GENERATORS: Dict[str, Callable[..., str]] = {
    'search_cost.table': gen_search_cost_table,
    'search_cost.verdict': gen_search_cost_verdict,
    'search_cost.verdicts': gen_search_cost_verdicts,
    'search_cost.gaps': gen_search_cost_gaps,
    'channel_tickets.table': gen_channel_table,
    'channel_tickets.verdicts': gen_channel_verdicts,
    'channel_tickets.slim_verdicts': gen_channel_slim_verdicts,
    'deploy.table': gen_deploy_table,
    'deploy.verdict': gen_deploy_verdict,
    'deploy.int8_table': gen_deploy_int8_table,
    'calibration.rows': gen_calibration,
    'fields': gen_fields,
    'early_stop.distances': gen_early_stop,
    'ticket_size.table': gen_ticket_size,
    'summary': gen_summary,
}


def pages() -> List[str]:
    return sorted(glob.glob(osp.join(ROOT, 'docs', '**', '*.md'), recursive=True)) + [
        osp.join(ROOT, 'README.md')]


def regions(text: str) -> Iterator[Tuple[str, List[str], str]]:
    """(generator, its arguments, the region's current body) of every generated region."""
    for m in REGION.finditer(text):
        gen, *args = m.group('spec').split()
        yield gen, args, m.group('body')


def render(gen: str, args: List[str]) -> str:
    if gen not in GENERATORS:
        raise ValueError(f'unknown generator {gen!r}: one of {sorted(GENERATORS)}')
    missing = [a for a in args if a.endswith('.json') and not osp.exists(osp.join(RESULTS, a))]
    if missing:
        return (f'_Not recorded yet: `benchmarks/results/{missing[0]}` '
                f'(the command above makes it)._\n')
    return GENERATORS[gen](*args).rstrip('\n') + '\n'


def regenerate(text: str) -> str:
    def sub(m):
        gen, *args = m.group('spec').split()
        return m.group(1) + render(gen, args) + m.group(4)
    return REGION.sub(sub, text)


# --------------------------------------------------------------------------- the prose check
# a number not inside a word, a version (2.14.1), a path, an issue (#13) or a section (§8)
NUMBER = re.compile(r'(?<![\w.#§/@-])(\d+(?:,\d{3})*(?:\.\d+)?)(?![\d.]*\.\d)(?![\w/])(\s?%|x\b|×)?')


def measured_numbers(text: str) -> List[str]:
    """The numbers of prose that read as measurements: with a decimal point, a % or an x/×,
    or integers from 100 up (counts of seconds, images, ...). Years of citations (19xx, 20xx
    after a name), code, links and generated regions are not prose."""
    text = REGION.sub('', text)
    text = re.sub(r'```.*?```', '', text, flags=re.S)
    text = re.sub(r'`[^`]*`', '', text)
    text = re.sub(r'\]\([^)]*\)', ']', text)  # link targets
    text = re.sub(r'<!--.*?-->', '', text, flags=re.S)
    out = []
    for m in NUMBER.finditer(text):
        num, unit = m.group(1), m.group(2) or ''
        plain = num.replace(',', '')
        if re.fullmatch(r'(19|20)\d\d', plain) and not unit:
            continue  # a year
        if '.' in plain or unit or float(plain) >= 100:
            out.append(num + unit.strip())
    return out


def _forms(v: float) -> Set[str]:
    forms = set()
    for x in (v, 100 * v, v / 1e6, v / 60):
        for d in range(0, 5):
            forms.add(f'{x:.{d}f}')
            forms.add(f'{x:,.{d}f}')
    return forms


def vocabulary(sources: List[str], extra_text: str = '') -> Set[str]:
    """Every form a number of ``sources`` may take in prose: each numeric leaf with 0-4
    decimals, as a percentage, in millions and in minutes; and every number the section's
    generated regions (``extra_text``) print."""
    vocab: Set[str] = set()

    def walk(x):
        if isinstance(x, bool):
            return
        if isinstance(x, (int, float)):
            vocab.update(_forms(float(x)))
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    for s in sources:
        if osp.exists(osp.join(RESULTS, s)):
            walk(load(s))
    for m in re.finditer(r'-?\d+(?:,\d{3})*(?:\.\d+)?', extra_text):
        vocab.add(m.group(0).lstrip('-'))
    return vocab


def sections(text: str) -> Iterator[Tuple[str, str]]:
    """(heading, body) of every ``##``/``###`` section (the text before the first too)."""
    parts = re.split(r'^(#{1,4} .*)$', text, flags=re.M)
    yield '(top)', parts[0]
    for i in range(1, len(parts), 2):
        yield parts[i], parts[i + 1]


def declared(text: str, key: str) -> List[str]:
    """The names a ``<!-- key: a b c -->`` comment of ``text`` lists."""
    return [w for m in re.finditer(rf'<!-- {key}: (.*?) -->', text) for w in m.group(1).split()]


def unchecked_numbers(path: str) -> List[str]:
    """``file: section: number`` for every measured prose number of a page that none of its
    section's sources holds (nor the page's, nor the section's ``constants``)."""
    with open(path) as f:
        text = f.read()
    page_sources = declared(text.split('\n## ')[0], 'sources')
    bad = []
    for heading, body in sections(text):
        sources = page_sources + [s for s in declared(body, 'sources') if s not in page_sources]
        constants = set(declared(body, 'constants')) | set(declared(text.split('\n## ')[0],
                                                                    'constants'))
        generated = ''.join(m.group('body') for m in REGION.finditer(body))
        vocab = vocabulary(sources, generated) | constants
        for num in measured_numbers(body):
            bare = num.rstrip('%x×').replace(',', '')
            if num not in vocab and bare not in vocab and num.rstrip('%x×') not in vocab:
                bad.append(f'{osp.relpath(path, ROOT)}: {heading.strip()}: {num}')
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='only report stale regions')
    args = parser.parse_args()
    stale = []
    for path in pages():
        with open(path) as f:
            text = f.read()
        new = regenerate(text)
        if new != text:
            stale.append(osp.relpath(path, ROOT))
            if not args.check:
                from colt_det.core import atomic_write_bytes
                atomic_write_bytes(path, new.encode(), overwrite=True)
    print(('stale: ' if args.check else 'rewrote: ') + (', '.join(stale) or 'nothing'))
    return 1 if args.check and stale else 0


if __name__ == '__main__':
    sys.exit(main())
