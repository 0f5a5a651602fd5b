"""Numbers as people write and read them: ``4.1G`` in, ``7.76 G`` out."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from tfflops.errors import TfflopsError

_SUFFIXES = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
# The largest number a budget may be: int64's, as TensorFlow counts.
MAX_NUMBER = 2**63 - 1


def parse_number(text: str, argument: str = "number") -> int:
    """``"4.1G"`` → 4_100_000_000: decimal suffixes K, M, G, T (10³ … 10¹²), exactly.

    ``1_000``, ``1,000`` and ``1e3`` are accepted too; the result is a whole int from 0
    to ``MAX_NUMBER``. Errors name ``argument`` (``max_flops``).
    """
    option = f"`{argument}`"
    s = text.strip().replace("_", "").replace(",", "")
    factor = _SUFFIXES.get(s[-1:].upper(), 1) if s else 1
    if factor != 1:
        s = s[:-1].rstrip()
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise TfflopsError(f"{option} {text!r}: not a number (e.g. 300M, 4.1G, 1500)") from None
    if not value.is_finite() or value < 0:
        raise TfflopsError(f"{option} {text!r}: must be a finite number, not negative")
    # Told by the exponent first: 1e999999999999 would overflow Decimal's arithmetic
    # (1e5000 would make an int too long to print), 1e-999999999999 round to 0.
    digits = len(str(MAX_NUMBER))
    if value and value.adjusted() > digits:
        raise TfflopsError(f"{option} {text!r}: over the largest count, {MAX_NUMBER:,}")
    if value and value.adjusted() < -digits:
        raise TfflopsError(f"{option} {text!r}: is not a whole number")
    value *= factor
    if value > MAX_NUMBER:
        raise TfflopsError(f"{option} {text!r}: over the largest count, {MAX_NUMBER:,}")
    if value != value.to_integral_value():
        raise TfflopsError(f"{option} {text!r}: is not a whole number")
    return int(value)


def humanize(n: int | None) -> str:
    """7_755_299_312 → '7.76 G'; small numbers stay exact; from 1000 T on, '2.79e+39'
    (a float's quotient would print digits it does not hold, or overflow)."""
    if n is None:
        return "-"
    if abs(n) >= 10**15:
        return format(Decimal(n), ".2e")
    for factor, suffix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {suffix}"
    return str(n)


def exact_number(n: int) -> str:
    """7200 → '7,200'; 8288 → '8,288 (8.29 K)'."""
    return f"{n:,}" if abs(n) < 1000 else f"{n:,} ({humanize(n)})"


def seconds_text(s: float | None) -> str:
    """0.0123 → '12.30 ms', 4.2e-06 → '4.20 µs'; three significant figures or so."""
    if s is None:
        return "-"
    for factor, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if abs(s) >= factor:
            return f"{s / factor:.2f} {unit}"
    return f"{s / 1e-9:.2f} ns" if s else "0 s"


def rate_text(per_second: float | None, unit: str = "FLOP/s") -> str:
    """1.95e13 → '19.50 TFLOP/s'."""
    if per_second is None:
        return "-"
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(per_second) >= factor:
            return f"{per_second / factor:.2f} {prefix}{unit}"
    return f"{per_second:.2f} {unit}"


def check_count(argument: str, value, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` for ``argument`` (named in the error)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TfflopsError(f"`{argument}` {value!r}: must be a whole number from {low} to {high}")
    return value
