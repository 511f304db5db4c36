#!/usr/bin/env python3
"""The chart of scripts/bench-dense.sh: one PNG from one run's CSVs (runs/bench-dense/).

  scripts/bench-dense-chart.py --gemm results-STAMP.csv [--gemm-raw raw-STAMP.csv] \
      --tsqr results-tsqr-STAMP.csv [--tsqr-raw raw-tsqr-STAMP.csv] [--note TEXT] -o chart-STAMP.png

Left panel (with --gemm): GEMM GFLOP/s medians per rank count for tessera, pdgemm and dgemm
(threads = ranks), the ratio tessera / pdgemm above tessera's bar. Right panel (with --tsqr):
QR seconds medians per rank count, each bar the factor time with the time to form Q stacked
on it (hatched): tessera TSQR, tessera CholeskyQR2 (forms Q as it factors: one bar),
ScaLAPACK pdgeqrf + pdorgqr at its column block fastest with Q, LAPACK dgeqrf + dorgqr on
one core (the same at every rank count); the speed-up pdgeqrf / tsqr (with Q) above TSQR's
bar. Either panel alone when only one part ran. With the raw CSVs, whiskers span the
fastest to the slowest run (of the whole time where Q is stacked). Without matplotlib it
prints a note and exits 0.
"""
import argparse
import csv
import sys


def read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def spread(raw, key, value):
    """{(code, ranks): (min, max)} of column value over the runs in a raw CSV"""
    out = {}
    for r in raw:
        k = (r["code"], int(r["ranks"]))
        v = float(r[value])
        lo, hi = out.get(k, (v, v))
        out[k] = (min(lo, v), max(hi, v))
    return out


def whisker(ax, x, y, rng):
    if rng is not None:
        ax.errorbar([x], [y], yerr=[[max(y - rng[0], 0)], [max(rng[1] - y, 0)]],
                    fmt="none", ecolor="black", elinewidth=0.8, capsize=2.5)


def ranks_label(p):
    return f"{p} rank{'s' if p > 1 else ''}"


def gemm_panel(ax, res, raw):
    rng = spread(raw, "code", "gflops") if raw else {}
    ranks = [int(r["ranks"]) for r in res]
    size, reps = res[0]["size"], res[0]["reps"]
    bars = [("tessera", "tessera_gflops", "tessera dense gemm (SUMMA)", "tab:blue"),
            ("pdgemm", "pdgemm_gflops", "ScaLAPACK pdgemm (block 128)", "tab:orange"),
            ("dgemm", "dgemm_gflops", "OpenBLAS dgemm, threads = ranks", "tab:gray")]
    width = 0.26
    top = 0.0
    for k, (code, col, label, color) in enumerate(bars):
        xs = [i + (k - 1) * width for i in range(len(res))]
        ys = [float(r[col]) for r in res]
        ax.bar(xs, ys, width, label=label, color=color)
        for x, y, p in zip(xs, ys, ranks):
            r = rng.get((code, p))
            whisker(ax, x, y, r)
            top = max(top, y, r[1] if r else y)
    for i, r in enumerate(res):
        y = float(r["tessera_gflops"])
        hi = rng.get(("tessera", ranks[i]), (y, y))[1]
        ax.annotate(f"{float(r['ratio_pdgemm']):.2f}x\npdgemm", (i - width, max(y, hi)),
                    xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                    fontsize=8, fontweight="bold")
    ax.set_xticks(range(len(res)), [ranks_label(p) for p in ranks])
    ax.set_xlabel("MPI ranks (dgemm: OpenBLAS threads)")
    ax.set_ylabel("GFLOP/s (2 N³ flops / s; higher is better)")
    ax.set_title(f"GEMM C = A B, N = {size}: medians of {reps} runs")
    ax.set_ylim(0, 1.2 * top)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.text(0.01, 0.99, "bold: tessera / pdgemm", transform=ax.transAxes, ha="left", va="top", fontsize=8)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)


def tsqr_panel(ax, res, raw):
    import matplotlib.patches as mpatches

    rng = spread(raw, "code", "total_seconds") if raw else {}
    ranks = [int(r["ranks"]) for r in res]
    m, n, reps = res[0]["rows"], res[0]["cols"], res[0]["reps"]
    # (label, colour, factor column, total column or None, raw code (ranks -> code) or None)
    bars = [("tessera TSQR", "tab:blue", "tsqr_factor_s", "tsqr_total_s",
             lambda r: ("tessera-tsqr", int(r["ranks"]))),
            ("tessera CholeskyQR2 (Q formed as it factors)", "tab:cyan", "cholqr2_total_s", None,
             lambda r: ("tessera-cholqr2", int(r["ranks"]))),
            ("ScaLAPACK pdgeqrf + pdorgqr, NB fastest with Q", "tab:orange", "pdgeqrf_factor_s",
             "pdgeqrf_total_s", lambda r: (f"pdgeqrf-nb{r['pdgeqrf_best_nb']}", int(r["ranks"]))),
            ("LAPACK dgeqrf + dorgqr, 1 core (at every rank count)", "tab:gray",
             "dgeqrf_1core_factor_s", "dgeqrf_1core_total_s", lambda r: ("dgeqrf", 1))]
    width = 0.2
    top = 0.0
    for k, (label, color, fcol, tcol, code) in enumerate(bars):
        xs = [i + (k - 1.5) * width for i in range(len(res))]
        fs = [float(r[fcol]) for r in res]
        ts = [float(r[tcol]) if tcol else f for r, f in zip(res, fs)]
        ax.bar(xs, fs, width, label=label, color=color, edgecolor="white", linewidth=0.5)
        if tcol:
            ax.bar(xs, [t - f for t, f in zip(ts, fs)], width, bottom=fs, color=color, alpha=0.45,
                   hatch="///", edgecolor="white", linewidth=0.5)
        for x, t, r in zip(xs, ts, res):
            rg = rng.get(code(r))
            whisker(ax, x, t, rg)
            top = max(top, t, rg[1] if rg else t)
            if k == 2:  # pdgeqrf's column block
                ax.annotate(f"NB {r['pdgeqrf_best_nb']}", (x, max(t, rg[1] if rg else t)), xytext=(0, 2),
                            textcoords="offset points", ha="center", va="bottom", fontsize=7)
    for i, r in enumerate(res):
        t = float(r["tsqr_total_s"])
        hi = rng.get(("tessera-tsqr", ranks[i]), (t, t))[1]
        ax.annotate(f"{float(r['speedup_over_pdgeqrf']):.2f}x\nvs pdgeqrf", (i - 1.5 * width, max(t, hi)),
                    xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                    fontsize=8, fontweight="bold")
    ax.set_xticks(range(len(res)), [ranks_label(p) for p in ranks])
    ax.set_xlabel("MPI ranks (one BLAS thread each)")
    ax.set_ylabel("seconds (lower is better)")
    ax.set_title(f"QR of A {int(m):,} x {n} (factor, then explicit Q): medians of {reps} runs")
    ax.set_ylim(0, 1.15 * top)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(mpatches.Patch(facecolor="darkgray", alpha=0.45, hatch="///", edgecolor="white",
                                  label="stacked, hatched: forming the explicit Q"))
    labels.append("stacked, hatched: forming the explicit Q")
    ax.legend(handles, labels, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2,
              frameon=False)
    ax.text(0.01, 0.99, "bold: speed-up pdgeqrf / tsqr (with Q), NB fastest with Q", transform=ax.transAxes,
            ha="left", va="top", fontsize=8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gemm", help="results-STAMP.csv (GEMM medians)")
    ap.add_argument("--gemm-raw", help="raw-STAMP.csv (GEMM runs, for the whiskers)")
    ap.add_argument("--tsqr", help="results-tsqr-STAMP.csv (QR medians)")
    ap.add_argument("--tsqr-raw", help="raw-tsqr-STAMP.csv (QR runs, for the whiskers)")
    ap.add_argument("--note", default="", help="a line under the title (the machine)")
    ap.add_argument("-o", "--out", required=True, help="the PNG to write")
    a = ap.parse_args()
    if not (a.gemm or a.tsqr):
        ap.error("nothing to draw: give --gemm and/or --tsqr")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench-dense: no matplotlib: no chart", file=sys.stderr)
        return
    panels = []
    if a.gemm:
        panels.append((gemm_panel, read(a.gemm), read(a.gemm_raw) if a.gemm_raw else None))
    if a.tsqr:
        panels.append((tsqr_panel, read(a.tsqr), read(a.tsqr_raw) if a.tsqr_raw else None))
    fig, axes = plt.subplots(1, len(panels), figsize=(7.2 * len(panels), 5.6), squeeze=False)
    for ax, (draw, res, raw) in zip(axes[0], panels):
        draw(ax, res, raw)
    title = "tessera vs ScaLAPACK / OpenBLAS (scripts/bench-dense.sh)"
    fig.suptitle(title + (f"\n{a.note}" if a.note else ""), fontsize=11)
    if any(raw for _, _, raw in panels):
        fig.text(0.995, 0.005, "whiskers: fastest to slowest run", ha="right", va="bottom",
                 fontsize=7, color="dimgray")
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"chart: {a.out}")


if __name__ == "__main__":
    main()
