"""What one shop's own price tags look like, learned from its confirmed decisions only.

:class:`ShopProfile` / :func:`learn_profile`: recurring words (shop name, "PRIX"…),
SKU/code shapes ("AA-99999"), code formats, paper colours, and words that recur on
photos people confirmed are NOT tags (a brand's hang tag, care labels), grouped in
style clusters. Learned from CONFIRMED decisions only (people's overrides / app
decisions, and photos whose score cleared a high bar); never from the detector's own
doubtful guesses. :func:`shop_match` and the profile features measure a photo against it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np

from product_images.labels.evidence import Evidence, has_strong_code, shape_of

__all__ = ["ShopProfile", "StyleCluster", "learn_profile", "shop_match", "profile_features"]


_TOKEN = re.compile(r"[A-Z0-9][A-Z0-9-]*[A-Z0-9]|[A-Z0-9]")


def _tokens(ev: Evidence) -> list[str]:
    toks: list[str] = []
    for ln in ev.lines:
        if ln.conf >= 0.5:
            toks += _TOKEN.findall(ln.text.upper())
    return toks


def _words(ev: Evidence) -> set[str]:
    """Alphabetic OCR tokens of 3+ letters (shop names, "PRIX", brands…)."""
    return {t for t in _tokens(ev) if t.isalpha() and len(t) >= 3}


def _shapes(ev: Evidence) -> set[str]:
    """Shapes of SKU-like OCR tokens and of decoded payloads (digits→9, letters→A)."""
    out = {
        shape_of(t)
        for t in _tokens(ev)
        if any(c.isdigit() for c in t) and any(c.isalpha() for c in t) and 4 <= len(t) <= 16
    }
    for c in ev.codes:
        out.add(c.format + ":" + shape_of(c.text)[:24])
    return out


# --------------------------------------------------------------------------- profile


@dataclass
class StyleCluster:
    """One of a shop's tag styles, learned from its confirmed tags.

    Fields:
        n: confirmed tags in the cluster.
        kind: "code" (Code 128/QR/EAN decoded on most), "text" (price text, no code).
        paper: median paper colour (RGB).
        papers: up to 16 paper colours seen.
        words: word → share of the cluster's tags holding it (>= 0.3, rare on non-tags).
        shapes: SKU/payload shape → share (>= 0.2).
    """

    n: int = 0
    kind: str = "text"
    paper: tuple[int, int, int] = (0, 0, 0)
    papers: list[tuple[int, int, int]] = field(default_factory=list)
    words: dict[str, float] = field(default_factory=dict)
    shapes: dict[str, float] = field(default_factory=dict)


@dataclass
class ShopProfile:
    """What one tenant's own tags look like, learned from confirmed decisions.

    Fields:
        tenant: the tenant (schema) name.
        n_tags, n_non_tags: confirmed tag / non-tag photos it was learned from.
        words: word → share (0–1) of confirmed tags holding it (kept when >= 0.3 and
            rare on confirmed non-tags), over all the shop's styles.
        neg_words: word → share of confirmed non-tag photos with text holding it (kept
            when >= 0.1 there, on 2+ photos, and never on a confirmed tag).
        shapes: SKU/payload shape → share of confirmed tags (kept when >= 0.2).
        papers: up to 64 paper colours (RGB) of confirmed tags.
        clusters: one :class:`StyleCluster` per tag style (a shop may use two or more);
            match features take the best-matching cluster, so a second style missing
            from the profile never counts against a photo.
    """

    tenant: str
    n_tags: int = 0
    n_non_tags: int = 0
    words: dict[str, float] = field(default_factory=dict)
    neg_words: dict[str, float] = field(default_factory=dict)
    shapes: dict[str, float] = field(default_factory=dict)
    papers: list[tuple[int, int, int]] = field(default_factory=list)
    clusters: list[StyleCluster] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """True once at least 3 confirmed tags back it."""
        return self.n_tags >= 3

    def to_json(self) -> dict:
        """A JSON-ready dict (round-trips through :meth:`from_json`)."""
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> ShopProfile:
        """Rebuild a profile from :meth:`to_json` output (older JSON without clusters works)."""
        d = dict(d)
        d["papers"] = [tuple(p) for p in d.get("papers", [])]
        cl = []
        for c in d.get("clusters", []):
            c = dict(c)
            c["paper"] = tuple(c.get("paper", (0, 0, 0)))
            c["papers"] = [tuple(p) for p in c.get("papers", [])]
            cl.append(StyleCluster(**c))
        d["clusters"] = cl
        return cls(**d)


def _strong(ev: Evidence) -> bool:
    return has_strong_code(ev.codes)


def _rgb(values: Iterable[float] | np.ndarray) -> tuple[int, int, int]:
    """An RGB triple of whole numbers from a colour stored as floats or numpy numbers."""
    red, green, blue = (int(value) for value in values)
    return red, green, blue


def _cluster_tags(tags: list[Evidence]) -> list[list[Evidence]]:
    """Group confirmed tags into styles: by code/no code, then greedily by paper colour (distance < 45)."""
    groups: list[tuple[str, list[float], list[Evidence]]] = []
    for e in tags:
        kind = "code" if (e.codes or e.cues.get("code128") or e.cues.get("qr")) else "text"
        col = [float(v) for v in e.paper_rgb]
        best, bd = None, 45.0
        for g in groups:
            d = math.dist(col, g[1])
            if d < bd and (g[0] == kind or e.region is None):
                best, bd = g, d
        if best is None:
            groups.append((kind, col, [e]))
        else:
            best[2].append(e)
            n = len(best[2])
            best[1][:] = [(m * (n - 1) + c) / n for m, c in zip(best[1], col, strict=False)]
    # a code style's tags whose code was not read fall in "text": merge tiny groups into the nearest colour
    big = [g for g in groups if len(g[2]) >= 2] or groups
    out: list[list[Evidence]] = [list(g[2]) for g in big]
    for g in groups:
        if g in big:
            continue
        j = min(range(len(big)), key=lambda i: math.dist(g[1], big[i][1]))
        out[j] += g[2]
    return out


def learn_profile(tenant: str, confirmed: Iterable[tuple[Evidence, bool]]) -> ShopProfile:
    """Learn a tenant's profile from CONFIRMED photos: (evidence, is_internal_tag).

    Feed only photos whose status a person set (override/app) or whose score cleared
    the high bar (and the other photos of such a product, as confirmed non-tags);
    never the detector's own doubtful guesses.

    Returns:
        A :class:`ShopProfile` (``usable`` is False with fewer than 3 confirmed tags).
    """
    confirmed = list(confirmed)
    tags = [e for e, is_tag in confirmed if is_tag]
    non = [e for e, is_tag in confirmed if not is_tag and e.lines]
    p = ShopProfile(tenant, len(tags), len(non))
    if not tags:
        return p
    nc = Counter(w for e in non for w in _words(e))
    n_n = max(1, len(non))

    def words_of(group: list[Evidence]) -> dict[str, float]:
        wc = Counter(w for e in group for w in _words(e))
        return {w: round(c / len(group), 3) for w, c in wc.items() if c / len(group) >= 0.3 and nc[w] / n_n < 0.05}

    def shapes_of(group: list[Evidence]) -> dict[str, float]:
        sc = Counter(x for e in group for x in _shapes(e))
        return {x: round(c / len(group), 3) for x, c in sc.items() if c / len(group) >= 0.2}

    p.words = words_of(tags)
    wc_all = Counter(w for e in tags for w in _words(e))
    p.neg_words = {
        w: round(c / n_n, 3) for w, c in nc.items() if len(non) >= 3 and c >= 2 and wc_all[w] == 0 and c / n_n >= 0.1
    }
    p.shapes = shapes_of(tags)
    p.papers = [_rgb(e.paper_rgb) for e in tags if e.region is not None][:64]
    for g in _cluster_tags([e for e in tags if e.region is not None] or tags):
        cols = np.array([e.paper_rgb for e in g], dtype=np.float64)
        p.clusters.append(
            StyleCluster(
                n=len(g),
                kind="code" if sum(bool(e.codes) for e in g) * 2 >= len(g) else "text",
                paper=_rgb(np.median(cols, axis=0)),
                papers=[_rgb(e.paper_rgb) for e in g][:16],
                words=words_of(g),
                shapes=shapes_of(g),
            )
        )
    return p


def shop_match(ev: Evidence, prof: ShopProfile | None) -> float:
    """How much the photo looks like one of the shop's confirmed tag styles, on what is the
    shop's own (0–1): the best style cluster's paper colour × its words or SKU/code shapes.

    Unlike the model's ``prof_match`` feature, a price alone does not count: a white care
    label with a number is no match for a shop whose tags are white and priced. 0 without a
    usable profile.
    """
    if prof is None or not prof.usable:
        return 0.0
    words = _words(ev)
    shapes = _shapes(ev)
    best = 0.0
    for cl in prof.clusters or [
        StyleCluster(n=prof.n_tags, papers=list(prof.papers), words=prof.words, shapes=prof.shapes)
    ]:
        specific = max(
            max((cl.words.get(x, 0.0) for x in words), default=0.0),
            max((cl.shapes.get(x, 0.0) for x in shapes), default=0.0),
        )
        colour = 0.0
        if ev.region is not None and cl.papers:
            colour = math.exp(-min(math.dist(ev.paper_rgb, pp) for pp in cl.papers) / 25.0)
        best = max(best, colour * specific)
    return best


def profile_features(ev: Evidence, prof: ShopProfile | None) -> tuple[float, float, float, float, float]:
    """(words, shape, colour, match, neg_words) profile-match features, all in [0, 1].

    Each style cluster is matched on its own and the best cluster wins, so a shop's
    second style never lowers a photo's match. All 0 at cold start (no usable profile).
    """
    if prof is None or not prof.usable:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    words = _words(ev)
    shapes = _shapes(ev)
    price = max(
        ev.cues.get("price_dec", 0.0),
        ev.cues.get("price_int", 0.0),
        ev.cues.get("price_sign", 0.0),
        ev.cues.get("field_price", 0.0),
    )
    clusters = prof.clusters or [
        StyleCluster(n=prof.n_tags, papers=list(prof.papers), words=prof.words, shapes=prof.shapes)
    ]
    bw = bs = bc = bm = 0.0
    for cl in clusters:
        w = max((cl.words.get(x, 0.0) for x in words), default=0.0)
        sh = max((cl.shapes.get(x, 0.0) for x in shapes), default=0.0)
        col = 0.0
        if ev.region is not None and cl.papers:
            d = min(math.dist(ev.paper_rgb, pp) for pp in cl.papers)
            col = math.exp(-d / 25.0)
        m = col * max(w, sh, price)
        bw, bs, bc, bm = max(bw, w), max(bs, sh), max(bc, col), max(bm, m)
    neg = 1.0 if any(x in prof.neg_words for x in words) else 0.0
    return bw, bs, bc, bm, neg
