"""Growth: seconds per epoch and peak resident memory as a memory-mapped ``.npy`` grows.

    python benchmarks/growth.py [--base 50000] [--features 1024] [--big-gib 13] \
        [--tmp DIR] [--json out.json]

For 1x, 4x and 16x ``--base`` examples (and, with ``--big-gib``, a file of that many GiB, meant
to be larger than half the RAM) a float32 file ``[N, features]`` is written in chunks, then a
fresh process trains a tiny autoencoder (features -> 8 -> features) on it for one epoch through
the streaming path (every size memory-mapped, ``data_on_device="never"``: a ``DataLoader``
over the memory map; by default only a file above a quarter of the free RAM), so the
time is reading plus per-step overhead. The child reports the epoch's seconds (validation
included), the seconds to open and check the file, and its peak resident memory (``VmHWM``);
the file is deleted after each size. Prints one JSON line per size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHUNK_BYTES = 256 * 2**20

CHILD = """
import json, sys, time
start = time.perf_counter()
import numpy as np, torch
from aegan import api
from aegan.config import DataConfig, OptimConfig, TrainConfig
from aegan.run import RunConfig
from aegan.data import files, load_dataset, memory
from aegan.models import AutoencoderConfig
path, out, batch, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(1)
files.map_above = lambda: 0  # memory-map every size (by default only files above RAM / 4)
config = RunConfig(model=AutoencoderConfig(encoder=[8]), data=DataConfig(path),
                   optim=OptimConfig("adam", lr=1e-3),
                   train=TrainConfig(epochs=1, batch_size=batch, device="cpu",
                                     data_on_device="never", num_workers=workers))
data = load_dataset(path)
loaded = time.perf_counter() - start
auto_streams = memory.float_bytes(data.train.inputs) > memory.in_memory_budget()
run = api.train(config, out, progress=False)
record = json.loads((run / "history.jsonl").read_text().splitlines()[-1])
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({"s_per_epoch": record["time_s"], "s_load_check": round(loaded, 2),
                  "peak_rss_mib": round(int(status["VmHWM"].split()[0]) / 1024, 1),
                  "auto_would_stream": bool(auto_streams), "steps": record["step"]}))
"""


def write_npy(path: Path, rows: int, features: int) -> float:
    """A float32 ``[rows, features]`` file of values in [0, 1), written in 256 MiB chunks."""
    start = time.perf_counter()
    block = np.random.RandomState(0).rand(max(1, CHUNK_BYTES // (4 * features)), features)
    block = block.astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, features))
    for first in range(0, rows, len(block)):
        n = min(len(block), rows - first)
        out[first:first + n] = block[:n]
        out.flush()
    del out
    return time.perf_counter() - start


def measure(rows: int, features: int, batch: int, workers: int, tmp: Path) -> dict:
    path = tmp / f"growth-{rows}.npy"
    try:
        written = write_npy(path, rows, features)
        env = dict(os.environ, OMP_NUM_THREADS="1")
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(tmp / f"run-{rows}"),
                               str(batch), str(workers)], capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise SystemExit(f"child failed for {rows} rows: {proc.stderr[-2000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result.update(rows=rows, file_gib=round(path.stat().st_size / 2**30, 3),
                      s_write=round(written, 1), s_child=round(time.perf_counter() - start, 1))
        return result
    finally:
        path.unlink(missing_ok=True)
        subprocess.run(["rm", "-rf", str(tmp / f"run-{rows}")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=50_000)
    parser.add_argument("--features", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--big-gib", type=float, default=0.0,
                        help="also a file of this many GiB (0: skip)")
    parser.add_argument("--tmp", default=tempfile.gettempdir())
    parser.add_argument("--json")
    args = parser.parse_args()
    sizes = [args.base, 4 * args.base, 16 * args.base]
    if args.big_gib:
        sizes.append(int(args.big_gib * 2**30 / (4 * args.features)))
    meta = {"machine": platform.platform(), "cpus": os.cpu_count(),
            "ram_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load_average": os.getloadavg()}
    print(json.dumps(meta), flush=True)
    results = []
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        for rows in sizes:
            results.append(measure(rows, args.features, args.batch_size, args.num_workers,
                                   Path(tmp)))
            print(json.dumps(results[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=2))


if __name__ == "__main__":
    main()
