"""Where the Export dialog proposes to write each format, and how a path the user typed
follows a change of format.

Single-file formats end in their suffix (an int8 model in ``.int8.onnx``, so it does not
replace the fp32 ``.onnx`` beside it); folder formats (standalone code, a prediction server)
are a folder named after the graph. A path the user typed keeps its folder and name when the
format changes; only the ending this dialog gave it is swapped (``lenet.onnx`` becomes
``lenet.int8.onnx``, then ``lenet-server``), so the destination always matches the format.
"""

from __future__ import annotations

from pathlib import Path

from engine.export import SUFFIX

#: the folder formats and the ending of their default folder's name
FOLDER_TAIL = {"python": "-python", "server": "-server"}
#: the single-file formats' endings
FILE_SUFFIX = {**SUFFIX, "onnx-int8": ".int8.onnx"}
_ENDINGS = sorted({*FILE_SUFFIX.values(), *FOLDER_TAIL.values()}, key=len, reverse=True)


def is_folder_format(fmt: str) -> bool:
    return fmt in FOLDER_TAIL


def _ending(fmt: str) -> str:
    return FOLDER_TAIL.get(fmt) or FILE_SUFFIX[fmt]


def default_out(folder: Path, graph: str, fmt: str) -> Path:
    """The proposed destination of ``graph`` exported as ``fmt`` into ``folder``."""
    return folder / f"{graph or 'model'}{_ending(fmt)}"


def retarget(path: Path, fmt: str) -> Path:
    """``path`` (typed for another format) with the ending ``fmt`` needs; a path with no
    ending of ours (a folder for a single-file format) is kept as typed."""
    name = path.name
    for ending in _ENDINGS:
        if name.endswith(ending) and len(name) > len(ending):
            return path.with_name(name[: -len(ending)] + _ending(fmt))
    return path
