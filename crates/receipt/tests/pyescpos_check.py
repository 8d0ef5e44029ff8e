#!/usr/bin/env python3
"""ESC/POS reference bytes from python-escpos, for tests/pyescpos.rs.

Usage: pyescpos_check.py OPS_FILE REF QR_SIZE CODEPAGE

Prints one `name hex` line per item, every byte produced by python-escpos's Dummy printer:

- single commands, made here from nothing but the arguments: `init`, `codepage`,
  `cashdraw` (cashdraw(2)), `cut`, `bold_on`, `bold_off`, `center`, `qr` (native QR of REF,
  model 2, error correction M, module size QR_SIZE);
- `text_N`: sample Portuguese text encoded in CODEPAGE (the bytes after the code-page command);
- `receipt`: the whole receipt, replayed from OPS_FILE (one printer operation per line, as the
  Rust side wrote it) through python-escpos's own methods.
"""

import sys

import escpos
from escpos.constants import QR_ECLEVEL_M, QR_MODEL_2
from escpos.printer import Dummy

SAMPLES = ["Conceição", "Cartão", "São Paulo", "R$ 37,00", "2ª VIA ç ã é õ Ç Ã É"]


def dummy():
    return Dummy()


def single(fn):
    p = dummy()
    fn(p)
    return p.output


def qr(p, data, size):
    p.qr(data, native=True, size=size, ec=QR_ECLEVEL_M, model=QR_MODEL_2)


def replay(path):
    p = dummy()
    with open(path, encoding="ascii") as f:
        for line in f:
            op, *args = line.split()
            if op == "init":
                p.hw("INIT")
            elif op == "codepage":
                p.charcode(args[0])
            elif op == "kick":
                p.cashdraw(2)
            elif op == "justify":
                p.set(align=args[0])
            elif op == "bold":
                p.set(bold=args[0] == "1")
            elif op == "size":
                p.set(custom_size=True, width=int(args[0]), height=int(args[1]))
            elif op == "text":
                p.text(bytes.fromhex(args[0]).decode("utf-8"))
            elif op == "qr":
                qr(p, bytes.fromhex(args[1]).decode("utf-8"), int(args[0]))
            elif op == "cut":
                p.cut()
            else:
                raise SystemExit(f"unknown operation {op!r} in {path}")
    return p.output


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    ops, ref, qr_size, codepage = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    out = {
        "init": single(lambda p: p.hw("INIT")),
        "codepage": single(lambda p: p.charcode(codepage)),
        "cashdraw": single(lambda p: p.cashdraw(2)),
        "cut": single(lambda p: p.cut()),
        "bold_on": single(lambda p: p.set(bold=True)),
        "bold_off": single(lambda p: p.set(bold=False)),
        "center": single(lambda p: p.set(align="center")),
        "qr": single(lambda p: qr(p, ref, qr_size)),
    }
    select = out["codepage"]
    for i, sample in enumerate(SAMPLES):
        p = dummy()
        p.charcode(codepage)
        p.text(sample)
        assert p.output.startswith(select)
        out[f"text_{i}"] = p.output[len(select):]
    out["receipt"] = replay(ops)
    print("version", escpos.__version__.encode().hex())
    for name, data in out.items():
        print(name, data.hex())


if __name__ == "__main__":
    main()
