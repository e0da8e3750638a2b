"""Claims: the numbers an author writes, parsed and compared at the precision written."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Protocol

from cnn_cost.errors import CnnCostError, closest, suggest
from cnn_cost.vocabulary import COUNTER_BYTES, COUNTER_DETAILS, COUNTER_NAMES

COUNTER_METRICS = (*COUNTER_NAMES, *COUNTER_DETAILS)  # need `as:` in the block (the detail's library)
TOTAL_METRICS = ("params", "trainable", "buffers", "memory", "macs", "flops", "output", "activations",
                 *COUNTER_METRICS)
LAYER_METRICS = ("params", "macs", "flops", "output", "activations", *COUNTER_METRICS)
SI = {"": 1, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
MEMORY_UNITS = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}
_SEP = ",_\u2009\u202f\u00a0 "
# ASCII digits; thousands separators between groups of three (`545,098`, `545_098`, `545 098`)
_NUMBER = r"(?P<num>[0-9]+(?:[,_\u2009\u202f\u00a0 ][0-9]{3})*(?:\.[0-9]+)?|\.[0-9]+)"
_COUNT_RE = re.compile(rf"^(?P<approx>[~≈])?\s*{_NUMBER}\s*(?P<suffix>[KkMGT]?)$")
_MEMORY_RE = re.compile(rf"^(?P<approx>[~≈])?\s*{_NUMBER}\s*(?P<unit>[KMGT]i?B|B)$")
_SHAPE_RE = re.compile(r"^\[\s*[0-9]+(\s*,\s*[0-9]+)*\s*,?\s*\]$|^[0-9]+(\s*[x×]\s*[0-9]+)*$")


def format_int(n: int) -> str:
    """545098 -> '545,098'."""
    return f"{n:,}"


def format_shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def metric_kind(metric: str) -> str:
    if metric == "output":
        return "shape"
    if metric in ("memory", "activations") or metric in COUNTER_BYTES:
        return "memory"
    return "count"


def split_path(path: str) -> tuple[str | None, str]:
    """`params` -> (None, 'params'); `3.1.params` -> ('3.1', 'params'). Raises on bad paths."""
    if path in TOTAL_METRICS:
        return None, path
    layer, dot, metric = path.rpartition(".")
    if not dot or not layer:
        raise CnnCostError(
            f"unknown claim {path!r}; use one of {', '.join(TOTAL_METRICS)} "
            f"or <layer>.<{'|'.join(LAYER_METRICS)}>"
        )
    if metric not in LAYER_METRICS:
        raise CnnCostError(
            f"unknown per-layer metric {metric!r} in {path!r}; use one of {', '.join(LAYER_METRICS)}"
        )
    return layer, metric


@dataclass(frozen=True)
class Claim:
    """A claimed value for one path, with the interval it accepts."""

    path: str
    raw: str
    line: int | None
    kind: str  # "count", "memory", "shape" or "ratio"
    low: Fraction = Fraction(0)
    high: Fraction = Fraction(0)
    shape: tuple[int, ...] | None = None
    unit: str = ""
    scale: int = 1
    decimals: int = 0
    exact: bool = True
    problem: str = ""  # kind "unknown": why the path names no value (`check` says it, with a suggestion)

    def holds(self, computed: int | Fraction | tuple[int, ...]) -> bool:
        if self.kind == "unknown":
            return False
        if self.kind == "shape":
            return tuple(computed) == self.shape  # type: ignore[arg-type]
        value = Fraction(computed)  # type: ignore[arg-type]
        return self.low <= value <= self.high

    def rounded(self, computed: int | Fraction) -> str:
        """The computed value written at this claim's precision and unit."""
        value = Fraction(computed) / self.scale
        text = f"{float(value):,.{self.decimals}f}" if self.decimals else f"{round(value):,}"
        if self.kind == "memory":
            return f"{text} {self.unit}"
        return text + self.unit

    def mismatch(self, computed: int | Fraction | tuple[int, ...]) -> str | None:
        """None when the claim holds, else `path: expected X, computed Y`."""
        if self.kind == "unknown":
            return self.problem
        if self.holds(computed):
            return None
        if self.kind == "shape":
            return f"{self.path}: expected {format_shape(self.shape or ())}, computed {format_shape(tuple(computed))}"  # type: ignore[arg-type]
        if self.kind == "ratio":
            return f"{self.path}: expected {self.raw}, computed {float(Fraction(computed)):.4g}"  # type: ignore[arg-type]
        if isinstance(computed, Fraction) and computed.denominator != 1:
            shown = f"{float(computed):,.4f}"
        else:
            shown = format_int(int(computed))  # type: ignore[arg-type]
        if self.kind == "memory":
            shown += " B"
        text = f"{self.path}: expected {self.raw}, computed {shown}"
        if not self.exact:  # the computed value at the claim's precision, for comparison
            text += f" (= {self.rounded(computed)})"  # type: ignore[arg-type]
        return text


def _decimal(num: str) -> tuple[Decimal, int, int]:
    """Parse digits with separators -> (value, decimals, trailing integer zeros)."""
    cleaned = num
    for sep in _SEP:
        cleaned = cleaned.replace(sep, "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the regexes only let digits through
        raise CnnCostError(f"not a number: {num!r}") from None
    int_part, _, frac = cleaned.partition(".")
    trailing = len(int_part) - len(int_part.rstrip("0")) if int_part.strip("0") else 0
    return value, len(frac), trailing


def _interval(
    value: Decimal, scale: int, decimals: int, trailing: int, approx: bool, exact: bool
) -> tuple[Fraction, Fraction]:
    centre = Fraction(value) * scale
    if exact:
        return centre, centre
    unit = Fraction(1, 10**decimals) if decimals else Fraction(10 ** (trailing if approx else 0))
    half = unit * scale / 2
    return centre - half, centre + half


def parse_claim(path: str, raw: str, line: int | None = None, kind: str | None = None) -> Claim:
    """Parse one `path: value` claim; `kind` is derived from the path unless given."""
    raw = str(raw).strip()
    try:
        if kind is None:
            _, metric = split_path(path)
            kind = metric_kind(metric)
    except CnnCostError as exc:
        raise CnnCostError(exc.message, line) from None
    if len(raw) > 100:
        raise CnnCostError(f"{path}: claimed value too long", line)
    if kind == "shape":
        if not _SHAPE_RE.match(raw):
            raise CnnCostError(f"{path}: expected a shape such as [1, 10] or 1x10, not {raw!r}", line)
        dims = tuple(int(p) for p in re.findall(r"[0-9]+", raw))
        if len(dims) > 8:
            raise CnnCostError(f"{path}: a shape has at most 8 dimensions", line)
        return Claim(path, raw, line, "shape", shape=dims)
    memory = kind == "memory"
    if memory:
        m = _MEMORY_RE.match(raw)
        example = "a size with a unit such as 233.71 MiB, 2.18 MB or 2,180,392 B"
    else:
        m = _COUNT_RE.match(raw)
        example = "a number such as 545,098, 61.26M or ~1.7G"
    if not m:
        raise CnnCostError(f"{path}: expected {example}, not {raw[:40]!r}", line)
    value, decimals, trailing = _decimal(m["num"])
    if len(str(value)) > 30:
        raise CnnCostError(f"{path}: number too long", line)
    unit = m["unit"] if memory else m["suffix"]
    scale = MEMORY_UNITS[unit] if memory else SI[unit]
    approx = bool(m["approx"])
    # exact: a count without a suffix (a ratio is never exact), bytes without decimals
    exact = not approx and ((unit == "B" and not decimals) if memory else (not unit and kind != "ratio"))
    low, high = _interval(value, scale, decimals, trailing, approx, exact)
    return Claim(path, raw, line, kind if kind in ("memory", "ratio") else "count", low, high,
                 unit=unit if memory else unit.upper(), scale=scale, decimals=decimals, exact=exact)


def expect_claim(path: str, raw: str, line: int | None = None) -> Claim:
    """A claim of a block's `expect:`, as `parse_claim` reads it, except that a path it does not know is
    no error yet: the claim is kept (kind "unknown", with its `problem`), so that the block's other
    claims are still checked, and `check` reports it with a suggestion from the block's layer names."""
    try:
        split_path(path)
    except CnnCostError as exc:
        return Claim(path, str(raw).strip()[:100], line, "unknown", problem=exc.message)
    try:
        return parse_claim(path, raw, line)
    except CnnCostError as exc:  # a value written wrongly (`memory: 5` without a unit): listed with the others
        return Claim(path, str(raw).strip()[:100], line, "unknown", problem=exc.message)


# ------------------------------------------------------------ rewriting ----

# a written count or size, in parts: `~`, the gap after it, the number, the gap before the unit, the unit
_WRITTEN_RE = re.compile(rf"^(?P<approx>[~≈]?)(?P<gap>\s*){_NUMBER}(?P<space>\s*)(?P<unit>[KMGT]i?B|B|[KkMGT]?)$")
_SHAPE_SEP_RE = re.compile(r"\s*[,x×]\s*")


def _half_up(x: Fraction) -> int:
    """`x` rounded to an integer, halves up (2.5M reads 3M)."""
    return math.floor(x + Fraction(1, 2))


def rewritten(claim: Claim, computed: int | Fraction | tuple[int, ...], written: str | None = None) -> str:
    """The computed value written in the style of `written` (the claim as it stands in the file; default
    its `raw`), so that the claim holds:

    - the same thousands separator (`,`, `_`, a thin or plain space; a number of three digits or fewer shows
      none, and gets commas when it needs them), the same `~` or `≈` and the same spaces;
    - a rounded claim at the precision written: as many decimals (`61.3M` stays one decimal), or the
      same round tens or hundreds (`~1,800`); an SI suffix is kept unless the number would read 0 or
      1000 or more in it (then the suffix that fits, with the same decimals; under 1,000: the exact count);
    - a size in its own unit, at its decimals (`233.71 MiB`);
    - a shape as `[1, 10]` (the same spacing) or `1x10` (the same `x` or `×`).
    """
    text = (claim.raw if written is None else written).strip()
    if claim.kind == "shape":
        dims = [str(d) for d in computed]  # type: ignore[union-attr]
        between = _SHAPE_SEP_RE.search(text)
        if text.startswith("["):
            inner = text[1:-1].rstrip().rstrip(",")
            pad = inner[: len(inner) - len(inner.lstrip())]
            return "[" + pad + (between.group(0) if between else ", ").join(dims) + pad + "]"
        return (between.group(0) if between else "x").join(dims)
    value = Fraction(computed)  # type: ignore[arg-type]
    m = _WRITTEN_RE.match(text)
    if m is None:  # pragma: no cover - a parsed claim always matches
        return format_int(round(value))
    whole = m["num"].partition(".")[0]
    sep = next((c for c in whole if c in _SEP), "" if len(whole) > 3 else ",")
    unit, scale, decimals = m["unit"], claim.scale, claim.decimals
    quantum = Fraction(1, 10**decimals) if claim.exact else (claim.high - claim.low) / scale
    if claim.kind == "count" and unit and not 0 < _half_up(value / scale / quantum) * quantum < 1000:
        fits = [s for s in ("T", "G", "M", "K") if value >= SI[s]]
        unit = (fits[0] if fits[0] != "K" or unit != "k" else "k") if fits else ""
        scale, quantum = SI[unit], Fraction(1, 10**decimals) if fits else Fraction(1)
        decimals = decimals if fits else 0
    for extra in range(12):  # a rounded value always holds at its precision: the loop is a safeguard
        places = decimals + extra
        steps = _half_up(value / scale / quantum * 10**extra)
        whole_n, frac_n = divmod(round(steps * quantum * 10**decimals), 10**places)
        number = f"{whole_n:,}".replace(",", sep) + (f".{frac_n:0{places}d}" if places else "")
        out = f"{m['approx']}{m['gap']}{number}{m['space']}{unit}"
        if parse_claim(claim.path, out, kind=claim.kind).holds(value):
            return out
    return format_int(round(value))  # pragma: no cover


# -------------------------------------------------------------- checking ----


class Valued(Protocol):
    """What a claim is checked against (a `Result`): the computed value of a claim path."""

    def value(self, path: str) -> int | tuple[int, ...]: ...


@dataclass(frozen=True)
class WrongNumber:
    """A claim that does not hold: the number (or shape) computed is another."""

    claim: Claim
    message: str  # `path: expected X, computed Y`


@dataclass(frozen=True)
class Unverifiable:
    """A claim that cannot be checked: an unknown layer or metric, or a value the block does not compute."""

    claim: Claim
    message: str


@dataclass
class Checked:
    """The claims of one block, checked: the ones that hold, and the failures in claim order."""

    held: list[Claim] = field(default_factory=list)
    failures: list[WrongNumber | Unverifiable] = field(default_factory=list)

    @property
    def wrong(self) -> list[WrongNumber]:
        return [f for f in self.failures if isinstance(f, WrongNumber)]

    @property
    def unverifiable(self) -> list[Unverifiable]:
        return [f for f in self.failures if isinstance(f, Unverifiable)]


MAX_SUGGESTED_LAYERS = 2_000  # layer names a suggestion is looked for among


def layer_names(result: object) -> list[str]:
    """The names a claim path may give as its layer: every row's name, every prefix of it made of whole
    parts (`3` of `3.1`: a container), and every named module's (read from a `Result`'s `rows` and
    `outputs`; none for another `Valued`). In order, each once."""
    names: dict[str, None] = {}
    for row in getattr(result, "rows", ()):
        parts = str(getattr(row, "name", "")).split(".")
        for end in range(1, len(parts) + 1):
            names.setdefault(".".join(parts[:end]), None)
    for name, _ in getattr(result, "outputs", ()):
        names.setdefault(str(name), None)
    names.pop("", None)
    return list(names)


def path_problem(path: str, layers: Sequence[str]) -> str | None:
    """Why `path` names no value of a block whose layers are `layers`, or None when it names one. The message
    says "did you mean" the closest path that does, or else lists what the path may name. `layers` empty:
    the layer part is not checked."""
    if path in TOTAL_METRICS:
        return None
    layer, dot, metric = path.rpartition(".")
    known = set(layers)
    if not dot or not layer:  # one word: a total, or a layer named without its metric
        if path in known:
            hint = f" (did you mean '{path}.params'?)"
        else:
            hint = suggest(path, TOTAL_METRICS)
            if not hint and layers:
                close = closest(path, layers[:MAX_SUGGESTED_LAYERS])
                hint = f" (did you mean '{close}.params'?)" if close else ""
        return f"unknown claim {path!r}" + (hint or f"; use one of {', '.join(TOTAL_METRICS)} "
                                                     f"or <layer>.<{'|'.join(LAYER_METRICS)}>")
    layer_ok = not layers or layer in known
    metric_ok = metric in LAYER_METRICS
    if layer_ok and metric_ok:
        return None
    fixed_layer = layer if layer_ok else closest(layer, layers[:MAX_SUGGESTED_LAYERS])
    fixed_metric = metric if metric_ok else closest(metric, LAYER_METRICS)
    hint = f" (did you mean '{fixed_layer}.{fixed_metric}'?)" if fixed_layer and fixed_metric else ""
    if not metric_ok:
        return f"unknown per-layer metric {metric!r} in {path!r}" + (hint or f"; use one of {', '.join(LAYER_METRICS)}")
    shown = ", ".join(layers)
    shown = shown if len(shown) <= 300 else shown[:300] + "…"
    return f"{path}: no layer named {layer!r}" + (hint or f"; layers are: {shown}")


def check(claims: Sequence[Claim], result: Valued) -> Checked:
    """Check every claim against the computed values; the caller decides what each kind of failure means.

    Every claim is checked: a claim whose path names no value of the block (a misspelt metric or layer
    name, with "did you mean" the closest path that does) is `Unverifiable`, as is one the block does not
    compute (`needs input:`); the others hold or are `WrongNumber`s."""
    out = Checked()
    layers = layer_names(result)
    for claim in claims:
        problem = path_problem(claim.path, layers) if claim.kind != "ratio" else None
        if problem is None and claim.kind == "unknown":  # a value parse_claim refused
            problem = claim.problem
        if problem is not None:
            out.failures.append(Unverifiable(claim, problem))
            continue
        try:
            message = claim.mismatch(result.value(claim.path))
        except CnnCostError as exc:
            out.failures.append(Unverifiable(claim, exc.message))
            continue
        if message is None:
            out.held.append(claim)
        else:
            out.failures.append(WrongNumber(claim, message))
    return out
