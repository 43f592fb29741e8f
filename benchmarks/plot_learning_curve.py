"""Learning curve of a `reference.pong_pg` run, drawn from its CSV log.

    python -m benchmarks.plot_learning_curve docs/reference_pong/train_log.csv \\
        docs/reference_pong/learning_curve.png
"""

import argparse
import csv
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def read_log(path: Path) -> dict[str, np.ndarray]:
    """The CSV log as one float array per column (incomplete rows, e.g. a line being written, are skipped)."""
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        names = reader.fieldnames or []
        rows = [row for row in reader if all(row.get(name) not in (None, "") for name in names)]
    if not rows:
        return {}
    return {name: np.array([float(row[name]) for row in rows]) for name in names}


def plot_learning_curve(log_path: Path, png_path: Path) -> None:
    """Episode rewards as dots, the running reward as a line; episodes below, wall-clock minutes on
    top. The PNG is written atomically (temporary file, then `os.replace`)."""
    log = read_log(log_path)
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    if log:
        episodes, minutes = log["episode"], log["wall_seconds"] / 60.0
        ax.scatter(
            episodes, log["reward"], s=6, color="tab:blue", alpha=0.35, linewidths=0, label="episode reward"
        )
        ax.plot(
            episodes, log["running_reward"], color="tab:red", linewidth=2, label="running reward (0.99 EMA)"
        )
        if len(episodes) > 1 and minutes[-1] > minutes[0]:
            # Wall-clock minutes on top: ticks at round minutes, placed at the episode reached then.
            ticks = MaxNLocator(nbins=8).tick_values(minutes[0], minutes[-1])
            ticks = ticks[(ticks >= minutes[0]) & (ticks <= minutes[-1])]
            top = ax.twiny()
            top.set_xlim(ax.get_xlim())
            top.set_xticks(np.interp(ticks, minutes, episodes), labels=[f"{m:g}" for m in ticks])
            top.set_xlabel("wall-clock minutes")
        ax.set_title(
            f"REINFORCE on Pong: {int(episodes[-1])} episodes, {log['env_steps'][-1] / 1e6:.2f}M env steps, "
            f"{minutes[-1]:.1f} minutes; running reward {log['running_reward'][-1]:.2f}",
            fontsize=10,
        )
        ax.legend(loc="upper left")
    ax.axhline(-21, color="gray", linestyle=":", linewidth=1)
    ax.axhline(21, color="gray", linestyle=":", linewidth=1)
    ax.set_xlabel("episode")
    ax.set_ylabel("reward (points won - points lost)")
    ax.set_ylim(-22, 22)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = png_path.with_name(png_path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, png_path)


def main() -> None:
    """Command line: CSV in, PNG out."""
    parser = argparse.ArgumentParser(description="Plot the learning curve of a reference.pong_pg run.")
    parser.add_argument("log", type=Path, help="CSV log written by reference.pong_pg --log")
    parser.add_argument("png", type=Path, help="PNG file to write")
    args = parser.parse_args()
    plot_learning_curve(args.log, args.png)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
