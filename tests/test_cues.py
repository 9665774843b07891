"""Cues: screen text, speech / tone / bell back-ends, never blocking."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import time
import wave

import pytest

from gait.core.records import ALERT_CLEAR, ALERT_CUE, ALERT_SILENT, ALERT_STOP, Alert
from gait.cues import CuePlayer, format_alert, tone_wav

CUE = Alert(
    time_s=754.2,
    rule="cadence",
    kind=ALERT_CUE,
    message="Quicker, shorter steps",
    value=158.4,
    target="165 to 173 spm (baseline 157 spm)",
    severity="warn",
)
BOUNCE = Alert(
    time_s=30.0,
    rule="bounce",
    kind=ALERT_CUE,
    message="Less bounce: run low and light",
    value=10.26,
    target="<= 9.3 cm",
    severity="warn",
)
GOOD = Alert(
    time_s=800.0,
    rule="cadence",
    kind=ALERT_CLEAR,
    message="Good: cadence on target",
    value=166.0,
    target="165 to 173 spm",
)
QUIET = Alert(time_s=801.0, rule="lean", kind=ALERT_SILENT, message="trunk lean off target", value=3.0)
STOP = Alert(time_s=900.0, rule="pain", kind=ALERT_STOP, message="Stop and walk: pain 5/10", value=5.0, severity="stop")


class FakeProc:
    def __init__(self, running: bool = True):
        self.running = running
        self.terminated = False

    def poll(self):
        return None if self.running else 0

    def terminate(self):
        self.terminated = True
        self.running = False


class FakePopen:
    def __init__(self, running: bool = True):
        self.calls: list[list[str]] = []
        self.procs: list[FakeProc] = []
        self.running = running

    def __call__(self, cmd, **kw):
        assert kw["stdout"] is subprocess.DEVNULL and kw["stderr"] is subprocess.DEVNULL
        self.calls.append(cmd)
        p = FakeProc(self.running)
        self.procs.append(p)
        return p


def which_only(*names):
    return lambda name: f"/usr/bin/{name}" if name in names else None


def test_screen_text():
    assert (
        format_alert(CUE)
        == "[12:34] CADENCE  Quicker, shorter steps  (158 spm; target 165 to 173 spm (baseline 157 spm))"
    )
    assert format_alert(BOUNCE) == "[0:30] BOUNCE  Less bounce: run low and light  (10.3 cm; target <= 9.3 cm)"
    assert format_alert(STOP) == "[15:00] !! PAIN  Stop and walk: pain 5/10"
    assert format_alert(CUE, t0_s=754.2).startswith("[0:00] ")


def test_silent_mode_shows_text_and_plays_nothing():
    out, popen = io.StringIO(), FakePopen()
    p = CuePlayer("silent", out=out, which=which_only("espeak-ng", "aplay"), popen=popen)
    played = p.play_all([CUE, QUIET, GOOD, STOP])
    assert popen.calls == []
    assert [x.sound for x in played] == ["none"] * 4
    assert out.getvalue().splitlines() == [format_alert(CUE), format_alert(GOOD), format_alert(STOP)]
    assert played[1].text is None  # ALERT_SILENT: recorded by the coach, not shown
    shown = CuePlayer("silent", show_silent=True, popen=popen).play(QUIET)
    assert shown.text == "[13:21] (silent) POSTURE  trunk lean off target  (3.0 deg)"


def test_auto_prefers_speech_and_never_waits():
    popen = FakePopen(running=True)
    p = CuePlayer("auto", which=which_only("espeak-ng", "aplay"), popen=popen)
    assert p.mode == "speech"
    first = p.play(CUE)
    assert first.sound == "speech" and popen.calls[0] == ["/usr/bin/espeak-ng", "-s", "175", "Quicker, shorter steps"]
    # still speaking: the next cue is shown but not queued behind it
    assert p.play(GOOD).sound == "dropped" and len(popen.calls) == 1
    # a stop cuts the old sound short
    assert p.play(STOP).sound == "speech" and popen.procs[0].terminated
    assert popen.calls[-1][-1] == "Stop and walk: pain 5/10"
    p.close()
    assert popen.procs[-1].terminated


def test_tone_when_there_is_no_speech():
    popen = FakePopen(running=False)
    p = CuePlayer("auto", which=which_only("aplay"), popen=popen)
    assert p.mode == "tone"
    p.play(CUE)
    p.play(STOP)
    cue_wav, stop_wav = popen.calls[0][1], popen.calls[1][1]
    assert popen.calls[0][0] == "/usr/bin/aplay" and cue_wav.endswith("cue.wav") and stop_wav.endswith("stop.wav")
    with wave.open(cue_wav) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        assert w.getnframes() == int(0.12 * 16000) * 2 + int(0.06 * 16000)  # beep, rest, beep
    with wave.open(stop_wav) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(1.25, abs=0.01)
    assert CuePlayer("auto", which=which_only("paplay", "aplay"), popen=popen).player == "/usr/bin/paplay"


def test_tone_wav_is_clean():
    data = tone_wav(ALERT_CLEAR)
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    pcm = memoryview(data)[44:].cast("h")
    assert max(abs(x) for x in pcm) <= int(0.5 * 32767) + 1
    assert abs(pcm[0]) < 100 and abs(pcm[-1]) < 300  # faded in and out: no click


def test_bell_when_nothing_else():
    out = io.StringIO()
    p = CuePlayer("auto", out=out, which=which_only(), popen=FakePopen())
    assert p.mode == "bell"
    assert p.play(CUE).sound == "bell"
    assert out.getvalue().endswith("\a")
    with pytest.raises(ValueError, match="cue mode"):
        CuePlayer("loud")


def test_a_real_slow_program_does_not_block(tmp_path):
    """A speech program that takes 2 s: play() returns at once, the next cue is dropped, close() ends it."""
    fake = tmp_path / "espeak-ng"
    fake.write_text("#!/bin/sh\nexec sleep 2\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    if os.name != "posix":
        pytest.skip("needs a POSIX shell")
    p = CuePlayer("speech", which=lambda n: str(fake) if n == "espeak-ng" else None)
    t0 = time.perf_counter()
    assert p.play(CUE).sound == "speech"
    assert p.play(BOUNCE).sound == "dropped"
    assert time.perf_counter() - t0 < 0.5
    proc = p._proc
    p.close()
    assert proc.wait(timeout=5) != 0  # terminated, not finished


# --- Termux: the phone's text-to-speech (termux-tts-speak, from the termux-api package) ------------


def test_termux_speech_is_chosen_first_and_falls_back_to_the_bell():
    popen = FakePopen(running=False)
    p = CuePlayer("auto", which=which_only("termux-tts-speak", "espeak-ng", "aplay"), popen=popen)
    assert p.mode == "termux"
    assert p.play(CUE).sound == "termux"
    assert popen.calls[0] == ["/usr/bin/termux-tts-speak", "-s", "MUSIC", "-r", "1.00", "Quicker, shorter steps"]
    assert CuePlayer("termux", voice_rate_wpm=210, which=which_only("termux-tts-speak"), popen=popen).play(
        STOP
    ).command[1:5] == ("-s", "MUSIC", "-r", "1.20")
    out = io.StringIO()
    missing = CuePlayer("termux", out=out, which=which_only("espeak-ng"), popen=popen)  # not on Termux
    assert missing.play(CUE).sound == "bell" and out.getvalue().endswith("\a")


def stand_in_termux_tts(folder) -> tuple[str, object]:
    """A real ``termux-tts-speak`` on PATH that appends its arguments (one JSON list a line) to a
    file: the boundary to Android's text-to-speech, which cannot run here."""
    folder.mkdir(parents=True, exist_ok=True)
    said = folder / "spoken.jsonl"
    exe = folder / "termux-tts-speak"
    exe.write_text(
        "#!/usr/bin/env python3\nimport json, sys\n"
        f"with open({str(said)!r}, 'a') as f:\n    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(folder), said


def test_termux_speech_runs_the_program_on_path(tmp_path, monkeypatch):
    if os.name != "posix":
        pytest.skip("needs a POSIX shell")
    bin_dir, said = stand_in_termux_tts(tmp_path / "bin")
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))
    p = CuePlayer("auto")  # the real shutil.which and subprocess.Popen
    assert p.mode == "termux" and p.termux == str(tmp_path / "bin" / "termux-tts-speak")
    assert p.play(CUE).sound == "termux"
    assert p._proc.wait(timeout=10) == 0
    assert p.play(STOP).sound == "termux"
    assert p._proc.wait(timeout=10) == 0
    lines = [json.loads(x) for x in said.read_text().splitlines()]
    assert lines == [["-s", "MUSIC", "-r", "1.00", CUE.message], ["-s", "MUSIC", "-r", "1.00", STOP.message]]
