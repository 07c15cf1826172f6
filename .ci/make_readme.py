"""Build README.md from nbs/index.ipynb (quarto, which nbdev_readme needs, is not available).

Markdown cells are kept as they are; code cells lose their `#|` directive lines and become
```python blocks; cells marked `#| hide` are dropped. `--check` exits 1 when README.md is stale.
"""
import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
FOOTER = '\n<!-- Generated from nbs/index.ipynb by .ci/make_readme.py: edit the notebook, then run it. -->\n'


def cell_md(cell) -> str:
    """Markdown for one notebook cell ('' for hidden or empty cells)."""
    lines = cell.source.splitlines()
    if cell.cell_type == 'markdown': return cell.source.strip()
    if cell.cell_type != 'code' or any(l.replace(' ', '') in ('#|hide', '#|export') for l in lines if l.startswith('#|')): return ''
    code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
    return f'```python\n{code}\n```' if code else ''


def render(nb_path: Path) -> str:
    """The README text for the notebook at `nb_path`."""
    nb = nbformat.read(nb_path, as_version=4)
    return '\n\n'.join(md for md in map(cell_md, nb.cells) if md) + '\n' + FOOTER


def main() -> int:
    """Write README.md, or with --check report whether it is current."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--check', action='store_true', help='fail if README.md differs from what the notebook gives')
    a = p.parse_args()
    text, readme = render(ROOT/'nbs'/'index.ipynb'), ROOT/'README.md'
    if a.check:
        if readme.exists() and readme.read_text(encoding='utf-8') == text: print('README.md is current'); return 0
        print('README.md is stale: run `python .ci/make_readme.py` and commit it', file=sys.stderr); return 1
    tmp = readme.with_suffix('.md.tmp'); tmp.write_text(text, encoding='utf-8'); tmp.replace(readme)
    print(f'wrote {readme}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
