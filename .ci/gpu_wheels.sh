#!/usr/bin/env bash
# Download, here, the wheels that .ci/gpu_check.sh needs on the GPU machine and that its image lacks (the image
# has torch, torchvision, timm, numpy, scipy, scikit-image, matplotlib, pillow, tqdm, filelock, huggingface-hub,
# pyyaml, pygments, six, wheel, ... but no fastcore, nbdev, execnb, IPython or ipywidgets), into .whl/ (ignored by
# git through .git/info/exclude), for CPython 3.12 on x86-64 Linux. The versions are the ones installed in this
# checkout's .venv (where the notebooks' tests pass), else the ones written below.
# Then check that every requirement of every wheel is either among the wheels or in the image's package list
# (/work/.library/device/KINDS.md, when it is there), and that the folder fits the 64 MiB carry limit.
# Usage (repository root, network to the package index): bash .ci/gpu_wheels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}; [ -x .venv/bin/python ] && PY=.venv/bin/python
# name==fallback version; the closure of mti_nb's, nbdev's and execnb's requirements minus the image's packages
WANT="fastcore==1.14.5 nbdev==2.4.14 execnb==0.1.18 astunparse==1.6.3 fastgit==0.0.6 ghapi==1.1.1 watchdog==7.1.0
ipython==9.18.1 ipython-pygments-lexers==1.1.1 jedi==0.20.1 parso==0.8.7 matplotlib-inline==0.2.2 pexpect==4.9.0
ptyprocess==0.7.0 prompt-toolkit==3.0.53 stack-data==0.6.3 asttokens==3.0.2 executing==2.3.0 pure-eval==0.2.4
traitlets==5.16.1 wcwidth==0.9.4 ipywidgets==8.1.9 comm==0.2.3 jupyterlab-widgets==3.0.17 widgetsnbextension==4.0.16"
specs=$("$PY" - $WANT <<'EOF'
import sys, importlib.metadata as md
for spec in sys.argv[1:]:
    name, version = spec.split('==')
    try: version = md.version(name)
    except md.PackageNotFoundError: pass
    print(f'{name}=={version}')
EOF
)
grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || { mkdir -p .git/info; echo '/.whl/' >> .git/info/exclude; }
rm -rf .whl && mkdir .whl
plat=""; for p in manylinux_2_39 manylinux_2_35 manylinux_2_34 manylinux_2_31 manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 manylinux2014 manylinux1; do plat="$plat --platform ${p}_x86_64"; done
# one pip call per wheel: pip matches each --platform tag exactly, and an error names the wheel at fault
for s in $specs; do
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
      $plat --platform any -d .whl "$s" || { echo "could not download $s"; exit 1; }
done
"$PY" - <<'EOF'
import re, sys, zipfile
from pathlib import Path
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name as cn
wheels = sorted(Path('.whl').glob('*.whl'))
have = {cn(w.name.split('-')[0]) for w in wheels}
kinds = Path('/work/.library/device/KINDS.md')
image = ({cn(x.strip()) for x in kinds.read_text().split('Packages: ', 1)[1].split('.\n', 1)[0].split(',')} if kinds.exists() else set())
env = {'python_version': '3.12', 'python_full_version': '3.12.3', 'sys_platform': 'linux', 'platform_system': 'Linux',
       'platform_machine': 'x86_64', 'os_name': 'posix', 'implementation_name': 'cpython', 'platform_python_implementation': 'CPython', 'extra': ''}
missing = []
for w in wheels:
    meta = next(n for n in zipfile.ZipFile(w).namelist() if n.endswith('.dist-info/METADATA'))
    for line in zipfile.ZipFile(w).read(meta).decode().splitlines():
        if not line.startswith('Requires-Dist:'): continue
        r = Requirement(line.split(':', 1)[1].strip())
        if r.marker and not r.marker.evaluate(env): continue
        if cn(r.name) not in have and image and cn(r.name) not in image: missing.append(f'{w.name}: {r}')
size = sum(w.stat().st_size for w in wheels)
print(f'{len(wheels)} wheels in .whl/, {size / 2**20:.1f} MiB (carry limit 64 MiB for the whole working tree)')
if not image: print('WARNING: /work/.library/device/KINDS.md not found: requirements checked against the wheels only')
if missing: print('requirements in neither the wheels nor the image:', *missing, sep='\n  '); sys.exit(1)
if size > 48 * 2**20: print('too large to carry beside the working tree'); sys.exit(1)
EOF
