"""Run every notebook's tests (as `nbdev_test` does), then the real-browser widget test, and print one line
per notebook plus `N passed, N failed, N skipped` (the browser test adds its own checks to the counts).

The browser test needs Debian's Chromium (`apt-get install chromium`) and Python Playwright (in the dev extra);
without them it is reported as skipped. Usage: python .ci/test_nbs.py [--flags slow] [--workers 2] [--no-browser] [NOTEBOOK ...]
"""
import argparse
import importlib.util
import re
import shutil
import subprocess
import tempfile
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def run_one(args: tuple[str, list[str], list[str]]) -> tuple[str, bool, float]:
    """Test one notebook in this (worker) process; return (name, ok, seconds)."""
    path, skip, force = args
    os.environ['IN_TEST'] = '1'
    import torch
    torch.set_num_threads(1)  # workers run side by side: don't oversubscribe the cores
    from nbdev.test import test_nb
    from nbdev.config import get_config
    start = time.time()
    try: ok, _ = test_nb(Path(path), skip_flags=skip, force_flags=force, basepath=get_config().config_path)
    except Exception as e:  # a crash of the runner itself counts as a failure of that notebook
        print(f'{path}: {e!r}', file=sys.stderr); ok = False
    return Path(path).name, ok, time.time() - start


def browser_test() -> tuple[int, int, int]:
    """Run .ci/browser_test.py if Chromium and Playwright are here; return its (passed, failed, skipped) checks."""
    chromium = shutil.which('chromium') or '/usr/bin/chromium'
    if not Path(chromium).exists() or importlib.util.find_spec('playwright') is None:
        print('SKIP browser_test.py (needs `apt-get install chromium` and `pip install playwright`)'); return 0, 0, 1
    start = time.time()
    with tempfile.TemporaryDirectory() as shots:  # keep the committed screenshots untouched
        r = subprocess.run([sys.executable, str(Path(__file__).with_name('browser_test.py')), '--chromium', chromium,
                            '--screenshots', shots], capture_output=True, text=True)
    m = re.search(r'^(\d+) passed, (\d+) failed', r.stdout, re.M)
    passed, failed = (int(m[1]), int(m[2])) if m else (0, 1)
    if r.returncode and not failed: failed = 1
    print(f'{"PASS" if not failed else "FAIL"} browser_test.py: {passed} checks passed, {failed} failed ({time.time() - start:.1f}s)', flush=True)
    if failed: print(r.stdout[-4000:], r.stderr[-4000:], sep='\n', file=sys.stderr)
    return passed, failed, 0


def main() -> int:
    """Parse arguments, run the notebooks, print the summary; return the exit code."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebooks', nargs='*', help='notebooks to test (default: all in nbs/)')
    p.add_argument('--flags', nargs='*', default=[], help='test flags to run too, e.g. slow')
    p.add_argument('--no-browser', action='store_true', help='skip the real-browser widget test')
    p.add_argument('--workers', type=int, default=min(2, os.cpu_count() or 1), help='notebooks run in parallel')
    a = p.parse_args()
    from nbdev.config import get_config
    cfg = get_config()
    nbs = a.notebooks or sorted(str(f) for f in Path(cfg.nbs_path).glob('*.ipynb') if not f.name.startswith('_'))
    if not nbs: print('no notebooks found', file=sys.stderr); return 2
    skip = [f for f in cfg.tst_flags.split() if f not in a.flags]
    jobs = [(nb, skip, a.flags) for nb in nbs]
    passed = failed = 0
    start = time.time()
    # a fresh process per notebook: IPython replaces __main__ in the worker, and notebooks must not share state
    with ProcessPoolExecutor(max_workers=max(1, a.workers), mp_context=mp.get_context('spawn'), max_tasks_per_child=1) as ex:
        for name, ok, secs in ex.map(run_one, jobs):
            print(f'{"PASS" if ok else "FAIL"} {name} ({secs:.1f}s)', flush=True)
            passed += ok; failed += not ok
    skipped = 0
    if not a.no_browser and not a.notebooks:
        bp, bf, skipped = browser_test(); passed += bp; failed += bf
    print(f'total {time.time() - start:.0f}s')
    print(f'{passed} passed, {failed} failed' + (f', {skipped} skipped' if skipped else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
