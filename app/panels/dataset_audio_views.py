"""AudioPreview: what the dataset panel shows of sound data (sound classes and speech).

The facts first (clips read, entries skipped), the problems found, the list of clips (file,
label or transcript, seconds); the clip picked in the list drawn as a waveform and a
spectrogram with a Play button; then the class counts as bars and a histogram of the clips'
lengths. A picked clip is read and its spectrogram computed by a background job of the
view's own (the panel's loader keeps only its latest job, and a preview must not be
dropped for a clip); only the latest pick is shown.
"""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QVBoxLayout, QWidget

from app.panels.dataset_audio import AudioData, ClipView, clip_view
from app.panels.dataset_text_plot import HistogramPlot
from app.panels.dataset_text_views import ProblemsView, fill_table, preview_table
from app.runs.jobs import Jobs
from app.widgets.audio_view import AudioView
from app.widgets.bar_chart import BarChart
from app.widgets.labels import plain_label

CHANNELS = {1: "mono", 2: "stereo"}


def _tally(values: dict, name) -> str:
    """"16,000 Hz (10), 44,100 Hz (2)": each value named, with its clips."""
    return ", ".join(f"{name(k)} ({int(n):,})" for k, n in values.items())


def facts_lines(data: AudioData) -> list[str]:
    """The clips read, their classes or transcripts, how they were recorded, the clips
    the clip length cuts and the entries left out, one per line."""
    s = data.summary
    lines = [f"Clips: {data.samples:,}"]
    if data.kind == "audio" and data.counts:
        lines.append(f"Classes: {len(data.counts)}")
    if s.get("voices"):
        lines.append(f"Voices: espeak-ng, {int(s['voices']):,} kinds of voice, speed and "
                     "pitch")
    if data.kind == "speech":
        if s.get("transcripts_file"):
            lines.append(f"Transcripts: {s['transcripts_file']}")
        if s.get("characters") is not None:
            lines.append(f"Characters: {s['characters']!r}")
        if s.get("longest_transcript"):
            lines.append(f"Longest transcript: {int(s['longest_transcript'])} characters")
    if s.get("rates") and not s.get("voices"):
        lines.append("Recorded at: " + _tally(
            s["rates"], lambda r: f"{int(r):,} Hz"))
        lines.append("Channels: " + _tally(
            s["channels"], lambda c: CHANNELS.get(int(c), f"{c} channels")))
    if s.get("too_long"):
        seconds = float(s.get("clip_seconds", data.spec.clip_seconds))
        fate = "bad entries" if data.kind == "speech" else "cut"
        lines.append(f"Longer than the clip length ({seconds:g} s): {int(s['too_long']):,} "
                     f"clips ({fate})")
    lines.append(f"Bad entries: {data.skipped:,}" if data.skipped else "Bad entries: none")
    return lines


class AudioPreview(QWidget):
    """The facts, problems, clips, plots, Play, class counts and lengths of sound data."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: AudioData | None = None
        self.clip: ClipView | None = None
        self.loader = Jobs(self)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        self.facts = plain_label()
        self.problems = ProblemsView()
        self.clips_title = plain_label("Clips (pick one to see and hear it)", "muted")
        self.clips = preview_table()
        self.clips.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.clip_error = plain_label(role="error")
        self.sound = AudioView(scrolling=True)  # the picked clip: title, Play, plots
        self.player = self.sound.player
        self.counts_title = plain_label("Class counts", "muted")
        self.counts = BarChart()
        self.durations_title = plain_label("Clip lengths", "muted")
        self.durations = HistogramPlot()
        for w in (self.facts, self.problems, self.clips_title, self.clips, self.clip_error,
                  self.sound, self.counts_title, self.counts, self.durations_title,
                  self.durations):
            v.addWidget(w)
        self.clips.currentCellChanged.connect(self._on_clips_current_cell_changed)
        self.loader.finished.connect(self.show_clip)
        self.loader.failed.connect(self._on_loader_failed)
        self.show_data(None)

    def show_data(self, data: AudioData | None) -> None:
        """Show ``data`` (None: nothing, hidden) with its first clip drawn."""
        self.loader.cancel()
        self.data = data
        self.setVisible(data is not None)
        self.clip_error.hide()
        if data is None:
            self.clips.clear()
            self.show_clip(None)
            self.durations.show_histogram(None, "", "")
            return
        self.facts.setText("\n".join(facts_lines(data)))
        self.problems.show_problems(data.problems, data.skipped)
        if data.problems and data.spec.bad_entries == "stop":
            self.problems.title.setText("Problems found: loading stops at the first one "
                                        "(set Bad entries to Skip to leave them out):")
        said = "Label" if data.kind == "audio" else "Transcript"
        fill_table(self.clips, ["File", said, "Seconds"],
                   [[c.file, c.label, f"{c.seconds:.2f}"] for c in data.clips],
                   wide=1 if data.kind == "audio" else 2)
        self.clips_title.setVisible(bool(data.clips))
        self.clips.setVisible(bool(data.clips))
        self.show_clip(data.first)
        if data.first is not None:
            self.clips.blockSignals(True)
            self.clips.selectRow(data.first.row)
            self.clips.blockSignals(False)
        self.counts.set_items(data.counts)
        self.counts_title.setVisible(bool(data.counts))
        self.counts.setVisible(bool(data.counts))
        # one length for every clip (a generated set) is said in the list, not drawn
        hist = data.durations
        spread = hist is not None and sum(1 for n in hist.counts if n) > 1
        self.durations.show_histogram(hist if spread else None, "seconds", "clips")
        self.durations_title.setVisible(spread)
        self.durations.setVisible(spread)

    def show_clip(self, clip: object) -> None:
        """Draw ``clip`` (a :class:`ClipView`; None: none) and let Play play it."""
        self.clip = clip if isinstance(clip, ClipView) else None
        c = self.clip
        name = ""
        if c is not None and self.data is not None and c.row < len(self.data.clips):
            listed = self.data.clips[c.row]
            name = f"{listed.file}, voice {listed.voice}" if listed.voice else listed.file
        self.sound.show_sound(c, f"{name}: {c.seconds:.2f} s at {c.rate:,} Hz" if c else "")
        self.sound.setVisible(c is not None)

    def pick(self, row: int) -> None:
        """Read the clip of list ``row`` in the background and draw it when it comes."""
        if self.data is None or not 0 <= row < len(self.data.clips):
            return
        if self.clip is not None and self.clip.row == row:
            return
        spec, index = self.data.spec, self.data.clips[row].index
        self.player.stop()
        self.clip_error.hide()
        self.loader.submit(lambda _report: clip_view(spec, row, index))

    def shutdown(self) -> None:
        self.loader.cancel()
        self.loader.wait()
        self.sound.shutdown()

    def _on_clips_current_cell_changed(self, row: int, *_args: int) -> None:
        self.pick(row)

    def _on_loader_failed(self, message: str) -> None:
        self.clip_error.setText(message)
        self.clip_error.show()
