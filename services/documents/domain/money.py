"""Money as documents print it: integer kopecks, VAT 20% included in the operator's
charges and taken out of them with explicit rounding (half up, to the kopeck), roubles
with a space between thousands and a comma before kopecks, and sums in words."""

from __future__ import annotations

VAT_PERCENT = 20
CURRENCY = "RUB"
CURRENCY_CODE = "643"  # ОКВ: российский рубль


def vat_included(amount: int) -> int:
    """The VAT inside an amount that includes it: amount × 20 / 120, rounded half up (away
    from zero), in whole kopecks."""
    sign = -1 if amount < 0 else 1
    return sign * (
        (abs(amount) * VAT_PERCENT * 2 + (100 + VAT_PERCENT)) // ((100 + VAT_PERCENT) * 2)
    )


def without_vat(amount: int) -> int:
    return amount - vat_included(amount)


def rubles(amount: int) -> str:
    """`1 234 567,89` (a no-break space between thousands)."""
    sign = "-" if amount < 0 else ""
    whole, kopecks = divmod(abs(amount), 100)
    return f"{sign}{whole:,}".replace(",", "\u00a0") + f",{kopecks:02d}"


_UNITS = (
    ("", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"),
    ("", "одна", "две", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"),
)
_TEENS = (
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
)
_TENS = (
    "",
    "",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
)
_HUNDREDS = (
    "",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "восемьсот",
    "девятьсот",
)
# (one, few, many, feminine)
_SCALES = (
    ("рубль", "рубля", "рублей", False),
    ("тысяча", "тысячи", "тысяч", True),
    ("миллион", "миллиона", "миллионов", False),
    ("миллиард", "миллиарда", "миллиардов", False),
)


def plural(count: int, one: str, few: str, many: str) -> str:
    if count % 100 in range(11, 20):
        return many
    return {1: one, 2: few, 3: few, 4: few}.get(count % 10, many)


def _triple(number: int, feminine: bool) -> list[str]:
    words = [_HUNDREDS[number // 100]]
    rest = number % 100
    if 10 <= rest < 20:
        words.append(_TEENS[rest - 10])
    else:
        words += [_TENS[rest // 10], _UNITS[int(feminine)][rest % 10]]
    return [w for w in words if w]


def in_words(amount: int) -> str:
    """«Одна тысяча двести рублей 50 копеек» (how a document states its total)."""
    whole, kopecks = divmod(abs(amount), 100)
    parts: list[str] = []
    groups = []
    rest = whole
    while rest:
        groups.append(rest % 1000)
        rest //= 1000
    for scale in range(len(groups) - 1, -1, -1):
        group = groups[scale]
        one, few, many, feminine = _SCALES[min(scale, len(_SCALES) - 1)]
        if group == 0 and scale > 0:
            continue
        parts += _triple(group, feminine)
        if scale > 0:
            parts.append(plural(group, one, few, many))
    if not groups:
        parts.append("ноль")
    parts.append(plural(whole, "рубль", "рубля", "рублей"))
    text = " ".join(parts)
    sign = "минус " if amount < 0 else ""
    words = f"{sign}{text} {kopecks:02d} {plural(kopecks, 'копейка', 'копейки', 'копеек')}"
    return words[0].upper() + words[1:]
