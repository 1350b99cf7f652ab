"""How long ``aegan explore`` takes to answer a slider: the time from sending ``/decode`` to
having read the PNG, over one kept-alive connection, for each run given (book presets'
models: untrained ones are as fast as trained ones).

    python benchmarks/explore_latency.py RUN [RUN ...] --requests 200
"""

from __future__ import annotations

import argparse
import http.client
import random
import statistics
import threading
import time

import torch

from aegan.explorer import ExploreOptions, bind, open_run


def latency(run: str, requests: int) -> list[float]:
    server = bind(0)
    server.explorer = open_run(run, ExploreOptions(map="pca", points=100))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1])
    n, rng, times = server.explorer.info()["coding_shape"], random.Random(0), []
    size = 1
    for d in n:
        size *= d
    for _ in range(requests + 10):
        z = ",".join(str(rng.gauss(0, 1)) for _ in range(size))
        start = time.perf_counter()
        conn.request("GET", "/decode?z=" + z)
        conn.getresponse().read()
        times.append(time.perf_counter() - start)
    server.shutdown()
    server.server_close()
    return times[10:]  # after 10 warm-up requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    for run in args.runs:
        t = sorted(latency(run, args.requests))
        print(f"{run}: median {1e3 * statistics.median(t):.2f} ms, 95th percentile "
              f"{1e3 * t[int(0.95 * len(t))]:.2f} ms, max {1e3 * t[-1]:.2f} ms "
              f"({len(t)} requests, {torch.get_num_threads()} torch threads)")


if __name__ == "__main__":
    main()
