#!/usr/bin/env python3
"""The chart of scripts/bench-stencils.sh: one PNG from one run's results CSV.

  scripts/bench-stencils-chart.py results-STAMP.csv [--note TEXT] -o chart-STAMP.png

One panel per rank count. For each kernel, two bars: the single-step rate and the rate with
temporal blocking, each as a multiple of the streaming bound (triad bandwidth / bytes per
update, measured in the same run), whiskers from the fastest to the slowest run, the rate in
Glups written on the bar; a diamond marks the plain C loop where there is one (heat's 5- and
7-point stencils), a green dash the kernel's single-step rate on a block in cache (1 rank:
the most temporal blocking can reach per core). The line at 1 is the streaming bound: no code that sweeps the whole block
once per step can pass it. Without matplotlib it prints a note and exits 0.
"""
import argparse
import csv
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("csv")
    p.add_argument("--note", default="")
    p.add_argument("-o", "--output", required=True)
    a = p.parse_args()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench-stencils-chart: matplotlib is not installed: no chart", file=sys.stderr)
        return 0
    with open(a.csv) as f:
        rows = list(csv.DictReader(f))
    ranks = sorted({int(r["ranks"]) for r in rows})
    kernels = list(dict.fromkeys(r["kernel"] for r in rows))
    fig, axes = plt.subplots(1, len(ranks), figsize=(7 * len(ranks), 5.5), sharey=True, squeeze=False)
    top = 1.0
    for ax, n in zip(axes[0], ranks):
        mine = {r["kernel"]: r for r in rows if int(r["ranks"]) == n}
        for i, k in enumerate(kernels):
            r = mine.get(k)
            if r is None:
                continue
            bound = float(r["bound_glups"])
            for dx, mode, colour in ((-0.2, "single", "#8da0cb"), (0.2, "blocked", "#fc8d62")):
                g, lo, hi = (float(r[f"{mode}_{x}"]) for x in ("glups", "min", "max"))
                y = g / bound
                top = max(top, hi / bound)
                ax.bar(i + dx, y, 0.38, color=colour, label=mode if i == 0 else None)
                ax.errorbar([i + dx], [y], yerr=[[y - lo / bound], [hi / bound - y]], color="k", capsize=2, lw=0.8)
                ax.text(i + dx, hi / bound + 0.03, f"{g:.2f}", ha="center", va="bottom", fontsize=7, rotation=90)
            if r.get("incache_glups"):
                kc = float(r["incache_glups"]) / bound
                top = max(top, kc)
                ax.plot([i], [kc], marker="_", color="#1b9e77", ms=22, mew=2.5, ls="none")
            if r.get("c_loop_glups"):
                c = float(r["c_loop_glups"]) / bound
                top = max(top, c)
                ax.plot([i - 0.2], [c], marker="D", color="k", ms=6, ls="none", label="C loop" if k == "heat-5pt" else None)
        ax.axhline(1.0, color="k", lw=1, ls="--")
        ax.text(len(kernels) - 0.5, 1.01, "streaming bound", ha="right", va="bottom", fontsize=8)
        ax.set_xticks(range(len(kernels)))
        ax.set_xticklabels(kernels, rotation=45, ha="right", fontsize=8)
        ax.set_title(f"{n} rank{'s' if n > 1 else ''} ({float(mine[kernels[0]]['triad_gbs']):.1f} GB/s triad)" if kernels[0] in mine else f"{n} ranks")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("rate / streaming bound  (Glups on the bars)")
    axes[0][0].set_ylim(0, top * 1.25)
    time_block = rows[0].get("time_block", "?")
    axes[0][0].legend(
        [plt.Rectangle((0, 0), 1, 1, color="#8da0cb"), plt.Rectangle((0, 0), 1, 1, color="#fc8d62"),
         plt.Line2D([], [], marker="D", color="k", ls="none"),
         plt.Line2D([], [], marker="_", color="#1b9e77", ms=12, mew=2.5, ls="none")],
        ["single step", f"--time-block {time_block}", "C loop (-O3 -march=native)",
         "in cache (single step, 1 rank, block in L2)"], loc="upper left", fontsize=8)
    fig.suptitle("tessera stencil kernels against the streaming bound")
    if a.note:
        fig.text(0.01, 0.01, a.note, fontsize=7, color="0.4")
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    fig.savefig(a.output, dpi=120)
    print(f"chart: {a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
