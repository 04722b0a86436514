"""Runs every benchmark script in bench/ (files named ``bench_*.py``), one after the other.

Each script prints ``ID name value (target)`` lines with ratios against a baseline measured in the
same run (quality.md). Benchmarks are never part of the test suite.
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if not scripts:
        print("no benchmark scripts in bench/ yet")
        return 0
    failures = 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        failures += subprocess.run([sys.executable, str(script)], check=False).returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
