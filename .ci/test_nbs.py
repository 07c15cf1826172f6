"""Run every notebook's tests (as `nbdev_test` does), then the real-browser widget test, and print one line
per notebook plus `N passed, N failed, N skipped` (the browser test adds its own checks to the counts).

Figures: every code cell that draws a figure when it runs must carry that figure (a PNG, nothing else) in the
committed notebook, so that a reader sees each chapter's pictures without running it; a notebook whose committed
figures do not match the cells that draw fails. `--refresh-figures` writes the figures of this run into the
notebooks instead (and keeps no other output), so one command refreshes them:
    python .ci/test_nbs.py --no-browser --refresh-figures [NOTEBOOK ...]

The browser test needs Debian's Chromium (`apt-get install chromium`) and Python Playwright (in the dev extra);
without them it is reported as skipped. A notebook still running after `--timeout` seconds fails, naming itself, and
its worker is stopped with the processes it started (a hang must not eat the CI budget).
Usage: python .ci/test_nbs.py [--flags slow] [--workers 2] [--timeout 600] [--no-browser] [NOTEBOOK ...]
"""
import argparse
import importlib.util
import json
import re
import shutil
import subprocess
import tempfile
import threading
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path


def png_outputs(outputs) -> list[dict]:
    """The figures among a cell's outputs, each as a display_data output holding only its PNG."""
    return [{'data': {'image/png': o['data']['image/png']}, 'metadata': {}, 'output_type': 'display_data'}
            for o in outputs or [] if 'image/png' in (o.get('data') or {})]


def watchdog(path: str, limit: float, marker: Path) -> None:
    """After `limit` seconds: say that `path` hangs, leave `marker`, stop the processes this worker started, then the worker."""
    def fire():
        print(f'{path}: still running after {limit:.0f} s; stopped (--timeout)', file=sys.stderr, flush=True)
        marker.touch()
        for c in mp.active_children(): c.kill()
        os._exit(124)
    t = threading.Timer(limit, fire); t.daemon = True; t.start()


def run_one(args: tuple[str, list[str], list[str], float, str]) -> tuple[str, bool, float, dict[str, list[dict]]]:
    """Test one notebook in this (worker) process; return (name, ok, seconds, {cell id: the figures it drew})."""
    path, skip, force, limit, markers = args
    watchdog(path, limit, Path(markers)/Path(path).name)
    os.environ['IN_TEST'] = '1'
    import torch
    torch.set_num_threads(1)  # workers run side by side: don't oversubscribe the cores
    import nbdev.test
    from nbdev.config import get_config
    ran, run_all, init = {}, nbdev.test.CaptureShell.run_all, nbdev.test.CaptureShell.__init__
    def keep(self, nb, *a, **k):  # remember the executed notebook: its cells carry the outputs
        ran['nb'] = nb
        return run_all(self, nb, *a, **k)
    def plain_png(self, path=None, mpl_format='png', *a, **k): init(self, path, mpl_format, *a, **k)   # not 'retina': figures at their dpi, a quarter of the pixels
    nbdev.test.CaptureShell.run_all, nbdev.test.CaptureShell.__init__ = keep, plain_png
    start = time.time()
    try: ok, _ = nbdev.test.test_nb(Path(path), skip_flags=skip, force_flags=force, basepath=get_config().config_path)
    except Exception as e:  # a crash of the runner itself counts as a failure of that notebook
        print(f'{path}: {e!r}', file=sys.stderr); ok = False
    figs = {c['id']: f for c in (ran['nb'].cells if 'nb' in ran else []) if c.get('cell_type') == 'code' and (f := png_outputs(c.get('outputs')))}
    return Path(path).name, ok, time.time() - start, figs


def figure_problems(path: str, figs: dict[str, list[dict]], refresh: bool) -> list[str]:
    """Compare the figures drawn in this run with the committed ones (or write them with `refresh`); what does not match."""
    nb = json.loads(Path(path).read_text(encoding='utf-8'))
    cells = [c for c in nb['cells'] if c['cell_type'] == 'code']
    if refresh:
        for c in cells: c['outputs'], c['execution_count'] = figs.get(c.get('id'), []), None
        Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
        return []
    out = []
    for i, c in enumerate(nb['cells']):
        if c['cell_type'] != 'code': continue
        drawn, kept = len(figs.get(c.get('id'), [])), len(png_outputs(c.get('outputs')))
        if drawn != kept: out.append(f'cell {i} draws {drawn} figure(s) but carries {kept}')
    return out


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
    p.add_argument('--timeout', type=float, default=600, help='seconds a notebook may run before it fails')
    p.add_argument('--refresh-figures', action='store_true', help="write this run's figures into the notebooks (and no other output)")
    a = p.parse_args()
    from nbdev.config import get_config
    cfg = get_config()
    nbs = a.notebooks or sorted(str(f) for f in Path(cfg.nbs_path).glob('*.ipynb') if not f.name.startswith('_'))
    if not nbs: print('no notebooks found', file=sys.stderr); return 2
    skip = [f for f in cfg.tst_flags.split() if f not in a.flags]
    markers = tempfile.mkdtemp(prefix='test_nbs_')             # a worker stopped by its watchdog leaves its notebook's name here
    todo, lost = [(nb, skip, a.flags, a.timeout, markers) for nb in nbs], set()
    passed = failed = 0
    start = time.time()
    while todo:   # a stopped worker breaks the pool: the notebooks lost with it run again in a new one (once)
        # a fresh process per notebook: IPython replaces __main__ in the worker, and notebooks must not share state
        with ProcessPoolExecutor(max_workers=max(1, a.workers), mp_context=mp.get_context('spawn'), max_tasks_per_child=1) as ex:
            futures, todo = [(job, ex.submit(run_one, job)) for job in todo], []
            for job, fut in futures:
                path, name = job[0], Path(job[0]).name
                try: name, ok, secs, figs = fut.result()
                except BrokenProcessPool:
                    timed_out = (Path(markers)/name).exists()
                    if not timed_out and path not in lost: lost.add(path); todo.append(job); continue
                    ok, secs, figs = False, a.timeout if timed_out else 0., {}
                bad = figure_problems(path, figs, a.refresh_figures and ok) if ok else []
                if bad: print(f'{path}: ' + '; '.join(bad) + f' (refresh: python .ci/test_nbs.py --no-browser --refresh-figures {path})', file=sys.stderr)
                ok = ok and not bad
                print(f'{"PASS" if ok else "FAIL"} {name} ({secs:.1f}s)' + (f' ({sum(map(len, figs.values()))} figures written)' if a.refresh_figures and ok else ''), flush=True)
                passed += ok; failed += not ok
    shutil.rmtree(markers, ignore_errors=True)
    skipped = 0
    if not a.no_browser and not a.notebooks:
        bp, bf, skipped = browser_test(); passed += bp; failed += bf
    print(f'total {time.time() - start:.0f}s')
    print(f'{passed} passed, {failed} failed' + (f', {skipped} skipped' if skipped else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
