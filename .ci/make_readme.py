"""Build README.md from nbs/index.ipynb (quarto, which nbdev_readme needs, is not available).

Markdown cells are kept as they are; code cells lose their `#|` directive lines and become
```python blocks; cells marked `#| hide` are dropped. The README's picture of the paper's Fig. 1 is the first figure committed in
nbs/01_overview.ipynb, written to nbs/images/data_flow.png. `--check` exits 1 when README.md or the picture is stale.
"""
import argparse
import base64
import json
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


FIGURE_NB, FIGURE = ROOT/'nbs'/'01_overview.ipynb', ROOT/'nbs'/'images'/'data_flow.png'


def first_figure(nb_path: Path) -> bytes:
    """The PNG bytes of the first figure saved in the notebook at `nb_path`."""
    for cell in json.loads(nb_path.read_text(encoding='utf-8'))['cells']:
        for out in cell.get('outputs', []):
            if 'image/png' in out.get('data', {}): return base64.b64decode(out['data']['image/png'])
    raise SystemExit(f'{nb_path}: no saved figure (run python .ci/test_nbs.py --no-browser --refresh-figures {nb_path})')


def main() -> int:
    """Write README.md, or with --check report whether it is current."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--check', action='store_true', help='fail if README.md differs from what the notebook gives')
    a = p.parse_args()
    text, readme, png = render(ROOT/'nbs'/'index.ipynb'), ROOT/'README.md', first_figure(FIGURE_NB)
    if a.check:
        if readme.exists() and readme.read_text(encoding='utf-8') == text and FIGURE.exists() and FIGURE.read_bytes() == png:
            print('README.md and its Fig. 1 picture are current'); return 0
        print('README.md or nbs/images/data_flow.png is stale: run `python .ci/make_readme.py` and commit them', file=sys.stderr); return 1
    tmp = readme.with_suffix('.md.tmp'); tmp.write_text(text, encoding='utf-8'); tmp.replace(readme)
    tmp = FIGURE.with_suffix('.png.tmp'); tmp.write_bytes(png); tmp.replace(FIGURE)
    print(f'wrote {readme} and {FIGURE}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
