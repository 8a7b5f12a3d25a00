"""Finding the clips of a sound data set and their labels, before any sound is decoded.

"audio": one sub-folder of clips per class (the folder's name is the class). "speech": a
folder of clips (sub-folders included) with transcripts from a CSV file (columns file and
text; ``dataset.target_path``, else ``transcripts.csv`` or ``metadata.csv`` in the folder)
or from one ``.txt`` beside each clip. Bad entries go to
:class:`~engine.data.problems.Problems`, which stops with a :class:`DataError` naming the
file (and CSV row) or leaves them out and counts them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from engine.data import limits
from engine.data.audio.wav import AUDIO_EXTENSIONS, is_audio
from engine.data.core import DataError
from engine.data.problems import Problems
from engine.files import read_text

#: names of a transcripts file found beside the clips, in the order they are looked for
TRANSCRIPT_FILES = ("transcripts.csv", "metadata.csv")
_FILE_COLUMNS = ("file", "filename", "file_name", "path", "wav", "audio", "clip", "id")
_TEXT_COLUMNS = ("text", "transcript", "transcription", "sentence", "normalized_text")


@dataclass
class Entry:
    """One clip and its label: the class name ("audio") or the transcript ("speech");
    ``where`` names the clip, with the CSV row its transcript came from."""

    path: Path
    label: str
    where: str


def folder_of(path: str, source: str) -> Path:
    """``dataset.path`` as an existing folder, or a :class:`DataError` saying what to set."""
    if not path.strip():
        raise DataError(f"{source}: no folder is set; choose the folder of clips")
    root = Path(path).expanduser()
    if not root.is_dir():
        what = "no such folder" if not root.exists() else "is a file, not a folder of clips"
        raise DataError(f"{root}: {what}; choose the folder of clips")
    return root


def clips_under(folder: Path) -> list[Path]:
    """The clips in ``folder`` and its sub-folders (hidden ones left out), sorted."""
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and is_audio(p)
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def class_entries(root: Path) -> tuple[list[Entry], list[str]]:
    """The clips of a folder-per-class set and the sorted class names (folders without
    clips are not classes)."""
    entries: list[Entry] = []
    classes: list[str] = []
    for folder in sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")):
        clips = clips_under(folder)
        if clips:
            classes.append(folder.name)
            entries.extend(Entry(p, folder.name, str(p)) for p in clips)
    kinds = "/".join(e.lstrip(".") for e in AUDIO_EXTENSIONS)
    if not classes:
        loose = any(is_audio(p) for p in root.iterdir() if p.is_file())
        if loose:
            raise DataError(f"{root}: the clips are not in class folders; put the clips of each "
                            "class in a sub-folder named after the class")
        raise DataError(f"{root}: no sub-folders with sound clips ({kinds}); make one sub-folder "
                        "of clips per class")
    if len(classes) < 2:
        raise DataError(f"{root}: only one class folder ({classes[0]}) holds clips; a classifier "
                        "needs at least two, one sub-folder of clips per class")
    if len(classes) > limits.MAX_CLASSES:
        raise DataError(f"{root}: {len(classes):,} class folders are more than the "
                        f"{limits.MAX_CLASSES:,} classes LayerForge trains")
    return entries, classes


def clean_transcript(text: str, lowercase: bool) -> str:
    """A transcript with its white space collapsed (and lower-cased when asked)."""
    text = " ".join(text.split())
    return text.lower() if lowercase else text


def transcripts_file(root: Path, target_path: str) -> Path | None:
    """The transcripts CSV: ``dataset.target_path`` (relative to the clips' folder), else
    one of :data:`TRANSCRIPT_FILES` in it; None when each clip has a ``.txt`` instead."""
    if target_path.strip():
        path = Path(target_path).expanduser()
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            raise DataError(f"{path}: no such transcripts file (dataset.target_path); choose a "
                            "CSV with columns file,text, or clear it to read a .txt beside "
                            "each clip")
        return path
    for name in TRANSCRIPT_FILES:
        if (root / name).is_file():
            return root / name
    return None


def speech_entries(root: Path, target_path: str, lowercase: bool,
                   problems: Problems) -> list[Entry]:
    """The clips of a speech set with their transcripts, in the transcripts file's order
    (else the clips' sorted order)."""
    clips = clips_under(root)
    if not clips:
        kinds = "/".join(e.lstrip(".") for e in AUDIO_EXTENSIONS)
        raise DataError(f"{root}: no sound clips ({kinds}) in the folder; choose the folder that "
                        "holds the clips")
    table = transcripts_file(root, target_path)
    if table is None:
        return _txt_entries(clips, lowercase, problems)
    return _csv_entries(table, root, clips, lowercase, problems)


def _txt_entries(clips: list[Path], lowercase: bool, problems: Problems) -> list[Entry]:
    entries = []
    for clip in clips:
        txt = clip.with_suffix(".txt")
        if not txt.is_file():
            problems.add(clip, "", f"has no transcript: write it into {txt.name} beside the clip, "
                               "or list every clip in a transcripts.csv (columns file,text)")
            continue
        try:
            text = clean_transcript(read_text(txt, DataError, strip_bom=True), lowercase)
        except DataError as e:
            problems.add(clip, "", f"its transcript cannot be read ({e})")
            continue
        if not text:
            problems.add(clip, "", f"its transcript {txt.name} is empty")
            continue
        entries.append(Entry(clip, text, str(clip)))
    return entries


def _csv_entries(table: Path, root: Path, clips: list[Path], lowercase: bool,
                 problems: Problems) -> list[Entry]:
    rows = _csv_rows(table)
    find = _ClipIndex(root, table.parent, clips)
    entries: list[Entry] = []
    listed: set[Path] = set()
    for line, name, raw_text in rows:
        where = f"{table} row {line}"
        clip = find(name)
        if clip is None:
            problems.add(where, "", f"names the clip {name!r}, which is not among the clips under "
                                f"{root}")
            continue
        where = f"{where} ({clip.name})"
        if clip in listed:
            problems.add(where, "", "lists this clip a second time")
            continue
        listed.add(clip)
        text = clean_transcript(raw_text, lowercase)
        if not text:
            problems.add(where, "", "has no transcript (the text column is empty)")
            continue
        entries.append(Entry(clip, text, where))
    for clip in clips:
        if clip not in listed:
            problems.add(clip, "", f"has no transcript: {table.name} has no row for it")
    return entries


def _csv_rows(table: Path) -> list[tuple[int, str, str]]:
    """``(line, file, text)`` of every row: with a header naming a file column and a text
    column, those; without one, the first column and the last (LJSpeech's metadata.csv:
    id|text|normalised text)."""
    text = read_text(table, DataError, what="a transcripts file", max_bytes=limits.MAX_CSV_BYTES,
                     strip_bom=True)
    lines = text.splitlines()
    first = next((s for s in lines if s.strip()), "")
    # tabs and bars seldom occur in speech; commas and semicolons do, so those are counted
    delimiter = next((d for d in ("\t", "|") if d in first),
                     ";" if first.count(";") > first.count(",") else ",")
    quoting = csv.QUOTE_NONE if delimiter == "|" else csv.QUOTE_MINIMAL
    try:
        rows = [(n, row) for n, row in enumerate(csv.reader(lines, delimiter=delimiter,
                                                            quoting=quoting), start=1) if row]
    except csv.Error as e:
        raise DataError(f"{table}: not a CSV file this reader understands ({e})") from None
    if not rows:
        raise DataError(f"{table}: the transcripts file is empty; give one row per clip "
                        "(columns file,text)")
    header = [c.strip().lower() for c in rows[0][1]]
    file_col = next((header.index(c) for c in _FILE_COLUMNS if c in header), None)
    text_col = next((header.index(c) for c in _TEXT_COLUMNS if c in header), None)
    if file_col is not None and text_col is not None:
        rows = rows[1:]
    elif len(rows[0][1]) < 2:
        raise DataError(f"{table}: row 1 has one column; the transcripts file needs two: the "
                        "clip's file name and its text (a header file,text is optional)")
    else:
        file_col, text_col = 0, -1
    out = []
    for line, row in rows:
        if len(row) < 2:
            out.append((line, row[0].strip(), ""))
        else:
            out.append((line, row[file_col].strip(), row[text_col]))
    return out


class _ClipIndex:
    """Finds the clip a CSV row names: by path (relative to the CSV or to the clips'
    folder), else by file name, else by name without extension (LJSpeech's ids)."""

    def __init__(self, root: Path, base: Path, clips: list[Path]) -> None:
        self.root, self.base = root, base
        self.clips = set(clips)
        self.by_name: dict[str, Path] = {}
        self.by_stem: dict[str, Path] = {}
        for clip in clips:
            self.by_name.setdefault(clip.name, clip)
            self.by_stem.setdefault(clip.stem, clip)

    def __call__(self, name: str) -> Path | None:
        if not name:
            return None
        for folder in (self.base, self.root):
            candidate = folder / name
            if candidate in self.clips:
                return candidate
        plain = Path(name).name
        return self.by_name.get(plain) or self.by_stem.get(plain)
