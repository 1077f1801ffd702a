"""The two barcode symbols on a label, as module patterns (pure, no I/O).

Code 128 comes from python-barcode, Data Matrix (ECC 200, square) from
zxing-cpp. The ZPL printer draws its own symbols from `^BC` and `^BX`; for
Code 128 we hand it the very same code set choices python-barcode made (ZPL
"invocation codes"), so a printed symbol is module for module the one whose
width the label limits were checked against.
"""
from dataclasses import dataclass
from functools import lru_cache

import zxingcpp
from barcode.charsets import code128 as charsets
from barcode.codex import Code128

CODE128_QUIET_ZONE = 10      # modules of white on each side (ISO/IEC 15417)
DATAMATRIX_QUIET_ZONE = 1    # modules of white around the symbol (ISO/IEC 16022)

# ECC 200 square symbols: (modules per side, data codewords).
DATAMATRIX_SQUARE_SIZES = ((10, 3), (12, 5), (14, 8), (16, 12), (18, 18), (20, 22), (22, 30), (24, 36),
                           (26, 44), (32, 62), (36, 86), (40, 114), (44, 144), (48, 174), (52, 204),
                           (64, 280), (72, 368), (80, 456), (88, 576), (96, 696), (104, 816),
                           (120, 1050), (132, 1304), (144, 1558))

# Code 128 symbol values that start or switch a code set, and their ZPL invocation codes.
_START = {103: "A", 104: "B", 105: "C"}
_ZPL_START = {"A": ">9", "B": ">:", "C": ">;"}
_SWITCH = {"A": {100: "B", 99: "C"}, "B": {101: "A", 99: "C"}, "C": {100: "B", 101: "A"}}
_ZPL_SWITCH = {"A": ">7", "B": ">6", "C": ">5"}


@dataclass(frozen=True)
class Code128Symbol:
    data: str
    modules: str      # "1" bar, "0" space; start to stop, without quiet zones
    zpl_data: str     # the ^FD content for ^BC in mode N (code sets spelled out)

    @property
    def width_modules(self) -> int:
        """Width including both quiet zones."""
        return len(self.modules) + 2 * CODE128_QUIET_ZONE


@dataclass(frozen=True)
class DataMatrixSymbol:
    data: str
    rows: tuple[tuple[bool, ...], ...]   # True = dark module

    @property
    def size(self) -> int:
        return len(self.rows)


@lru_cache(maxsize=4096)
def code128(data: str) -> Code128Symbol:
    modules = Code128(data).build()[0]
    values = Code128(data).encoded  # a fresh instance: the encoder keeps state between builds
    return Code128Symbol(data, modules, _zpl_invocations(values))


def _zpl_invocations(values: list[int]) -> str:
    """Code 128 symbol values (start code first, no check digit) as ZPL ^BC data."""
    charset = _START[values[0]]
    out = [_ZPL_START[charset]]
    for value in values[1:]:
        target = _SWITCH[charset].get(value)
        if target:
            out.append(_ZPL_SWITCH[target])
            charset = target
        elif charset == "C":
            out.append(f"{value:02d}")
        else:
            table = charsets.A if charset == "A" else charsets.B
            out.append(next(char for char, code in table.items() if code == value))
    return "".join(out)


@lru_cache(maxsize=4096)
def datamatrix(data: str) -> DataMatrixSymbol:
    barcode = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.DataMatrix, forceSquare=True)
    image = memoryview(barcode.to_image(scale=1, add_quiet_zones=False)).tolist()
    return DataMatrixSymbol(data, tuple(tuple(pixel == 0 for pixel in row) for row in image))


def datamatrix_worst_size(data: str) -> int:
    """Side of the largest square symbol any ECC 200 encoder needs for `data`.

    Plain ASCII encodation (one codeword per character) is the upper bound for
    the barcode alphabet, so a printer's own encoder never needs more. Labels
    reserve this much room, which keeps ZPL and the pictures interchangeable.
    """
    needed = len(data.encode("utf-8"))
    for size, capacity in DATAMATRIX_SQUARE_SIZES:
        if capacity >= needed:
            return size
    raise ValueError("too much data for one Data Matrix symbol")


def runs(pattern) -> list[tuple[int, int]]:
    """(start, length) of every run of dark modules in a row."""
    found, start = [], None
    for index, dark in enumerate(pattern):
        dark = dark in (True, "1")
        if dark and start is None:
            start = index
        elif not dark and start is not None:
            found.append((start, index - start))
            start = None
    if start is not None:
        found.append((start, len(pattern) - start))
    return found
