"""AudioPlayer: a Play/Stop button that plays one clip (a float waveform and its rate).

QtMultimedia plays files, so the clip is written to a temporary 16-bit WAV (soundfile) and
handed to a ``QMediaPlayer``; the file is replaced by the next clip and removed when the
widget goes. Without an audio device (a server, the offscreen tests) Qt's FFmpeg backend
still "plays" the clip silently for its duration and then stops, so the button goes back to
Play on its own; the note beside it says that nothing will be heard. The player is made on
the first Play, so a panel that never plays a clip never loads the multimedia backend.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from app.widgets.labels import plain_label

NO_DEVICE = "No sound output device: the clip plays silently."


def write_wav(wave: Any, rate: int) -> str:
    """``wave`` (float, about -1..1, any shape holding one channel) as a temporary 16-bit
    WAV file; returns its path (the caller removes it)."""
    import soundfile

    samples = np.clip(np.asarray(wave, dtype=np.float32).reshape(-1), -1.0, 1.0)
    fd, path = tempfile.mkstemp(prefix="layerforge-clip-", suffix=".wav")
    os.close(fd)
    soundfile.write(path, samples, int(rate), subtype="PCM_16")
    return path


def has_audio_output() -> bool:
    from PySide6.QtMultimedia import QMediaDevices

    return bool(QMediaDevices.audioOutputs())


class AudioPlayer(QWidget):
    """Play/Stop for the clip given with :meth:`set_clip`; ``playing_changed(bool)``
    follows the player (it goes False at the end of the clip too)."""

    playing_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button = QPushButton("Play")
        self.button.setToolTip("Play the clip shown.")
        self.note = plain_label(role="muted")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addWidget(self.note, 1)
        row.addStretch(0)  # the button keeps its width while the note is hidden
        self.note.hide()
        self._clip: tuple[np.ndarray, int] | None = None
        self._file = ""
        self._player: Any = None
        self._output: Any = None
        self.button.setEnabled(False)
        self.button.clicked.connect(self._on_button_clicked)

    # -- public API --------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        if self._player is None:
            return False
        from PySide6.QtMultimedia import QMediaPlayer

        return self._player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def set_clip(self, wave: Any | None, rate: int = 0) -> None:
        """The clip Play plays (None: none, the button is disabled); stops the one playing."""
        self.stop()
        self._clip = None if wave is None else (np.asarray(wave, dtype=np.float32), int(rate))
        self.button.setEnabled(self._clip is not None and rate > 0)

    def play(self) -> None:
        if self._clip is None:
            return
        player = self._ensure_player()
        self._remove_file()
        wave, rate = self._clip
        try:
            self._file = write_wav(wave, rate)
        except (OSError, RuntimeError) as e:  # a full disk, an unwritable temp folder
            self.note.setText(f"Cannot write the clip to play it: {e}")
            self.note.show()
            return
        self.note.setText("" if has_audio_output() else NO_DEVICE)
        self.note.setVisible(bool(self.note.text()))
        player.setSource(QUrl.fromLocalFile(self._file))
        player.play()

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()

    def shutdown(self) -> None:
        """Stop and remove the temporary file (the owner's shutdown calls it)."""
        self.stop()
        if self._player is not None:
            self._player.setSource(QUrl())
        self._remove_file()

    # -- internals ---------------------------------------------------------------------
    def _ensure_player(self) -> Any:
        if self._player is None:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

            self._output = QAudioOutput(self)
            self._player = QMediaPlayer(self)
            self._player.setAudioOutput(self._output)
            self._player.playbackStateChanged.connect(self._on_player_state_changed)
            self._player.errorOccurred.connect(self._on_player_error)
        return self._player

    def _on_button_clicked(self) -> None:
        if self.playing:
            self.stop()
        else:
            self.play()

    def _on_player_state_changed(self, _state: object) -> None:
        playing = self.playing
        self.button.setText("Stop" if playing else "Play")
        self.playing_changed.emit(playing)

    def _on_player_error(self, _error: object, message: str) -> None:
        self.note.setText(f"Cannot play the clip: {message}" if message else
                          "Cannot play the clip.")
        self.note.show()

    def _remove_file(self) -> None:
        if self._file:
            Path(self._file).unlink(missing_ok=True)
            self._file = ""
