"""Print deploy/constraints.txt: the runtime dependencies pip resolved (a `--report` file), at this venv's versions.

Used by `make constraints`; the image installs with `pip install --constraint deploy/constraints.txt .`.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import PackageNotFoundError, version

HEADER = """\
# The runtime dependencies of the image, pinned: the versions the test suite ran with (`pip install -c`).
# The image installs exactly these (deploy/Dockerfile); pyproject.toml keeps the ranges for development.
# Regenerate after changing dependencies: make constraints"""


def main(report_path: str) -> int:
    with open(report_path, encoding="utf-8") as handle:
        report = json.load(handle)
    names = sorted({item["metadata"]["name"].lower().replace("_", "-") for item in report["install"]} - {"motcua-bot"})
    lines = [HEADER]
    for name in names:
        try:
            lines.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            print(f"{name} is not installed in this venv: run make install", file=sys.stderr)
            return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
