"""What a photo's stored evidence says, in a few short lines for the review page."""

from __future__ import annotations

import json
from typing import Any

from product_images.labels.abstention import REASONS

__all__ = ["evidence_lines"]


# The detector's cues worth a reviewer's eye, in this order, with how to say them (labels/evidence/cues.py).
_CUE_WORDS = {
    "price_dec": "a price with cents",
    "price_int": "a whole-euro price",
    "price_word": "PRIX / price",
    "price_sign": "a currency sign",
    "euro_whole": "a whole-euro price with €",
    "euro_dec": "a price with cents and €",
    "euro_first": "a retail € price",
    "sku": "a SKU",
    "ref": "REF",
    "code128": "Code 128",
    "qr": "QR code",
    "qr_instore": "a stock number in the QR code",
    "ean13": "EAN-13",
    "ean_retail": "a retail EAN",
    "care": "care-label words",
    "size": "a size",
    "degree": "a washing temperature",
}


def _cut(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _detector_evidence_lines(evidence: dict[str, Any]) -> list[str]:
    """What the detector saw, for a person: the text read, the codes decoded, the cues that fired, the paper."""
    lines = []
    read = [
        str(line.get("text", ""))
        for line in [*(evidence.get("lines") or []), *(evidence.get("glyph_lines") or [])]
        if isinstance(line, dict)
    ]
    if read:
        lines.append("text read: " + _cut(" · ".join(read)))
    elif evidence.get("ocr_ran"):
        lines.append("text read: none")
    second = " | ".join(str(text) for text in (evidence.get("second_read"), evidence.get("glyph_second_read")) if text)
    if second:
        lines.append("second read: " + _cut(second.replace(" | ", " · ")))
    codes = [code for code in evidence.get("codes") or [] if isinstance(code, dict)]
    if codes:
        lines.append("codes: " + _cut(", ".join(f"{code.get('format')} {code.get('text')}" for code in codes)))
    cues = evidence.get("cues") or {}
    fired = [words for cue, words in _CUE_WORDS.items() if float(cues.get(cue) or 0) >= 0.5]
    if fired:
        lines.append("cues: " + ", ".join(fired))
    if float(evidence.get("kraft") or 0) >= 0.5:
        lines.append("paper: kraft card")
    if not lines:
        lines.append("nothing tag-like seen")
    assessment = evidence.get("assessment")
    if isinstance(assessment, dict) and assessment.get("abstain"):
        reason = str(assessment["abstain"])
        said = REASONS.get(reason, reason)
        lines.insert(0, f"detector: {said} (model score {float(assessment.get('model_score') or 0):.2f})")
    return lines


def evidence_lines(evidence: Any, limit: int = 6) -> list[str]:
    """Short lines of a photo's ``label_evidence`` (JSON text or its parsed value) for the review page.

    The detector's evidence (a dict with ``cues`` and ``codes``) reads as sentences (the text
    read, the codes decoded, the cues that fired, why the detector did not decide); any other
    JSON as ``key: value`` lines, at most ``limit`` of them, each cut at 80 characters.
    """
    if evidence is None:
        return []
    if isinstance(evidence, str):
        try:
            evidence = json.loads(evidence)
        except ValueError:
            return [evidence[:80]]
    if isinstance(evidence, dict) and "cues" in evidence and "codes" in evidence:
        return _detector_evidence_lines(evidence)
    if isinstance(evidence, dict):
        items = list(evidence.items())
    elif isinstance(evidence, list):
        items = [(str(number), value) for number, value in enumerate(evidence)]
    else:
        return [json.dumps(evidence)[:80]]
    lines = []
    for key, value in items[:limit]:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{key}: {text if len(text) <= 80 else text[:79] + '…'}")
    if len(items) > limit:
        lines.append(f"… {len(items) - limit} more")
    return lines
