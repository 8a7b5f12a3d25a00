"""AudioView: one clip as the user sees and hears it: its waveform (level against seconds),
its spectrogram (frequency against seconds, level in dB as colour) and Play. The dataset
panel shows the clip picked in its list with it, the evaluation panel a misclassified or
transcribed clip and the one tried.

The spectrogram is computed by :func:`sound` (scipy), apart from the drawing, so a caller
that reads clips from disk computes it on the same background job (the dataset panel);
:meth:`AudioView.show_clip` computes it in place for a clip already in memory (a couple of
seconds of audio take about a millisecond).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QPalette, QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from app.text import plain_tooltip
from app.widgets.audio_player import AudioPlayer
from app.widgets.labels import plain_label
from app.widgets.plot_style import style_plot

#: the spectrogram's window and hop (25 ms and 10 ms, as speech front ends use) and the
#: range of levels drawn below the loudest (dB), so silence does not flatten the colours
WINDOW_SECONDS, HOP_SECONDS, DB_RANGE = 0.025, 0.010, 80.0
#: the spectrogram's colours, from quiet to loud (perceptually even, readable in both themes)
COLORMAP = "viridis"
#: a plot's height in a panel that scrolls (elsewhere the plots share the height given)
PLOT_HEIGHT = 170


@dataclass
class Sound:
    """A clip ready to draw and play: the samples at ``rate`` and their spectrogram in dB
    (``db`` [frequencies, frames], ``top_hz`` the highest frequency, ``hop`` seconds per
    frame)."""

    wave: np.ndarray
    rate: int
    db: np.ndarray
    top_hz: float
    hop: float

    @property
    def seconds(self) -> float:
        return len(self.wave) / self.rate if self.rate else 0.0


def spectrogram(wave: Any, rate: int) -> tuple[np.ndarray, float, float]:
    """``(dB [frequencies, frames], highest frequency, seconds per frame)`` of ``wave``:
    25 ms Hann windows every 10 ms, levels within :data:`DB_RANGE` of the loudest."""
    from scipy.signal import spectrogram as stft_power

    wave = np.asarray(wave, dtype=np.float32).reshape(-1)
    window = max(16, int(round(rate * WINDOW_SECONDS)))
    hop = max(1, int(round(rate * HOP_SECONDS)))
    if len(wave) < window:
        wave = np.pad(wave, (0, window - len(wave)))
    _freqs, _times, power = stft_power(wave, fs=rate, window="hann", nperseg=window,
                                       noverlap=window - hop, mode="psd")
    db = 10.0 * np.log10(power + 1e-12)
    db = np.maximum(db, db.max() - DB_RANGE)
    return db.astype(np.float32), rate / 2.0, hop / rate


def sound(wave: Any, rate: int) -> Sound:
    """``wave`` (float samples, any shape holding one channel) at ``rate`` Hz with its
    spectrogram; a background job's work when the clip comes from disk."""
    wave = np.asarray(wave, dtype=np.float32).reshape(-1)
    db, top, hop = spectrogram(wave, int(rate))
    return Sound(wave, int(rate), db, top, hop)


def _plot_widget(widget: pg.PlotWidget, y_label: str) -> None:
    item = widget.getPlotItem()
    item.setMenuEnabled(False)
    item.hideButtons()
    widget.setMouseEnabled(x=False, y=False)
    item.setLabel("bottom", "seconds")
    item.setLabel("left", y_label)
    for axis in ("bottom", "left"):  # "level (x0.001)" reads worse than 0.5
        item.getAxis(axis).enableAutoSIPrefix(False)


class WavePlot(pg.PlotWidget):
    """The samples of a clip against time (seconds); ``shown`` while a clip is drawn."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, enableMenu=False)
        _plot_widget(self, "amplitude")
        self.curve = pg.PlotDataItem()
        # thousands of samples per pixel: draw each pixel's peaks, and only what is visible
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        self.addItem(self.curve)
        self.shown = False
        self.restyle()

    def restyle(self) -> None:
        style_plot(self)
        accent = QGuiApplication.palette().color(QPalette.ColorRole.Highlight)
        self.curve.setPen(pg.mkPen(accent))

    def show_sound(self, s: Sound | None) -> None:
        self.restyle()  # the theme may have changed since the last clip
        if s is None or not len(s.wave):
            self.curve.setData([], [])
            self.shown = False
            return
        t = np.arange(len(s.wave), dtype=np.float64) / s.rate
        self.curve.setData(t, s.wave)
        peak = float(np.abs(s.wave).max()) or 1.0
        self.setXRange(0.0, s.seconds, padding=0)
        self.setYRange(-peak, peak, padding=0.05)
        self.shown = True


class SpectrogramPlot(pg.PlotWidget):
    """A clip's spectrogram: time (seconds) across, frequency (Hz) up, level as colour;
    ``shown`` while a clip is drawn."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, enableMenu=False)
        _plot_widget(self, "Hz")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get(COLORMAP))
        self.addItem(self.image)
        self.shown = False
        self.restyle()

    def restyle(self) -> None:
        style_plot(self)
        self.getPlotItem().showGrid(x=False, y=False)  # a grid over an image is clutter

    def show_sound(self, s: Sound | None) -> None:
        self.restyle()
        if s is None or s.db.size == 0:
            self.image.clear()
            self.shown = False
            return
        db = s.db  # [frequencies, frames]: row-major, frequency rows from the bottom
        self.image.setImage(db, levels=(float(db.min()), float(db.max())))
        width = db.shape[1] * s.hop
        self.image.setRect(QRectF(0.0, 0.0, width, s.top_hz))
        self.setXRange(0.0, width, padding=0)
        self.setYRange(0.0, s.top_hz, padding=0.03)  # room for the top tick's label
        self.shown = True


class AudioView(QWidget):
    """A title, Play, and the clip's waveform and spectrogram, one above the other or
    side by side (``beside``). In a panel that scrolls (``scrolling``) the plots keep a
    fixed height and the title wraps on a line of its own above Play; elsewhere the plots
    share the height given and the title is one line beside Play, elided in the middle
    (whole in its tooltip), so a long one never widens the view."""

    def __init__(self, beside: bool = False, scrolling: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sound: Sound | None = None
        self.scrolling = scrolling
        self._title = ""
        self.title = plain_label(role="muted", wrap=scrolling)
        self.player = AudioPlayer()
        # The plots are made for the first clip shown: most panels that hold a view never
        # show a clip (an image project), and two plots take 50 ms to make.
        self._plots: tuple[WavePlot, SpectrogramPlot] | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        top = QBoxLayout(QBoxLayout.Direction.TopToBottom if scrolling
                         else QBoxLayout.Direction.LeftToRight)
        if not scrolling:
            self.title.setMinimumWidth(40)
        top.addWidget(self.title, 0 if scrolling else 1)
        top.addWidget(self.player)
        lay.addLayout(top)
        self._plot_row = QBoxLayout(QBoxLayout.Direction.LeftToRight if beside
                                    else QBoxLayout.Direction.TopToBottom)
        lay.addLayout(self._plot_row, 1)

    @property
    def wave(self) -> WavePlot:
        return self._made_plots()[0]

    @property
    def spectrogram(self) -> SpectrogramPlot:
        return self._made_plots()[1]

    def _made_plots(self) -> tuple[WavePlot, SpectrogramPlot]:
        if self._plots is None:
            self._plots = (WavePlot(), SpectrogramPlot())
            for plot in self._plots:
                if self.scrolling:
                    plot.setFixedHeight(PLOT_HEIGHT)  # the panel scrolls; never grows
                else:
                    plot.setMinimumHeight(100)
                    # no preferred height: a scroll area sizes its page by the preferred
                    # heights (a layout with wrapping labels), and a plot's would push
                    # it past the window
                    plot.setSizePolicy(QSizePolicy.Policy.Expanding,
                                       QSizePolicy.Policy.Ignored)
                self._plot_row.addWidget(plot, 1)
        return self._plots

    @property
    def clip(self) -> np.ndarray | None:
        """The samples shown (None: no clip)."""
        return None if self.sound is None else self.sound.wave

    @property
    def rate(self) -> int:
        return 0 if self.sound is None else self.sound.rate

    def show_sound(self, s: Sound | None, title: str = "") -> None:
        """Draw ``s`` (None: nothing) and let Play play it."""
        self.sound = s
        self.set_title(title)
        if s is not None or self._plots is not None:
            self.wave.show_sound(s)
            self.spectrogram.show_sound(s)
        self.player.set_clip(s.wave if s is not None else None, s.rate if s else 0)

    def show_clip(self, clip: Any, rate: int, title: str = "") -> None:
        """Draw ``clip`` (float samples at ``rate`` Hz, in memory) and let Play play it."""
        self.show_sound(sound(clip, rate), title)

    def clear_all(self) -> None:
        self.show_sound(None)

    def set_title(self, title: str) -> None:
        """The line above the plots (whole in the tooltip when elided)."""
        self._title = title
        self.title.setToolTip(plain_tooltip(title) if title and not self.scrolling else "")
        self._elide_title()

    def title_text(self) -> str:
        """The whole title (the label may show it elided)."""
        return self._title

    def restyle(self) -> None:
        if self._plots is not None:
            self.wave.restyle()
            self.spectrogram.restyle()

    def shutdown(self) -> None:
        self.player.shutdown()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide_title()

    def _elide_title(self) -> None:
        if self.scrolling:
            self.title.setText(self._title)
            return
        room = max(self.width() - self.player.sizeHint().width() - 16, 80)
        self.title.setText(self.title.fontMetrics().elidedText(
            self._title, Qt.TextElideMode.ElideMiddle, room))
