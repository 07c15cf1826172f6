"""Fail when a notebook in nbs/ carries saved widget state, any output other than a figure (a PNG), or figures over a size limit.

The figures themselves are written and checked against the cells that draw them by `.ci/test_nbs.py` (see its --refresh-figures)."""
import json
import sys
from pathlib import Path

LIMIT = 300_000  # bytes of saved outputs (the figures' base64 PNGs) per notebook


def problems(path: Path) -> list[str]:
    """What is wrong with the notebook at `path` (empty when it is clean)."""
    nb = json.loads(path.read_text(encoding='utf-8'))
    out = []
    if 'widgets' in nb.get('metadata', {}): out.append('saved widget state in metadata.widgets')
    for i, c in enumerate(nb['cells']):
        kinds = sorted({k for o in c.get('outputs', []) for k in ([o.get('output_type')] if o.get('output_type') != 'display_data' else (o.get('data') or {}))} - {'image/png'})
        if kinds: out.append(f'cell {i} carries outputs other than a figure ({", ".join(kinds)})')
        if c.get('execution_count') is not None: out.append(f'cell {i} has an execution count')
    size = sum(len(json.dumps(c.get('outputs', []))) for c in nb['cells'])
    if size > LIMIT: out.append(f'{size:,} bytes of saved figures (limit {LIMIT:,}): make them smaller (dpi, figsize)')
    return out


if __name__ == '__main__':
    bad = {p: e for p in sorted(Path('nbs').glob('*.ipynb')) if (e := problems(p))}
    for p, errs in bad.items(): print(f'{p}: ' + '; '.join(errs), file=sys.stderr)
    print(f'{len(bad)} notebook(s) with problems' if bad else 'notebooks are clean')
    sys.exit(1 if bad else 0)
