#!/usr/bin/env python
"""Drive mti_nb's widgets in a real browser: JupyterLab + Debian's Chromium through Playwright.

Starts JupyterLab on 127.0.0.1 (free port, random token) in a temporary root folder holding a small demo
notebook, opens it in headless Chromium, runs all cells, moves each widget's slider or dropdown through the
page, and checks that the image the page shows is, byte for byte, the PNG the kernel's pure render function
computed for the new value (its SHA-256 is printed by the notebook before any control moves). The widgets show
what they show when given no model (`mti_nb.widgets.default_models`): the trained MTI-Net of the experiments
(`mti_paper nyud_mti`) next to an untrained one when its checkpoint is on this machine, else the untrained one.
Saves a screenshot of each widget under nbs/images/widgets/, stops the kernels and the server by process id, and
prints `N passed, N failed` (exit status 1 on any failure).

Needs: `apt-get install -y chromium` (/usr/bin/chromium) and `pip install playwright` (no `playwright install`).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']

# The demo notebook: the four widgets on a small synthetic dataset and the default models (the trained MTI-Net of the
# experiments next to an untrained one, or the untrained one alone); before any control moves, it prints the hashes of
# the PNGs the render functions draw for the values the test will pick (with the model toggle at 'both': every model).
CELLS = [
    """import json
from pathlib import Path
from mti_nb.core import set_seed
from mti_nb.synthetic import generate_dataset
from mti_nb.data import get_dataset
from mti_nb.widgets import *
generate_dataset('synth', n_train=2, n_val=2, size=(96, 128), seed=0, progress=False)
ds = get_dataset('nyud', 'synth', 'val', size=(96, 128))
set_seed(0)
models, note = default_models(CHECKPOINT)
print('MODELS ' + json.dumps(list(models)) + ' ' + note)""",
    "att = AttentionExplorer(models, ds, note=note, css_class='mti-attention')\natt",
    "fpm = FPMExplorer(models, ds, note=note, css_class='mti-fpm', cache=att.cache)\nfpm",
    "pred = PredictionExplorer(models, ds, note=note, css_class='mti-predictions', cache=att.cache)\npred",
    "aff = AffinityExplorer(ds, css_class='mti-affinity')\naff",
    """s, names = ds[0], list(att.models)
h = lambda png: png_sha(png)[:16]
def both(render, *args):
    "What a widget shows for image 0 with the model toggle at 'both' (the only model, or all of them stacked)."
    pngs = [render(s, att.internals(0, n), *args) for n in names]
    return pngs[0] if len(pngs) == 1 else stack_pngs(pngs, names)
expected = {'attention': {'start': h(both(render_attention, 'semseg', 'depth', 0)), 'slider': h(both(render_attention, 'semseg', 'depth', 1)),
                          'dropdown': h(both(render_attention, 'depth', 'semseg', 1))},
            'fpm': {'start': h(both(render_fpm, 1)), 'slider': h(both(render_fpm, 2))},
            'predictions': {'start': h(both(render_predictions, 'semseg')), 'dropdown': h(both(render_predictions, 'depth'))},
            'affinity': {'start': h(render_affinity(s, aff.result(('semseg', 'depth'), 0.1), 0, 'semseg', 'depth', 1)),
                         'slider': h(render_affinity(s, aff.result(('semseg', 'depth'), 0.1), 0, 'semseg', 'depth', 2))}}
if 'trained' in names: expected['attention']['trained'] = h(render_attention(s, att.internals(0, 'trained'), 'depth', 'semseg', 1))
print('EXPECTED ' + json.dumps(expected))""",
]


def demo_notebook(broken: bool = False, checkpoint: str | None = None) -> dict:
    """The demo notebook; `broken` puts a failing cell before the last one (to see the test fail); `checkpoint` replaces the experiments' best one."""
    cell = lambda src: {'cell_type': 'code', 'execution_count': None, 'id': secrets.token_hex(4), 'metadata': {}, 'outputs': [], 'source': src}
    first = CELLS[0].replace('CHECKPOINT', repr(None if checkpoint is None else str(Path(checkpoint).resolve())))
    cells = [first] + CELLS[1:-1] + (["raise RuntimeError('a deliberately failing cell')"] if broken else []) + CELLS[-1:]
    return {'cells': [cell(c) for c in cells], 'nbformat': 4, 'nbformat_minor': 5,
            'metadata': {'kernelspec': {'display_name': 'Python 3 (ipykernel)', 'language': 'python', 'name': 'python3'},
                         'language_info': {'name': 'python'}}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Abort(Exception):
    """Stop the test early (the failed check has been counted)."""


class Checks:
    def __init__(self): self.passed, self.failed = 0, 0
    def __call__(self, ok: bool, what: str, detail: str = '') -> bool:
        if ok: self.passed += 1
        else: self.failed += 1
        print(f"{'PASS' if ok else 'FAIL'} {what}" + (f': {detail}' if detail and not ok else ''), flush=True)
        return ok


def start_lab(tmp: Path, port: int, token: str) -> subprocess.Popen:
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / 'config'), JUPYTER_RUNTIME_DIR=str(tmp / 'runtime'),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / 'settings'), JUPYTERLAB_WORKSPACES_DIR=str(tmp / 'workspaces'),
               IPYTHONDIR=str(tmp / 'ipython'), MPLCONFIGDIR=str(tmp / 'mpl'), PYTHONUNBUFFERED='1')
    labconfig = tmp / 'config' / 'labconfig'
    labconfig.mkdir(parents=True)          # no "get Jupyter news?" toast over the widgets
    (labconfig / 'page_config.json').write_text(json.dumps({'disabledExtensions': {'@jupyterlab/apputils-extension:announcements': True}}))
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--allow-root', '--ip=127.0.0.1', f'--port={port}',
           f'--IdentityProvider.token={token}', '--LabApp.expose_app_in_browser=True', f'--ServerApp.root_dir={tmp / "root"}',
           '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', '--ServerApp.port_retries=0']
    return subprocess.Popen(cmd, env=env, stdout=open(tmp / 'lab.log', 'w'), stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_server(url: str, proc: subprocess.Popen, timeout: float) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None: return False
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200: return True
        except OSError: pass
        time.sleep(0.3)
    return False


def stop(proc: subprocess.Popen):
    """Stop the server's children (the kernels) and then the server, by process id."""
    try:
        import psutil
        children = psutil.Process(proc.pid).children(recursive=True)
    except Exception: children = []
    for c in children:
        try: os.kill(c.pid, signal.SIGTERM)
        except ProcessLookupError: pass
    if proc.poll() is None: os.kill(proc.pid, signal.SIGTERM)
    try: proc.wait(10)
    except subprocess.TimeoutExpired: os.kill(proc.pid, signal.SIGKILL); proc.wait()
    for c in children:
        try:
            c.wait(5)
        except Exception:
            try: os.kill(c.pid, signal.SIGKILL)
            except ProcessLookupError: pass


KERNEL_STATUS = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return k ? k.status : 'none'; }"""
IMAGE_SHA = """async (sel) => { const img = document.querySelector(sel + ' img');
  if (!img || !img.src) return null;
  const buf = await (await fetch(img.src)).arrayBuffer();
  const sha = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  return Array.from(sha, b => b.toString(16).padStart(2, '0')).join(''); }"""
DONE_OR_ERROR = """() => [...document.querySelectorAll('.jp-OutputArea-output')].some(e =>
  e.textContent.startsWith('EXPECTED ') || /Traceback|\\w+Error: /.test(e.textContent))"""
ALL_OUTPUTS = """() => [...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.textContent).join('\\n')"""
READOUT = """(sel) => { const e = document.querySelector(sel + ' .mti-readout'); return e ? e.textContent : null; }"""


def shown(page, sel: str) -> tuple[str | None, str | None]:
    """(sha-16 of the image the page shows, the readout text) of the widget `sel`."""
    sha = page.evaluate(IMAGE_SHA, sel)          # hashed in the page (127.0.0.1 is a secure context: crypto.subtle works)
    return (sha[:16] if sha else None), page.evaluate(READOUT, sel)


def wait_shown(page, sel: str, sha: str, timeout: float) -> tuple[str | None, str | None]:
    """Poll until the widget shows the image with hash `sha` and its readout names that hash (or time out)."""
    end, got = time.time() + timeout, (None, None)
    while time.time() < end:
        got = shown(page, sel)
        if got[0] == sha and got[1] and sha in got[1]: break
        time.sleep(0.05)
    return got


def small_png(path: Path, colours: int = 96):
    """Rewrite a screenshot with an adaptive palette (about a third of the size; it goes into git and the README)."""
    from PIL import Image
    tmp = path.with_suffix('.tmp.png')
    Image.open(path).convert('RGB').quantize(colours, method=Image.Quantize.MEDIANCUT).save(tmp, optimize=True)
    tmp.replace(path)


def redraw_ms(readout: str | None) -> str:
    """The kernel's redraw time from a widget readout ('... | redraw 345 ms | ...')."""
    part = [p for p in (readout or '').split('|') if 'redraw' in p]
    return part[0].strip() if part else '?'


def run(args) -> int:
    check, t_start = Checks(), time.time()
    try: from playwright.sync_api import sync_playwright
    except ImportError:
        check(False, 'Python playwright is installed', 'pip install playwright (the browser is Debian\'s chromium: no `playwright install`)')
        print('0 passed, 1 failed'); return 1
    if not Path(args.chromium).is_file():
        check(False, f'Chromium at {args.chromium}', 'apt-get install -y chromium (or give --chromium PATH)')
        print('0 passed, 1 failed'); return 1
    tmp = Path(tempfile.mkdtemp(prefix='mti_browser_'))
    (tmp / 'root').mkdir()
    (tmp / 'root' / 'widgets_demo.ipynb').write_text(json.dumps(demo_notebook(args.broken, args.checkpoint), indent=1))
    port, token = free_port(), secrets.token_hex(16)
    shots = Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)
    lab = start_lab(tmp, port, token)
    timings = {}
    try:
        ok = check(wait_for_server(f'http://127.0.0.1:{port}/api/status?token={token}', lab, 60), 'JupyterLab server answers')
        if not ok:
            print((tmp / 'lab.log').read_text()[-3000:]); raise Abort
        timings['server'] = time.time() - t_start
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={'width': 1280, 'height': 1000})
                page.goto(f'http://127.0.0.1:{port}/lab/tree/widgets_demo.ipynb?token={token}')
                page.wait_for_function('() => window.jupyterapp && window.jupyterapp.shell.currentWidget && '
                                       'window.jupyterapp.shell.currentWidget.sessionContext', timeout=90_000, polling=250)
                page.wait_for_function(f'() => ({KERNEL_STATUS})() === "idle"', timeout=90_000, polling=250)
                check(True, 'notebook open, kernel idle')
                t0 = time.time()
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
                page.wait_for_function(DONE_OR_ERROR, timeout=args.timeout * 1000, polling=250)
                print(f'  cells ran or failed after {time.time() - t0:.1f} s', flush=True)
                if args.debug: print(page.evaluate(ALL_OUTPUTS)[-3000:])
                page.wait_for_function(f'() => ({KERNEL_STATUS})() === "idle"', timeout=60_000, polling=250)
                timings['run all cells'] = time.time() - t0
                text = page.evaluate("() => ([...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.textContent).find(t => t.startsWith('EXPECTED ')) || '')")
                if not check(bool(text), 'all cells ran (the expected hashes are printed)',
                             page.evaluate(ALL_OUTPUTS)[-2000:]):
                    raise Abort
                expected = json.loads(text.split('EXPECTED ', 1)[1].strip().splitlines()[0])
                models = page.evaluate("() => ([...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.textContent).find(t => t.startsWith('MODELS ')) || '')")
                print(f'  {models.strip()}', flush=True)

                def step(name: str, sel: str, key: str, action, label: str):
                    t = time.time(); action()
                    sha, readout = wait_shown(page, sel, expected[name][key], args.update_timeout)
                    timings[f'{name}: {key} (page update; kernel {redraw_ms(readout)})'] = time.time() - t
                    check(sha == expected[name][key] and readout is not None and expected[name][key] in readout and label in readout,
                          f'{name}: after {key} the page shows the kernel-computed PNG for {label}',
                          f'shown {sha}, expected {expected[name][key]}, readout {readout!r}')

                def slider_right(sel):
                    def act():
                        handle = page.locator(f'{sel} .noUi-handle').nth(1)      # [0] is the image slider
                        handle.focus(); handle.press('ArrowRight')
                    return act

                for name, keys in expected.items():
                    check(len(set(keys.values())) == len(keys), f'{name}: the expected PNGs differ from each other (a missed update would show)')
                for name, sel in (('attention', '.mti-attention'), ('fpm', '.mti-fpm'), ('predictions', '.mti-predictions'), ('affinity', '.mti-affinity')):
                    page.locator(sel).scroll_into_view_if_needed()
                    sha, readout = wait_shown(page, sel, expected[name]['start'], args.update_timeout)
                    check(sha == expected[name]['start'], f'{name}: the first image is the kernel-computed PNG', f'shown {sha}, readout {readout!r}')
                    if name == 'attention':
                        step(name, sel, 'slider', slider_right(sel), 'scale 1/8')
                        step(name, sel, 'dropdown', lambda: page.locator(f'{sel} select').first.select_option('depth'), 'depth ← semseg')
                        if 'trained' in expected[name]:          # the model toggle: the trained network alone, then both again
                            toggle = lambda v: (lambda: page.locator(sel).get_by_role('button', name=v, exact=True).click())
                            step(name, sel, 'trained', toggle('trained'), ', trained |')
                            t = time.time(); toggle('both')()
                            sha, readout = wait_shown(page, sel, expected[name]['dropdown'], args.update_timeout)
                            timings[f'{name}: back to both (page update)'] = time.time() - t
                            check(sha == expected[name]['dropdown'] and readout is not None and ', both |' in readout,
                                  f'{name}: back to both, the page shows the kernel-computed PNG again', f'shown {sha}, readout {readout!r}')
                    elif name == 'fpm':
                        step(name, sel, 'slider', slider_right(sel), 'scale 1/16')
                    elif name == 'affinity':
                        step(name, sel, 'slider', slider_right(sel), 'dilation 2')
                    else:
                        step(name, sel, 'dropdown', lambda: page.locator(f'{sel} select').first.select_option('depth'), 'task depth')
                    out = shots / f'{name}.png'
                    page.locator(sel).screenshot(path=str(out))
                    small_png(out)
                    check(out.stat().st_size > 1000, f'{name}: screenshot {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} ({out.stat().st_size // 1024} KiB)')
            except Abort: raise
            except Exception as e:      # a timeout or a page error: one failed check, with the server's log tail
                check(False, 'browser session', f'{type(e).__name__}: {str(e)[:1500]}')
                print((tmp / 'lab.log').read_text()[-3000:])
            finally:
                browser.close()
    except Abort: pass
    finally:
        stop(lab)
        shutil.rmtree(tmp, ignore_errors=True)
    for k, v in timings.items(): print(f'  {k}: {v:.1f} s')
    print(f'browser test took {time.time() - t_start:.0f} s')
    print(f'{check.passed} passed, {check.failed} failed')
    return 1 if check.failed else 0


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--chromium', default='/usr/bin/chromium', help='Chromium executable (default: %(default)s)')
    p.add_argument('--screenshots', default=str(ROOT / 'nbs' / 'images' / 'widgets'), help='folder for the widget screenshots (default: %(default)s)')
    p.add_argument('--timeout', type=float, default=300, help='seconds to wait for all cells to run (default: %(default)s)')
    p.add_argument('--checkpoint', help='show this mti_train checkpoint next to an untrained one (default: the best nyud_mti of the experiments '
                                        'if its best.pt is on this machine, else the untrained network alone)')
    p.add_argument('--broken', action='store_true', help='add a failing cell to the demo notebook (the test must then fail)')
    p.add_argument('--debug', action='store_true', help='print the notebook outputs after running all cells')
    p.add_argument('--update-timeout', type=float, default=20, help='seconds to wait for an image update (default: %(default)s)')
    sys.exit(run(p.parse_args()))
