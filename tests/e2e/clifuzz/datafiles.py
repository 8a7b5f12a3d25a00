"""Broken (and sometimes fine) data files: CSV, IDX, image folders and text corpora.

Each writer puts its files under a case folder and returns the ``--dataset`` spec and the
``dataset`` section of a project that point at them. Sizes stay small: the resource caps
are tested elsewhere; here every file must get a sentence, never a traceback.
"""

from __future__ import annotations

import gzip
import random
import struct
from pathlib import Path
from typing import Any

from tests.engine.cli_helpers import HOSTILE
from tests.engine.data.helpers import idx_bytes, mnist_arrays

Dataset = tuple[str, dict[str, Any]]


def _csv_text(rng: random.Random) -> str:
    kind = rng.randrange(12)
    good = "x1,x2,label\n" + "".join(f"{i % 7},{i % 3}.5,{'ab'[i % 2]}\n" for i in range(40))
    if kind == 0:
        return ",,,\n,,\n" * rng.randint(0, 5)  # only delimiters
    if kind == 1:  # ragged rows
        return good + "1,2\n3,4,5,6,7\n"
    if kind == 2:
        return rng.choice(["", "\n", "\ufeff", "x1,x2,label\n", "label\n1\n"])
    if kind == 3:  # words, NaN and infinities among the features
        return good + rng.choice(["nan,1,a\n", "inf,1,b\n", "one,two,a\n", "1e999,1,a\n"])
    if kind == 4:  # hostile class names
        return "x,label\n" + "".join(f"{i},{HOSTILE[i % len(HOSTILE)]}\n" for i in range(30))
    if kind == 5:
        return '"x1,x2\n1,"2\n' + good  # an unbalanced quote
    if kind == 6:
        return ";".join(str(i) for i in range(300)) + "\n" + "1;" * 299 + "1\n"
    if kind == 7:  # one value per class: nothing left to validate on
        return "x,label\n1,a\n2,b\n"
    if kind == 8:  # a numeric target with many distinct values
        return "x,y\n" + "".join(f"{i},{i * 1.37}\n" for i in range(50))
    if kind == 9:
        return good.replace(",", "\t")
    if kind == 10:
        return "x,label\n" + "1,a\n" * 30 + "\x00\x01\x02,\xff\n"
    return good


def write_csv(rng: random.Random, folder: Path) -> Dataset:
    path = folder / rng.choice(["data.csv", "d\x1b[2J.csv", "data.tsv"])
    text = _csv_text(rng)
    if rng.random() < 0.1:
        path.write_bytes(b"x,label\n\xff\xfe1,a\n")  # not UTF-8
    else:
        path.write_text(text, encoding="utf-8")
    target = rng.choice(["", "", "label", "y", "nosuch", HOSTILE[0], "x1"])
    options: dict[str, Any] = rng.choice([{}, {}, {"delimiter": ","}, {"delimiter": "ab"},
                                          {"delimiter": ""}, {"delimiter": 5}, {"header": True},
                                          {"header": "yes"}, {"task": "class"},
                                          {"task": "regression"}, {"task": 3}])
    spec = f"csv:{path.name}" + (f":target={target}" if target else "")
    return spec, {"source": "csv", "path": path.name, "target": target, "options": options}


def _idx(rng: random.Random) -> tuple[bytes, bytes]:
    images, labels = mnist_arrays(20, rng.randrange(100), size=8)
    img, lab = idx_bytes(images), idx_bytes(labels)
    kind = rng.randrange(9)
    if kind == 0:
        img = img[:rng.randrange(len(img))]  # truncated
    elif kind == 1:
        lab = lab[:rng.randrange(len(lab))]
    elif kind == 2:
        img = b"\x00\x00\x0c\x03" + img[4:]  # a type code the header does not support
    elif kind == 3:  # declared dims that the file cannot hold
        img = img[:4] + struct.pack(">III", 2**31 - 1, 8, 8) + img[16:]
    elif kind == 4:
        lab = idx_bytes(labels[:7])  # fewer labels than images
    elif kind == 5:
        img = rng.randbytes(rng.randrange(64))
    elif kind == 6:  # float labels, a label of 255
        labels[0] = 255
        lab = idx_bytes(labels)
    elif kind == 7:
        img = b"\x00\x00\x08\x00"  # zero dimensions
    return img, lab


def write_idx(rng: random.Random, folder: Path) -> Dataset:
    d = folder / "idx"
    d.mkdir()
    img, lab = _idx(rng)
    gz = rng.random() < 0.3
    for name, data in (("train-images-idx3-ubyte", img), ("train-labels-idx1-ubyte", lab)):
        if gz:
            raw = gzip.compress(data, mtime=0)
            if rng.random() < 0.3:
                raw = raw[:len(raw) // 2]  # a truncated gzip stream
            (d / f"{name}.gz").write_bytes(raw)
        else:
            (d / name).write_bytes(data)
    if rng.random() < 0.2:
        for f in d.iterdir():
            f.unlink() if rng.random() < 0.5 else None
    return f"idx:{d.name}", {"source": "idx", "path": d.name}


def write_folder(rng: random.Random, folder: Path) -> Dataset:
    from PIL import Image

    root = folder / "images"
    root.mkdir()
    kind = rng.randrange(7)
    names = rng.sample([*HOSTILE, "cat", "dog", "é", "x" * 200], rng.randint(1, 3))
    for k, name in enumerate(names):
        d = root / name.replace("/", "_").replace("\\", "_").replace("\x00", "_")[:200]
        d.mkdir(exist_ok=True)
        if kind == 1 and k == 0:
            continue  # an empty class folder
        for i in range(rng.randint(1, 4)):
            if kind == 2 and i == 0:
                (d / f"bad{i}.png").write_bytes(rng.choice([b"", b"not a png", b"\x89PNG\r\n"]))
            elif kind == 3:
                (d / f"note{i}.txt").write_text("not an image")
            else:
                mode = rng.choice(["L", "RGB", "RGBA", "P", "1"])
                Image.new(mode, (rng.choice([1, 4, 9]), 6), i * 40).save(d / f"img{i}.png")
    if kind == 4:
        (root / "stray.png").write_bytes(b"x")  # a file beside the class folders
    if kind == 5:
        (root / "loop").symlink_to(root, target_is_directory=True)
    if kind == 6:
        for d in list(root.iterdir()):
            for f in d.iterdir():
                f.unlink()
    options = {"image_size": rng.choice([None, 4, 8, 1024]), "grayscale": rng.random() < 0.5}
    return f"folder:{root.name}", {"source": "folder", "path": root.name, **options}


def write_text(rng: random.Random, folder: Path) -> Dataset:
    path = folder / "corpus.txt"
    kind = rng.randrange(6)
    if kind == 0:
        path.write_bytes(rng.choice([b"", b"a", b"\n" * 50, b"\xff\xfe" * 100]))
    elif kind == 1:
        path.write_bytes(rng.randbytes(rng.randrange(2000)))
    elif kind == 2:
        path.write_text("".join(HOSTILE) * 40, encoding="utf-8")
    else:
        path.write_text("def f(x):\n    return x + 1\n" * rng.choice([2, 40, 400]))
    seq = rng.choice([2, 16, 64, 100_000])
    return f"text:{path.name}", {"source": "text", "path": path.name, "seq_len": seq}


def write_missing(rng: random.Random, folder: Path) -> Dataset:
    """Specs that name nothing usable: missing paths, a folder for a file, hostile names."""
    (folder / "adir").mkdir()
    source = rng.choice(["csv", "idx", "folder", "text"])
    path = rng.choice(["nosuch", "adir", "", HOSTILE[0], "/", "x\x00y", "~nobody/x"])
    if source == "csv" and path == "adir":
        return "csv:adir", {"source": "csv", "path": "adir"}
    # a command line cannot carry NUL; a project file can
    spec = rng.choice([f"{source}:{path.replace(chr(0), '')}", "builtin:nosuch", "download:nosuch", "nosuch:x",
                       "builtin:", "csv", "", ":", "builtin:spirals", "builtin:digits",
                       HOSTILE[1]])
    return spec, {"source": source, "path": path}


WRITERS = [write_csv, write_csv, write_idx, write_folder, write_text, write_missing]


def dataset(rng: random.Random, folder: Path) -> Dataset:
    return rng.choice(WRITERS)(rng, folder)
