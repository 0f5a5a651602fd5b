"""Numbers as people write and read them: ``4.1G`` in, ``7.76 G`` out."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from tfflops.errors import TfflopsError

_SUFFIXES = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def parse_number(text: str, argument: str = "number") -> int:
    """``"4.1G"`` → 4_100_000_000: decimal suffixes K, M, G, T (10³ … 10¹²), exactly.

    ``1_000``, ``1,000`` and ``1e3`` are accepted too; the result is a whole, non-negative int.
    Errors name ``argument`` (``max_flops``).
    """
    option = f"`{argument}`"
    s = text.strip().replace("_", "").replace(",", "")
    factor = _SUFFIXES.get(s[-1:].upper(), 1) if s else 1
    if factor != 1:
        s = s[:-1].rstrip()
    try:
        value = Decimal(s) * factor
    except InvalidOperation:
        raise TfflopsError(f"{option} {text!r}: not a number (e.g. 300M, 4.1G, 1500)") from None
    if not value.is_finite() or value < 0:
        raise TfflopsError(f"{option} {text!r}: must be a finite number, not negative")
    if value != value.to_integral_value():
        raise TfflopsError(f"{option} {text!r}: is not a whole number")
    return int(value)


def humanize(n: int | None) -> str:
    """7_755_299_312 → '7.76 G'; small numbers stay exact."""
    if n is None:
        return "-"
    for factor, suffix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {suffix}"
    return str(n)


def exact_number(n: int) -> str:
    """7200 → '7,200'; 8288 → '8,288 (8.29 K)'."""
    return f"{n:,}" if abs(n) < 1000 else f"{n:,} ({humanize(n)})"
