"""Cues: coach alerts as on-screen text and sound, without ever blocking the pipeline.

Sound, best available first:

- ``termux``: the alert's message spoken by the phone's text-to-speech through Termux:API's
  ``termux-tts-speak`` (Android, in Termux; on the media stream, so it goes to headphones);
- ``speech``: the alert's message spoken by ``espeak-ng`` (a subprocess, not waited for);
- ``tone``: a short generated WAV (two beeps for a cue, a rising pair for 'good', three low
  beeps for stop) played by ``paplay`` or ``aplay``;
- ``bell``: the terminal bell;
- ``silent``: nothing (tests, replays); what would have been played is still logged.

``auto`` takes ``termux`` when ``termux-tts-speak`` is on PATH (only Termux has it), then
``speech``, ``tone``, ``bell``.

`CuePlayer.play` starts the sound and returns at once. While a sound is still playing a new one
is dropped (its text is still shown), except a stop, which cuts the old sound short. ALERT_SILENT
alerts are recorded by the coach only: no sound, and no text unless ``show_silent``.

Presentation only: imports gait.core and gait.coach (the import contract in pyproject.toml).
"""

from __future__ import annotations

import io
import math
import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gait.coach.rules import SPECS
from gait.core.records import ALERT_CLEAR, ALERT_CUE, ALERT_SILENT, ALERT_STOP, Alert

MODES = ("auto", "speech", "termux", "tone", "bell", "silent")
TERMUX_TTS = "termux-tts-speak"
TERMUX_STREAM = "MUSIC"  # the media stream: headphones, media volume, not muted by do-not-disturb
TONE_RATE_HZ = 16000
# (frequency Hz, duration s) per note, 0 Hz = a rest
TONES: dict[str, tuple[tuple[float, float], ...]] = {
    ALERT_CUE: ((880.0, 0.12), (0.0, 0.06), (880.0, 0.12)),
    ALERT_CLEAR: ((660.0, 0.10), (990.0, 0.14)),
    ALERT_STOP: ((330.0, 0.35), (0.0, 0.10), (330.0, 0.35), (0.0, 0.10), (330.0, 0.35)),
    # today's session (rule "interval", the phase in the alert's target): run rises, walk falls
    "run": ((523.0, 0.10), (659.0, 0.10), (784.0, 0.18)),
    "walk": ((784.0, 0.18), (523.0, 0.25)),
}
RULE_TITLES = {
    "bounce": "BOUNCE",
    "vertical_ratio": "BOUNCE",
    "heel_strike": "FOOT STRIKE",
    "cadence": "CADENCE",
    "contact_time": "CONTACT",
    "lean": "POSTURE",
    "asymmetry": "BALANCE",
    "arm_cross": "ARMS",
    "pain": "PAIN",
    "interval": "SESSION",
    "landing": "LANDING",
}


def format_alert(alert: Alert, t0_s: float = 0.0) -> str:
    """One line of screen text: ``[12:34] CADENCE  Quicker, shorter steps  (158 spm; target 165 to 173 spm)``."""
    t = max(0.0, alert.time_s - t0_s)
    clock = f"{int(t // 60):d}:{int(t % 60):02d}"
    title = RULE_TITLES.get(alert.rule, alert.rule.upper())
    mark = {ALERT_STOP: "!! ", ALERT_CUE: "", ALERT_CLEAR: "", ALERT_SILENT: "(silent) "}.get(alert.kind, "")
    detail = []
    if alert.value is not None and alert.rule != "pain":
        detail.append(_value_text(alert))
    if alert.target and alert.rule != "interval":  # an interval's target is its phase (walk, run...)
        detail.append(f"target {alert.target}")
    tail = f"  ({'; '.join(detail)})" if detail else ""
    return f"[{clock}] {mark}{title}  {alert.message}{tail}"


def _value_text(alert: Alert) -> str:
    spec = SPECS.get(alert.rule)
    unit = spec.unit if spec is not None else ""
    v = alert.value
    assert v is not None
    digits = 0 if abs(v) >= 100 else 1
    return f"{v:.{digits}f} {unit}".strip()


def tone_wav(kind: str, rate_hz: int = TONE_RATE_HZ) -> bytes:
    """A short 16-bit mono WAV for an alert kind (sine notes with 5 ms fades, no clicks)."""
    notes = TONES.get(kind, TONES[ALERT_CUE])
    frames = bytearray()
    fade = int(0.005 * rate_hz)
    for freq, dur in notes:
        n = int(dur * rate_hz)
        for i in range(n):
            env = min(1.0, i / fade, (n - 1 - i) / fade) if fade else 1.0
            v = 0.0 if freq <= 0 else 0.5 * env * math.sin(2.0 * math.pi * freq * i / rate_hz)
            frames += int(v * 32767).to_bytes(2, "little", signed=True)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(bytes(frames))
    return buf.getvalue()


@dataclass(frozen=True)
class Played:
    """What `CuePlayer.play` did with one alert (for logs and tests)."""

    alert: Alert
    text: str | None  # the screen line, None when not shown
    sound: str  # "speech" | "termux" | "tone" | "bell" | "none" | "dropped" (busy)
    command: tuple[str, ...] = ()


class CuePlayer:
    """Shows and sounds alerts. ``mode``: one of `MODES` ("auto" picks the best available).

    ``which`` and ``popen`` are injectable (tests use fakes; nothing is played in 'silent').
    ``out`` receives the screen lines (None: not printed, only returned / logged).
    """

    def __init__(
        self,
        mode: str = "auto",
        out: IO[str] | None = None,
        show_silent: bool = False,
        t0_s: float = 0.0,
        voice_rate_wpm: int = 175,
        which: Callable[[str], str | None] = shutil.which,
        popen: Callable[..., Any] = subprocess.Popen,
    ):
        if mode not in MODES:
            raise ValueError(f"cue mode must be one of {MODES}, got {mode!r}")
        self.out = out
        self.show_silent = show_silent
        self.t0_s = t0_s
        self.voice_rate_wpm = voice_rate_wpm
        self._which = which
        self._popen = popen
        self._proc: Any = None
        self._wav_dir: Path | None = None
        self.log: list[Played] = []
        self.espeak = which("espeak-ng")
        self.termux = which(TERMUX_TTS)
        self.player = which("paplay") or which("aplay")
        self.mode = self._resolve(mode)

    def _resolve(self, mode: str) -> str:
        if mode != "auto":
            return mode
        if self.termux:
            return "termux"
        if self.espeak:
            return "speech"
        if self.player:
            return "tone"
        return "bell"

    # --- the one call ------------------------------------------------------------------------
    def play(self, alert: Alert) -> Played:
        """Show and sound one alert; returns at once."""
        silent = alert.kind == ALERT_SILENT
        text = format_alert(alert, self.t0_s) if (not silent or self.show_silent) else None
        if text is not None and self.out is not None:
            self.out.write(text + "\n")
            self.out.flush()
        if silent:
            return self._logged(Played(alert, text, "none"))
        if self.mode == "silent":
            return self._logged(Played(alert, text, "none"))
        if self._busy():
            if alert.kind != ALERT_STOP:
                return self._logged(Played(alert, text, "dropped"))
            self._cut()
        if (
            self.mode == "bell"
            or (self.mode == "speech" and not self.espeak)
            or (self.mode == "termux" and not self.termux)
            or (self.mode == "tone" and not self.player)
        ):
            stream = self.out if self.out is not None else sys.stdout
            stream.write("\a")
            stream.flush()
            return self._logged(Played(alert, text, "bell"))
        if self.mode == "speech":
            cmd = (str(self.espeak), "-s", str(self.voice_rate_wpm), alert.message)
            sound = "speech"
        elif self.mode == "termux":  # -r: 1.0 is the engine's normal rate (espeak-ng's is 175 wpm)
            rate = f"{self.voice_rate_wpm / 175.0:.2f}"
            cmd = (str(self.termux), "-s", TERMUX_STREAM, "-r", rate, alert.message)
            sound = "termux"
        else:
            tone = alert.target if alert.rule == "interval" and alert.target in TONES else alert.kind
            cmd = (str(self.player), str(self._wav(tone)))
            sound = "tone"
        try:
            self._proc = self._popen(
                list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
            )
        except OSError:
            self._proc = None
            return self._logged(Played(alert, text, "none", cmd))
        return self._logged(Played(alert, text, sound, cmd))

    def play_all(self, alerts: list[Alert]) -> list[Played]:
        return [self.play(a) for a in alerts]

    def close(self) -> None:
        """Stop a sound still playing (only the one this player started)."""
        self._cut()

    # --- internals ---------------------------------------------------------------------------
    def _logged(self, p: Played) -> Played:
        self.log.append(p)
        return p

    def _busy(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _cut(self) -> None:
        if self._busy():
            try:
                self._proc.terminate()
            except OSError:
                pass
        self._proc = None

    def _wav(self, kind: str) -> Path:
        if self._wav_dir is None:
            self._wav_dir = Path(tempfile.mkdtemp(prefix="gait-cues-"))
        path = self._wav_dir / f"{kind}.wav"
        if not path.exists():
            path.write_bytes(tone_wav(kind))
        return path
