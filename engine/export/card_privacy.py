"""The model card's "Privacy" section: the guarantee a differentially private training gave
(from the run folder's privacy.json, see engine.train.privacy_record) and what it covers.
A run trained without privacy has no section."""

from __future__ import annotations

from engine.export.common import Source


def section(src: Source) -> list[str]:
    from engine.train.privacy_record import ACCOUNTANTS, COVERS, read_privacy

    r = read_privacy(src.origin)
    if r is None:
        return []
    accountant = ACCOUNTANTS.get(str(r.get("accountant")), str(r.get("accountant")))
    batch = r.get("expected_batch_size")
    return ["", "## Privacy", "",
            f"Trained with differential privacy (DP-SGD, Opacus): ({r['epsilon']:.3f}, "
            f"{r['delta']:.2g})-differentially private with respect to each training example.",
            "",
            f"- Epsilon spent: {r['epsilon']:.3f} (target {r['target']:g})",
            f"- Delta: {r['delta']:.3g}",
            f"- Clipping norm (per example): {r['max_grad_norm']:g}",
            f"- Noise multiplier: {r['noise']:.4g}",
            f"- Epochs: {r['epochs']}" + (f" ({r['steps']} steps)" if r.get("steps") else ""),
            f"- Sample rate: {r['sample_rate']:.4g} (Poisson sampling"
            + (f", about {batch} examples a batch)" if batch else ")"),
            f"- Accountant: {accountant}",
            "", COVERS]
