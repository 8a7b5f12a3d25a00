"""The int8 section of the model card: how the model was quantized, the fp32/int8
comparison, the blocks flagged before quantizing and the per-block sensitivity, from an
int8 export's ``report.details``."""

from __future__ import annotations

from engine.deploy.calibration import SENSITIVITY_SAMPLES
from engine.deploy.measure import LATENCY_RUNS
from engine.export.card import md_text

#: the int8 metric may fall this much below fp32's before the report warns (1 point)
METRIC_TOLERANCE = 0.01

METRIC_TITLES = {"accuracy": "accuracy", "r2": "R²", "miou": "mean IoU"}


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.2f} MiB"


def _ms(v: float) -> str:
    return f"{v:.3g} ms"


def card_lines(report, calibration: int, evalset) -> list[str]:
    """Markdown lines (a "## Int8 quantization" section) for ``report.details``."""
    details = report.details
    fp32, int8 = details["comparison"]
    title = METRIC_TITLES.get(fp32["metric"], fp32["metric"])
    lines = [
        "", "## Int8 quantization", "",
        "Quantized with ONNX Runtime's static quantization: QOperator format (integer "
        "kernels such as QLinearConv and QGemm, so the file runs in ONNX Runtime), weights "
        "int8 per output channel using 7 of their 8 bits (so that CPUs without VNNI do not "
        "saturate), activations uint8 with ranges calibrated (min/max) on "
        f"{calibration} samples of the training split, prepared as in training. The "
        "preprocessing metadata is the fp32 model's; `layerforge.quantization` (JSON) "
        "records these settings.",
        "", "### fp32 and int8", "",
        f"| model | file size | {title} ({len(evalset)} {evalset.split} samples) "
        f"| latency, batch 1 | latency, batch 32 |",
        "|---|---|---|---|---|",
        f"| fp32 | {_size(fp32['bytes'])} | {fp32['value']:.4f} | "
        f"{_ms(fp32['latency_ms_b1'])} | {_ms(fp32['latency_ms_b32'])} |",
        f"| int8 | {_size(int8['bytes'])} ({fp32['bytes'] / int8['bytes']:.2f}x smaller) | "
        f"{int8['value']:.4f} ({_points(int8['value'] - fp32['value'])}) | "
        f"{_ms(int8['latency_ms_b1'])} | {_ms(int8['latency_ms_b32'])} |",
        "",
        f"Latency: the median of {LATENCY_RUNS} runs of ONNX Runtime on the CPU with one "
        "intra-op thread, measured at export on the exporting machine."
        + (" Here int8 is slower: on a model this small, converting the activations to and "
           "from 8 bits costs more than the integer arithmetic saves."
           if int8["latency_ms_b32"] > fp32["latency_ms_b32"] else "")
        + " The fp32 size is the `--format onnx` file's.",
        "", "### Blocks flagged before quantizing", "",
    ]
    flags = details["flags"]
    if flags:
        lines += ["| block | ops | flag |", "|---|---|---|"]
        lines += [f"| {md_text(f['block'])} | {md_text(', '.join(f['ops']))} | "
                  f"{md_text(f['reason'], 400)} |" for f in flags]
    else:
        lines.append("None: every block has an int8 kernel and no calibrated range is "
                     "dominated by outliers.")
    lines += ["", "### Per-block sensitivity", ""]
    rows = details["sensitivity"]
    if rows:
        n = min(len(evalset), SENSITIVITY_SAMPLES)
        lines += [f"The {title} on the first {n} {evalset.split} samples with only that block "
                  "quantized, and its change from fp32: the blocks to keep in float if the "
                  "int8 model loses too much.", "",
                  f"| block | {title} | change |", "|---|---|---|"]
        lines += [f"| {md_text(r['block'])} | {r['value']:.4f} | {_points(r['delta'])} |"
                  for r in rows]
    else:
        lines.append("No block computes in int8 on its own (nothing to measure).")
    return lines


def summarise(report, fp32_report, evalset, count: int) -> None:
    """The report's messages and warnings: sizes, metric, latency, blocks left in float."""
    fp32, int8 = report.details["comparison"]
    name = fp32["metric"]
    diffs = ", ".join(f"{k}: {v:.2g}" for k, v in fp32_report.max_abs_diff.items())
    report.checks.append(f"the float32 model matched PyTorch before quantizing ({diffs})")
    report.checks.append("the int8 model passes onnx.checker and runs in ONNX Runtime")
    report.messages.append(
        f"int8: {int8['bytes']:,} bytes, {fp32['bytes'] / int8['bytes']:.2f}x smaller than "
        f"fp32 ({fp32['bytes']:,}); {name} {int8['value']:.4f} (fp32 {fp32['value']:.4f}) on "
        f"{len(evalset)} {evalset.split} samples; calibrated on {count} training samples")
    report.messages.append(
        f"median latency, 1 CPU thread: batch 1 {fp32['latency_ms_b1']:.3g} ms fp32, "
        f"{int8['latency_ms_b1']:.3g} ms int8; batch 32 {fp32['latency_ms_b32']:.3g} ms fp32, "
        f"{int8['latency_ms_b32']:.3g} ms int8")
    errors = [f for f in report.details["flags"] if f["severity"] == "error"]
    if errors:
        report.messages.append("blocks left in float32: " + ", ".join(
            dict.fromkeys(f["block"] for f in errors)))
    report.messages += [f"verified: {c}" for c in report.checks]
    if fp32["value"] - int8["value"] > METRIC_TOLERANCE:
        report.warnings.append(
            f"the int8 model's {name} is {100 * (fp32['value'] - int8['value']):.1f} points "
            f"below fp32's ({int8['value']:.4f} against {fp32['value']:.4f}); the "
            "sensitivity table in README.md shows which blocks cost most")
    report.warnings += fp32_report.warnings


def _points(delta: float) -> str:
    """A change of a 0-1 metric in points (0.01 = 1 point)."""
    return f"{100 * delta:+.2f} points"
