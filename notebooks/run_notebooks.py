#!/usr/bin/env python3
"""Executes every notebook headlessly against fresh --quick outputs of migsched.

Usage: python3 notebooks/run_notebooks.py [--migsched PATH] [--work DIR]

Runs `migsched reproduce paris-elsa --quick` and a small sweep into DIR (default a temporary
directory), then executes each notebook with nbclient, pointing it at those outputs through
environment variables. Exits non-zero when a notebook fails.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--migsched", default=str(REPO / "target/release/migsched"))
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="migsched-nb-"))
    work.mkdir(parents=True, exist_ok=True)
    paris = work / "paris-elsa"
    sweep = work / "sweep"
    spec = work / "spec.toml"
    spec.write_text(
        f'instances = ["{REPO / "datasets/instances/small.toml"}"]\n'
        'methods = ["ilp", "greedy"]\nschedulers = ["fifs", "elsa"]\n'
        "loads = [0.5, 1.0]\nseeds = [1, 2]\nduration_s = 0.5\nmode = \"dynamic\"\n"
    )
    for cmd in (
        [args.migsched, "reproduce", "paris-elsa", "--quick", "--out", str(paris)],
        [args.migsched, "sweep", str(spec), "-o", str(sweep)],
    ):
        print("running:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    env = {
        "MIGSCHED_PARIS_ELSA": str(paris),
        "MIGSCHED_SWEEP": str(sweep),
        "MIGSCHED_FIGURES": str(work / "figures"),
    }
    os.environ.update(env)
    failed = 0
    for path in sorted(HERE.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        try:
            NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
            print(f"ok    {path.name}")
        except Exception as e:  # a failing cell: report and go on to the others
            failed += 1
            print(f"FAIL  {path.name}: {e}", file=sys.stderr)
    figures = sorted(p.name for p in (work / "figures").glob("*.png"))
    print("figures:", ", ".join(figures))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
