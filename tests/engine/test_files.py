"""engine.files: every way reading a user's file fails is one sentence naming the file."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from engine.errors import UserError
from engine.files import file_size, read_bytes, read_error_message, read_text


class FormatError(UserError):
    """A caller's own error family."""


def test_a_missing_file_is_named(tmp_path):
    path = tmp_path / "gone.csv"
    with pytest.raises(FormatError, match=f"^{path}: no such file$"):
        read_bytes(path, FormatError)


def test_a_folder_says_what_was_expected(tmp_path):
    with pytest.raises(FormatError, match="is a folder, not a CSV file"):
        read_text(tmp_path, FormatError, what="a CSV file")


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.lforge"
    path.write_bytes(b"x" * 11)
    with pytest.raises(FormatError, match="11 bytes is too large for a project file"):
        read_bytes(path, FormatError, what="a project file", max_bytes=10)


def test_an_unreadable_file_gives_the_reason_in_words(tmp_path, monkeypatch):
    path = tmp_path / "secret.txt"
    path.write_text("x")

    def denied(self):  # chmod 0 does not stop root, who runs some CI jobs
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(FormatError, match=r"cannot read the file \(permission denied\)"):
        read_bytes(path, FormatError)


def test_bad_utf8_names_the_byte_its_offset_and_line(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"first line\nab\xffc")
    with pytest.raises(FormatError, match=r"byte 0xff at byte offset 13 \(line 2\)"):
        read_text(path, FormatError)


def test_a_bom_is_dropped_only_when_asked(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes("\ufeffa,b\n".encode())
    assert read_text(path, FormatError, strip_bom=True) == "a,b\n"
    assert read_text(path, FormatError) == "\ufeffa,b\n"


def test_the_hint_ends_every_message(tmp_path):
    with pytest.raises(FormatError, match="no such file; retrain the run$"):
        read_text(tmp_path / "data.json", FormatError, hint="retrain the run")


def test_the_size_of_a_folder_is_refused_with_what_was_expected(tmp_path):
    with pytest.raises(FormatError, match=f"^{tmp_path}: is a folder, not an IDX file$"):
        file_size(tmp_path, FormatError, what="an IDX file")


def test_a_reader_that_opens_the_file_itself_says_what_read_bytes_says(tmp_path):
    path = tmp_path / "secret.gz"
    denied = PermissionError(errno.EACCES, "Permission denied", str(path))
    assert read_error_message(path, denied, hint="retrain the run") == (
        f"{path}: cannot read the file (permission denied); retrain the run")
    with pytest.raises(FormatError) as missing:
        read_bytes(path, FormatError)
    assert str(missing.value) == read_error_message(path, FileNotFoundError(errno.ENOENT, "x"))
