"""Runs one DAG file (bench/peers.ts writes it) through Dask's local threaded scheduler.

Each task runs its shell command as a subprocess, as a Ferry process step does,
and fails the run on a non-zero exit. Prints the makespan in milliseconds as JSON.

    python peers-dask.py --dag dag.json --workers 8
"""

import argparse
import json
import subprocess
import time

import dask
from dask.threaded import get


def run(command, *_deps):
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command!r} exited with {done.returncode}: {done.stderr[-500:]!r}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dag", required=True)
    parser.add_argument("--workers", type=int, required=True)
    args = parser.parse_args()
    with open(args.dag, encoding="utf8") as f:
        dag = json.load(f)
    graph = {s["name"]: (run, s["command"], *s["depends"]) for s in dag["steps"]}
    keys = [s["name"] for s in dag["steps"]]
    start = time.perf_counter()
    get(graph, keys, num_workers=args.workers)
    makespan_ms = (time.perf_counter() - start) * 1000
    print(json.dumps({"makespanMs": makespan_ms, "dask": dask.__version__}))


if __name__ == "__main__":
    main()
