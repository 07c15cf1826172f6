#!/usr/bin/env bash
# GPU check of issue 10 ("On a GPU, where one is lent"): about 5 minutes on one H200 (16 CPU cores), one PASS /
# FAIL / SKIP line per check with its figure, exit 0 only if every check passed (SKIP counts as passed).
#   1 machine      nvidia-smi, python/torch/CUDA/cuDNN versions, torch.cuda.get_device_name, bf16 support
#   2 setup        carried wheels (.whl/, see .ci/gpu_wheels.sh) into /tmp/site; mti_nb from the working tree via
#                  PYTHONPATH (no install into the image's environment), console scripts as small wrappers
#   3 nbtests      the notebook tests of every notebook whose code mentions CUDA (.ci/test_nbs.py --workers 4),
#                  run beside steps 4-6 (they are mostly CPU work); the benchmarks wait for them
#   4 synth        two synthetic NYUD-like sets (mti_synth): 400 train / 16 val and 80 / 8 images at 96x128
#   5 train_*      mti_train, 1 epoch of 50 steps (batch 8) with --amp bf16, --amp fp16 (GradScaler), and fp32
#                  for reference: seconds, images/s, mean train loss of the 50 steps, val loss
#   6 torchrun     python3 -m torch.distributed.run --standalone --nproc_per_node 1 (torchrun) of mti_train: the
#                  script first joins an NCCL group and runs one all_reduce and one DDP step of MTI-Net (with one
#                  process the trainer itself joins no group), then trains 10 steps on cuda:LOCAL_RANK
#   7 bench_*      mti_bench --device cuda: PASCAL five tasks at 512x512 b2 (plain, fast without channels_last,
#                  fast, fast+bf16), then MTI-Net NYUD+N+E at 480x640 b2 (the same and fast+compile): images/s, MB
# Results go to $OUT when it is set, else to the folder given as the first argument: gpu_check.log (everything),
# summary.txt (the check lines), summary.json (every figure), nbtests.log, bench_512x512.json, bench_480x640.json.
# A hard deadline (GPU_CHECK_DEADLINE seconds, default 360) caps every step, so the summary is always written.
# GPU_CHECK_ONLY="bench_480x640 torchrun" runs only the named checks (after machine and setup; the others SKIP), e.g.
# for a second, shorter call; GPU_CHECK_DEADLINE=600 GPU_CHECK_ONLY=bench_480x640 gives compilation more time.
#
# Without a GPU: `--cpu-smoke` (or GPU_CHECK_DEVICE=cpu) runs the same steps on the CPU at a tiny size (8 images at
# 64x64, 2 steps, gloo, mti_bench --quick, --threads 1, one notebook worker) and SKIPs what needs CUDA (nvidia-smi,
# fp16, the second benchmark size). Here:  nice -n 10 bash .ci/gpu_check.sh --cpu-smoke /tmp/gpu_smoke
#
# THE CALL TO MAKE (a session that is lent a GPU), after running `bash .ci/gpu_wheels.sh` here once (it fills the
# git-ignored .whl/ with the 25 wheels the image lacks: fastcore, nbdev, execnb, IPython, ipywidgets and their
# needs, about 10 MiB) and with no large untracked files in the checkout (the tree travels, 64 MiB in all):
#   run(command="bash .ci/gpu_check.sh", carry=[".whl"], timeout_s=420)
# It leaves time for one more full run inside the 15 minutes of device time; call give_back unless you rerun at
# once. The figures are in the reply's output_tail and in files_at/summary.txt and summary.json.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DEV=${GPU_CHECK_DEVICE:-cuda}
RES=""
for a in "$@"; do
  case "$a" in
    --cpu-smoke) DEV=cpu ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    -*) echo "gpu_check.sh: unknown option $a (use --cpu-smoke, or a results folder)" >&2; exit 2 ;;
    *) RES=$a ;;
  esac
done
RES=${OUT:-$RES}
[ -n "$RES" ] || { echo "gpu_check.sh: give a results folder (or set OUT)" >&2; exit 2; }
mkdir -p "$RES"; RES=$(cd "$RES" && pwd)

export PYTHONUNBUFFERED=1 DEV RES ROOT
export WORK=${GPU_CHECK_WORK:-$(mktemp -d /tmp/gpu_check.XXXXXX)}
export PY=$(command -v python3)
if [ "$DEV" = cpu ]; then
  export SMOKE=1 N_TRAIN=8 N_VAL=4 N_DDP=8 SIZE="64 64" BATCH=4 STEPS=2 DDP_STEPS=2 THREADS=1 LOADERS=0 NB_WORKERS=1
  export DEADLINE=${GPU_CHECK_DEADLINE:-7200} SLOW=${GPU_CHECK_SLOW:-8}   # the step limits x SLOW: a small busy CPU
else
  export SMOKE=0 N_TRAIN=400 N_VAL=16 N_DDP=80 SIZE="96 128" BATCH=8 STEPS=50 DDP_STEPS=10 THREADS=0 LOADERS=4 NB_WORKERS=4
  export DEADLINE=${GPU_CHECK_DEADLINE:-360} SLOW=${GPU_CHECK_SLOW:-1}
fi
export START=$(date +%s)
export MPLBACKEND=Agg MTI_NB_DATA="$WORK/data"

# ---------------------------------------------------------------------------------------------------------------
# figures: one Python helper, `fig.py KIND NAME ...`, prints the check's one-line figure and writes res_NAME.json
cat > "$WORK/fig.py" <<'PYEOF'
import json, math, os, re, sys
from pathlib import Path
work, res = Path(os.environ['WORK']), Path(os.environ['RES'])
kind, name, args = sys.argv[1], sys.argv[2], sys.argv[3:]

def done(fig, ok=True, **details):
    (work/f'res_{name}.json').write_text(json.dumps({'figure': fig, **details}, indent=1))
    print(fig)
    sys.exit(0 if ok else 1)

if kind == 'machine':
    import platform, torch
    d = {'python': platform.python_version(), 'torch': torch.__version__, 'cuda': torch.version.cuda,
         'cudnn': torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
         'cuda_available': torch.cuda.is_available(), 'cpu_count': os.cpu_count(), 'torch_threads': torch.get_num_threads()}
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        d |= {'gpu': torch.cuda.get_device_name(0), 'capability': '.'.join(map(str, torch.cuda.get_device_capability(0))),
              'gpu_memory_gib': round(p.total_memory / 2**30, 1), 'multiprocessors': p.multi_processor_count,
              'bf16': torch.cuda.is_bf16_supported(), 'gpus': torch.cuda.device_count(),
              'nccl': '.'.join(map(str, torch.cuda.nccl.version())) if hasattr(torch.cuda, 'nccl') else None}
        fig = (f"{d['gpu']} (sm {d['capability']}, {d['gpu_memory_gib']} GiB, bf16 {d['bf16']}), torch {d['torch']}, "
               f"CUDA {d['cuda']}, cuDNN {d['cudnn']}, NCCL {d['nccl']}, python {d['python']}")
    else:
        fig = f"no CUDA device; torch {d['torch']} (CUDA build {d['cuda']}), python {d['python']}, {d['cpu_count']} CPUs"
    print(json.dumps(d, indent=1), file=sys.stderr)
    done(fig, ok=torch.cuda.is_available() or os.environ['SMOKE'] == '1', **d)

if kind == 'nbtests':   # args: the test log
    text = Path(args[0]).read_text(errors='replace')
    lines = re.findall(r'^(PASS|FAIL) (\S+) \(([\d.]+)s\)', text, re.M)
    m = re.search(r'^(\d+) passed, (\d+) failed', text, re.M)
    per = {nb: {'status': st, 'seconds': float(s)} for st, nb, s in lines}
    fig = (f'{m[1]} passed, {m[2]} failed: ' if m else 'no summary line: ') + ', '.join(f'{nb} {v["status"]} {v["seconds"]:.0f}s' for nb, v in per.items())
    done(fig, ok=bool(m) and m[2] == '0', notebooks=per)

if kind == 'train':     # args: run folder, expected steps, wall seconds
    out, steps, wall = Path(args[0]), int(args[1]), float(args[2])
    log = json.loads((out/'log.json').read_text())
    row, cfg = log['history'][-1], log['config']
    train_s = row.get('train_seconds', float('nan'))
    d = {'amp': cfg.get('amp'), 'device': cfg.get('device'), 'size': cfg.get('size'), 'batch': cfg.get('batch_size'), 'steps': row['step'],
         'train_seconds': train_s, 'images_per_s': row['step'] * cfg['batch_size'] / train_s if train_s else None,
         'train_loss_mean': row.get('train/total'), 'val_loss': row.get('val/loss'), 'data_wait': row.get('data_wait'),
         'val_seconds': row.get('val_seconds'), 'wall_seconds': wall, 'runtime': log.get('runtime'),
         'val_metrics': {k[4:]: v for k, v in row.items() if k.startswith('val/') and '/IoU/' not in k}}
    finite = all(isinstance(v, (int, float)) and math.isfinite(v) for v in (d['train_loss_mean'], d['val_loss']))
    fig = (f"{d['steps']} steps in {train_s:.1f} s ({d['images_per_s']:.1f} img/s, {100 * (d['data_wait'] or 0):.0f}% waiting for data), "
           f"mean train loss {d['train_loss_mean']:.4f}, val loss {d['val_loss']:.4f}, whole run {wall:.0f} s")
    ok = d['steps'] == steps and finite
    if not ok: fig += f' (expected {steps} steps and finite losses)'
    done(fig, ok=ok, **d)

if kind == 'torchrun':  # args: the wrapper's NCCL/DDP record, run folder, expected steps, wall seconds
    rec = json.loads(Path(args[0]).read_text())
    out, steps, wall = Path(args[1]), int(args[2]), float(args[3])
    log = json.loads((out/'log.json').read_text())
    row = log['history'][-1]
    d = {**rec, 'steps': row['step'], 'train_loss_mean': row.get('train/total'), 'val_loss': row.get('val/loss'),
         'train_seconds': row.get('train_seconds'), 'wall_seconds': wall}
    ok = rec['all_reduce_ok'] and math.isfinite(rec['ddp_loss']) and rec['ddp_grads_finite'] and d['steps'] == steps
    fig = (f"{rec['backend']} group of {rec['world_size']} on {rec['device']}: all_reduce {'ok' if rec['all_reduce_ok'] else 'WRONG'}, "
           f"DDP step of MTI-Net loss {rec['ddp_loss']:.4f}; trainer {d['steps']} steps in {d['train_seconds']:.1f} s, "
           f"mean train loss {d['train_loss_mean']:.4f}; whole run {wall:.0f} s")
    done(fig, ok=ok, **d)

if kind == 'bench':     # args: bench json, wall seconds
    b = json.loads(Path(args[0]).read_text())
    rows = [{'workload': r['workload'], 'size': r['size'], 'batch': r['batch'], 'mode': r['mode'], 'path': r['path'], 'switches': r['switches'],
             'images_per_s': r['batch'] / r['median_s'], 'median_s': r['median_s'], 'min_s': r['min_s'], 'ratio': r['ratio'],
             'peak_mb': r['peak_mb'], 'warmup_s': r['warmup_s'], 'gflops': r['gflops']} for r in b['rows']]
    compiled = {(r['mode'], r['path']): 'compile' in r['switches'] for r in rows}
    fell_back = [f'{m} {p}' for (m, p), c in compiled.items() if 'compile' in p and not c]
    fig = '; '.join(f"{r['mode']} {r['path']} {r['images_per_s']:.1f} img/s {r['ratio']:.2f}x {r['peak_mb']:.0f} MB"
                    + (f" (warm-up {r['warmup_s']:.0f} s)" if 'compile' in r['path'] else '') for r in rows)
    if fell_back: fig += f" -- torch.compile FAILED and fell back to eager for: {', '.join(fell_back)}"
    done(fig, ok=not fell_back, machine=b['machine'], rows=rows, wall_seconds=float(args[1]))

if kind == 'summary':   # args: the ordered check names
    checks, lines = [], []
    for n in args:
        st = (work/f'status_{n}').read_text().split('\t') if (work/f'status_{n}').exists() else ['FAIL', '0', 'did not run']
        r = json.loads((work/f'res_{n}.json').read_text()) if (work/f'res_{n}.json').exists() else {}
        checks.append({'name': n, 'status': st[0], 'seconds': float(st[1]), 'figure': st[2].strip(), 'details': {k: v for k, v in r.items() if k != 'figure'}})
        lines.append(f"{st[0]:<4} {n:<14} {st[2].strip()} [{float(st[1]):.0f} s]")
    ok = all(c['status'] in ('PASS', 'SKIP') for c in checks)
    total = float(os.environ.get('TOTAL', 'nan'))
    lines.append(f"{'ALL PASSED' if ok else 'SOME FAILED'}: {sum(c['status'] == 'PASS' for c in checks)} passed, "
                 f"{sum(c['status'] == 'FAIL' for c in checks)} failed, {sum(c['status'] == 'SKIP' for c in checks)} skipped in {total:.0f} s "
                 f"({'cpu smoke' if os.environ['SMOKE'] == '1' else 'cuda'})")
    (res/'summary.json').write_text(json.dumps({'mode': 'cpu-smoke' if os.environ['SMOKE'] == '1' else 'cuda', 'passed': ok,
                                                'total_seconds': total, 'checks': checks}, indent=1) + '\n')
    (res/'summary.txt').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    sys.exit(0 if ok else 1)
sys.exit(f'fig.py: unknown kind {kind}')
PYEOF

# the torchrun wrapper: an NCCL (gloo on the CPU) group, one all_reduce and one DDP step of MTI-Net, then mti_train
cat > "$WORK/ddp_train.py" <<'PYEOF'
import json, math, os, sys
import torch, torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from mti_nb.core import run_cli
from mti_nb.cli import mti_train
from mti_nb.train import dist_env, pick_device
from mti_nb.speed import build_workload, synthetic_batch
record, argv = sys.argv[1], sys.argv[2:]
rank, local_rank, world = dist_env()
device = pick_device(argv[argv.index('--device') + 1], local_rank)
backend = 'nccl' if device.type == 'cuda' else 'gloo'
if device.type == 'cuda': torch.cuda.set_device(device)
dist.init_process_group(backend)
x = torch.full((4,), float(rank + 1), device=device); dist.all_reduce(x)
reduce_ok = torch.allclose(x.cpu(), torch.full((4,), world * (world + 1) / 2))
torch.manual_seed(0)
model, criterion, tasks = build_workload('mti_nyud')
net = DistributedDataParallel(model.to(device), device_ids=[device.index] if device.type == 'cuda' else None)
batch = {k: v.to(device) for k, v in synthetic_batch(tasks, 2, (64, 64)).items()}
loss, _ = criterion(net(batch['image']), batch); loss.backward()
grads_finite = all(torch.isfinite(p.grad).all().item() for p in model.parameters() if p.grad is not None)
if device.type == 'cuda': torch.cuda.synchronize(device)
dist.barrier(); dist.destroy_process_group()
if rank == 0:
    with open(record, 'w') as f:
        json.dump({'backend': backend, 'world_size': world, 'device': str(device), 'all_reduce_ok': bool(reduce_ok),
                   'ddp_loss': float(loss), 'ddp_grads_finite': bool(grads_finite),
                   'torchrun_env': {k: os.environ.get(k) for k in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE', 'MASTER_ADDR')}}, f)
print(f'rank {rank}: {backend} group of {world}, all_reduce {"ok" if reduce_ok else "WRONG"}, DDP step loss {float(loss):.4f}', flush=True)
del net, model
run_cli(mti_train, argv, prog='mti_train')
PYEOF

# ---------------------------------------------------------------------------------------------------------------
# one step: `step NAME WANT_SECONDS FUNCTION`: runs FUNCTION in a fresh bash under `timeout` (capped by the deadline);
# exit 0 PASS, 77 SKIP (its last line is the reason), else FAIL; the figure is the last line the step printed
step() {
  local name=$1 want=$2 fn=$3 t0 rc=0 left t
  if [ -n "${GPU_CHECK_ONLY:-}" ] && [ "$name" != machine ] && [[ " $GPU_CHECK_ONLY " != *" $name "* ]]; then
    printf 'SKIP\t0\tnot selected (GPU_CHECK_ONLY=%s)\n' "$GPU_CHECK_ONLY" > "$WORK/status_$name"; echo "== $name: SKIP (not selected)"; return 0
  fi
  left=$(( DEADLINE - ($(date +%s) - START) - 20 )); want=$(( want * SLOW ))
  t=$(( want < left ? want : left ))
  if (( t < 10 )); then
    printf 'FAIL\t0\tnot run: no time left before the deadline of %ss\n' "$DEADLINE" > "$WORK/status_$name"
    echo "== $name: FAIL (no time left)"; return 0
  fi
  echo; echo "== $name (limit ${t}s, at $(( $(date +%s) - START ))s)"
  t0=$(date +%s)
  timeout -k 10 "$t" bash -c "set -euo pipefail; $fn" > >(tee "$WORK/out_$name") 2>&1 || rc=$?
  sleep 0.2   # let tee finish
  local secs=$(( $(date +%s) - t0 )) fig st
  fig=$(grep -v '^\s*$' "$WORK/out_$name" | tail -1 | cut -c1-1500 || true)
  case $rc in
    0) st=PASS ;;
    77) st=SKIP ;;
    124|137) st=FAIL; fig="timed out after ${t}s (last line: ${fig:0:300})" ;;
    *) st=FAIL; fig="exit $rc: ${fig:0:600}" ;;
  esac
  printf '%s\t%s\t%s\n' "$st" "$secs" "$fig" > "$WORK/status_$name"
  echo "== $name: $st in ${secs}s: $fig"
}

skip_unless_cuda() { if [ "$SMOKE" = 1 ]; then echo "SKIP: $1"; exit 77; fi; }

check_machine() {
  if command -v nvidia-smi > /dev/null; then nvidia-smi; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true
  elif [ "$SMOKE" = 0 ]; then echo "nvidia-smi not found"; fi
  "$PY" -c "import torch, sys; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'python', sys.version.split()[0])"
  "$PY" "$WORK/fig.py" machine machine
}

check_nbtests() {
  local nbs
  nbs=$("$PY" -c "
import json, glob
for f in sorted(glob.glob('nbs/*.ipynb')):
    cells = json.load(open(f, encoding='utf-8'))['cells']
    if any(c['cell_type'] == 'code' and 'cuda' in ''.join(c['source']).lower() for c in cells): print(f)")
  echo "notebooks whose code mentions CUDA: $nbs"
  "$PY" .ci/test_nbs.py --no-browser --workers "$NB_WORKERS" $nbs > "$RES/nbtests.log" 2>&1 || true
  grep -E '^(PASS|FAIL) |passed, .* failed|^total ' "$RES/nbtests.log" || true
  "$PY" "$WORK/fig.py" nbtests nbtests "$RES/nbtests.log"
}

check_synth() {
  mti_synth --out "$WORK/data/train" --n-train "$N_TRAIN" --n-val "$N_VAL" --size $SIZE --workers 0 | tail -4
  mti_synth --out "$WORK/data/ddp" --n-train "$N_DDP" --n-val "$N_VAL" --size $SIZE --workers 0 | tail -1
  echo "$N_TRAIN + $N_VAL and $N_DDP + $N_VAL images at ${SIZE/ /x} in $WORK/data"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
train_run() {  # NAME AMP
  local name=$1 amp=$2 t0
  if [ "$amp" = fp16 ]; then skip_unless_cuda "fp16 needs CUDA (the GradScaler path)"; fi
  t0=$(now_ms)
  mti_train --data "$WORK/data/train" --out "$WORK/runs/$name" --epochs 1 --batch-size "$BATCH" --size $SIZE --amp "$amp" \
            --device "$DEV" --threads "$THREADS" --workers "$LOADERS" --edge-thresholds 3 --quiet
  "$PY" "$WORK/fig.py" train "$name" "$WORK/runs/$name" "$STEPS" "$(( $(now_ms) - t0 ))e-3"
}
check_train_bf16() { train_run train_bf16 bf16; }
check_train_fp16() { train_run train_fp16 fp16; }
check_train_fp32() { train_run train_fp32 none; }

check_torchrun() {
  local t0 backend=nccl; if [ "$SMOKE" = 1 ]; then backend=gloo; fi
  echo "torchrun (python3 -m torch.distributed.run) --standalone --nproc_per_node 1, $backend"
  t0=$(now_ms)
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-4} "$PY" -m torch.distributed.run --standalone --nproc_per_node 1 "$WORK/ddp_train.py" "$WORK/ddp.json" \
      --data "$WORK/data/ddp" --out "$WORK/runs/torchrun" --epochs 1 --batch-size "$BATCH" --size $SIZE --device "$DEV" \
      --threads "$THREADS" --edge-thresholds 3 --quiet
  "$PY" "$WORK/fig.py" torchrun torchrun "$WORK/ddp.json" "$WORK/runs/torchrun" "$DDP_STEPS" "$(( $(now_ms) - t0 ))e-3"
}

bench_run() {  # NAME WORKLOAD SIZE EXTRA_PATH: plain, fast without channels_last, fast, fast+bf16 (and EXTRA), train and infer
  local name=$1 workload=$2 size=$3 extra=$4 t0 args
  local tp="plain,lean+fused,fast,fast+bf16$extra" ip="plain,lean+fold,fast,fast+bf16$extra"
  if [ "$SMOKE" = 1 ]; then
    args=(--quick --threads 1)
    tp="plain,lean+fused,fast,fast+bf16"   # compiling a training step takes over 10 minutes on a busy 2-core CPU: infer only
  else
    args=(--workloads "$workload" --sizes "$size" --reps 10)
  fi
  t0=$(now_ms)
  mti_bench --device "$DEV" "${args[@]}" --train-paths "$tp" --infer-paths "$ip" --json "$RES/$name.json"
  "$PY" "$WORK/fig.py" bench "$name" "$RES/$name.json" "$(( $(now_ms) - t0 ))e-3"
}
check_bench_512x512() { skip_unless_cuda "a second size only on the GPU (the smoke run's --quick is one size)"; bench_run bench_512x512 mti_pascal 512x512b2 ""; }
check_bench_480x640() { bench_run bench_480x640 mti_nyud_ne 480x640b2 ",fast+compile"; }

export -f step now_ms skip_unless_cuda check_machine check_nbtests check_synth train_run check_train_bf16 check_train_fp16 \
          check_train_fp32 check_torchrun bench_run check_bench_512x512 check_bench_480x640

# ---------------------------------------------------------------------------------------------------------------
setup() {  # in this shell: it sets PATH and PYTHONPATH for every later step
  local site="$WORK/site"
  if [ -d .whl ] && ls .whl/*.whl > /dev/null 2>&1; then
    echo "installing $(ls .whl/*.whl | wc -l) carried wheels into $site"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl 2>&1 \
      | { grep -v 'WARNING: Target directory' || true; }
    [ "${PIPESTATUS[0]}" = 0 ] || { echo "pip could not install the carried wheels"; return 1; }
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
  else
    echo "no .whl/ folder carried (fine where fastcore, nbdev, execnb, IPython and ipywidgets are installed)"
  fi
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"      # mti_nb from the working tree, no install
  mkdir -p "$WORK/bin"
  local s
  for s in mti_synth=mti_nb.synthetic:mti_synth_cli mti_train=mti_nb.cli:mti_train_cli mti_bench=mti_nb.speed:mti_bench_cli; do
    printf '#!%s\nfrom %s import %s\n%s()\n' "$PY" "$(echo "${s#*=}" | cut -d: -f1)" "${s##*:}" "${s##*:}" > "$WORK/bin/${s%%=*}"
    chmod +x "$WORK/bin/${s%%=*}"
  done
  export PATH="$WORK/bin:$PATH"
  "$PY" - <<'EOF' || return 1
import importlib, sys
need = ['torch', 'torchvision', 'timm', 'numpy', 'scipy', 'skimage', 'matplotlib', 'PIL', 'tqdm', 'filelock', 'huggingface_hub',
        'fastcore', 'ipywidgets', 'IPython', 'execnb', 'nbdev', 'mti_nb.cli', 'mti_nb.speed', 'mti_nb.synthetic']
missing = []
for m in need:
    try: importlib.import_module(m)
    except Exception as e: missing.append(f'{m} ({type(e).__name__}: {e})')
if missing:
    print('missing:', *missing, sep='\n  ')
    print('CARRY THE WHEELS: here, run `bash .ci/gpu_wheels.sh` (fills the git-ignored .whl/), then call run(command="bash .ci/gpu_check.sh", carry=[".whl"], timeout_s=420)')
    sys.exit(1)
EOF
  mti_train --help > /dev/null || { echo "mti_train --help failed"; return 1; }
  "$PY" - <<'EOF'
import mti_nb, torch, timm, fastcore, nbdev
print(f'all imports ok: mti_nb {mti_nb.__version__} from {mti_nb.__file__}; torch {torch.__version__}, timm {timm.__version__}, '
      f'fastcore {fastcore.__version__}, nbdev {nbdev.__version__}')
EOF
}

main() {
  echo "gpu_check.sh: device $DEV, results in $RES, work folder $WORK, deadline ${DEADLINE}s, $(date -u +%FT%TZ)"
  step machine 30 check_machine
  echo; echo "== setup (at $(( $(date +%s) - START ))s)"
  local t0=$(date +%s) fig rc=0
  setup > >(tee "$WORK/out_setup") 2>&1 || rc=$?
  sleep 0.2
  fig=$(grep -v '^\s*$' "$WORK/out_setup" | tail -1 | cut -c1-600 || true)
  printf '%s\t%s\t%s\n' "$([ $rc = 0 ] && echo PASS || echo FAIL)" "$(( $(date +%s) - t0 ))" "$fig" > "$WORK/status_setup"
  local names="machine setup nbtests synth train_bf16 train_fp16 train_fp32 torchrun bench_512x512 bench_480x640"
  if [ $rc = 0 ]; then
    step nbtests 240 check_nbtests > "$WORK/nbtests.console" 2>&1 &
    local nbpid=$!
    step synth 60 check_synth
    step train_bf16 75 check_train_bf16
    step train_fp16 75 check_train_fp16
    step torchrun 90 check_torchrun
    step train_fp32 75 check_train_fp32
    echo; echo "== waiting for the notebook tests (at $(( $(date +%s) - START ))s)"
    wait $nbpid || true
    cat "$WORK/nbtests.console"
    step bench_512x512 90 check_bench_512x512
    step bench_480x640 240 check_bench_480x640
  else
    echo "setup failed: the other checks are not run"
  fi
  echo; echo "== summary"
  TOTAL=$(( $(date +%s) - START )) "$PY" "$WORK/fig.py" summary summary $names
}

set +e
main 2>&1 | tee "$RES/gpu_check.log"
rc=${PIPESTATUS[0]}
[ -n "${GPU_CHECK_WORK:-}" ] || rm -rf "$WORK"
exit "$rc"
