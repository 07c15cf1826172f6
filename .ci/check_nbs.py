"""Fail when a notebook in nbs/ carries saved widget state or outputs over a size limit."""
import json
import sys
from pathlib import Path

LIMIT = 100_000  # bytes of saved outputs per notebook


def problems(path: Path) -> list[str]:
    """What is wrong with the notebook at `path` (empty when it is clean)."""
    nb = json.loads(path.read_text(encoding='utf-8'))
    out = []
    if 'widgets' in nb.get('metadata', {}): out.append('saved widget state in metadata.widgets')
    size = sum(len(json.dumps(c.get('outputs', []))) for c in nb['cells'])
    if size > LIMIT: out.append(f'{size:,} bytes of saved outputs (limit {LIMIT:,}): clear them')
    return out


if __name__ == '__main__':
    bad = {p: e for p in sorted(Path('nbs').glob('*.ipynb')) if (e := problems(p))}
    for p, errs in bad.items(): print(f'{p}: ' + '; '.join(errs), file=sys.stderr)
    print(f'{len(bad)} notebook(s) with problems' if bad else 'notebooks are clean')
    sys.exit(1 if bad else 0)
