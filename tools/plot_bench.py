# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Draw the figures ``tools/bench.py --json`` wrote: cost per host against fleet size, and the RST table of docs/docsite/rst/bench.rst.

    python tools/plot_bench.py docs/bench/scale.json docs/bench/scale.png

Needs matplotlib (``make scale`` installs it into the development venv); the table is printed without it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

STYLES = {
    "ping": ("ping (Ansible's floor)", "tab:gray"),
    "role": ("registry_auth, first run", "tab:blue"),
    "role again": ("registry_auth, re-run", "tab:green"),
}


def table(data: dict[str, Any]) -> str:
    """The figures as the RST list-table of docs/docsite/rst/bench.rst ("At scale")."""
    arms = [arm for arm in STYLES if any(arm in result["arms"] for result in data["results"])]
    rows = [["forks", "hosts", *(f"{arm} ms/host" for arm in arms), "role vs ping", "role again vs ping", "token requests (role)"]]
    for result in data["results"]:
        figures = result["arms"]
        cells = [f"{figures[arm]['median'] / result['hosts'] * 1000:.0f}" for arm in arms]
        ratios = [f"{figures[arm]['vs_ping']:.2f}x" if arm in figures else "" for arm in ("role", "role again")]
        requests = figures.get("role", {}).get("token_requests", "")
        rows.append([str(result["forks"]), str(result["hosts"]), *cells, *ratios, str(requests)])
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in rows:
        lines += [(("   * - " if index == 0 else "     - ") + cell).rstrip() for index, cell in enumerate(row)]
    return "\n".join(lines)


def plot(data: dict[str, Any], output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    for forks, dash in zip(sorted({result["forks"] for result in data["results"]}), ("-", "--", ":")):
        results = sorted((result for result in data["results"] if result["forks"] == forks), key=lambda result: result["hosts"])
        for arm, (label, colour) in STYLES.items():
            points = [(result["hosts"], result["arms"][arm]["median"] / result["hosts"] * 1000) for result in results if arm in result["arms"]]
            if points:
                axes.plot(*zip(*points), dash, marker="o", color=colour, label=f"{label}, forks {forks}")
        role = [result for result in results if "role" in result["arms"]]
        for result in role:
            axes.annotate(
                f"{result['arms']['role']['token_requests']} token req.",
                (result["hosts"], result["arms"]["role"]["median"] / result["hosts"] * 1000),
                textcoords="offset points", xytext=(4, 6), fontsize=7, color="tab:blue",
            )
    machine = data["machine"]
    axes.set_xscale("log")
    axes.set_xlabel("hosts (local connections, log scale)")
    axes.set_ylabel("wall time per host (ms)")
    axes.set_ylim(bottom=0)
    axes.set_title(f"Cost per host: {machine['cpus']}-core controller, ansible-core {machine['ansible_core']}", fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="lower left")
    figure.tight_layout()
    figure.savefig(output)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    data = json.loads(Path(sys.argv[1]).read_text())
    print(table(data))
    plot(data, Path(sys.argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
