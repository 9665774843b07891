"""Is the sensor where the user says it is? A foot swings hard (peaks of 6 g and more, pitch
rates of 450 deg/s and more); a trunk sensor rarely exceeds 5 g or 250 deg/s (typical peaks per
second of running, from the real and virtual recordings in data/: waist 4.6 g, sacrum 2.5-3.6 g and
80-210 deg/s; shoe 6-8 g and 460-660 deg/s). After about
20 s of movement this check emits one `QualityEvent` ("placement_mismatch") if the signal
contradicts the placement; the run goes on regardless.

Statistics are kept per 1-second window of sample indices and use only maxima and minima,
so the verdict does not depend on how the stream was cut into blocks.
"""

from __future__ import annotations

import numpy as np

from gait.core.config import GRAVITY_MPS2
from gait.core.params import PlacementCheckParams
from gait.core.records import QualityEvent


class PlacementCheck:
    """Thresholds: `PlacementCheckParams` (``config.params.placement_check``)."""

    def __init__(self, placement: str, sampling_rate_hz: float, params: PlacementCheckParams):
        self.placement = placement
        self.p = params
        self.window = max(1, int(round(params.window_s * sampling_rate_hz)))
        self.reset()

    def reset(self) -> None:
        self._win_id = -1
        self._win_max = -np.inf
        self._win_min = np.inf
        self._win_gyr = -np.inf
        self._acc_peaks: list[float] = []
        self._gyr_peaks: list[float] = []
        self._last_t = float("nan")
        self.done = False

    def update(
        self, index0: int, time_s: np.ndarray, acc_mps2: np.ndarray, gyr_dps: np.ndarray | None
    ) -> QualityEvent | None:
        if self.done or time_s.shape[0] == 0:
            return None
        norm_g = np.sqrt(np.einsum("ij,ij->i", acc_mps2, acc_mps2)) / GRAVITY_MPS2
        n, w = time_s.shape[0], self.window
        # the block cut where a window starts (a live frame usually lies within one window)
        cuts = list(range(w - index0 % w, n, w))
        for a, b in zip([0, *cuts], [*cuts, n]):
            wid = (index0 + a) // w
            if wid != self._win_id:
                notice = self._close_window()
                if notice is not None:
                    return notice
                self._win_id = wid
                self._win_max, self._win_min, self._win_gyr = -np.inf, np.inf, -np.inf
            seg = norm_g[a:b]
            self._win_max = max(self._win_max, float(seg.max()))
            self._win_min = min(self._win_min, float(seg.min()))
            if gyr_dps is not None:
                self._win_gyr = max(self._win_gyr, float(np.abs(gyr_dps[a:b]).max()))
            self._last_t = float(time_s[b - 1])
        return None

    def _close_window(self) -> QualityEvent | None:
        if self._win_id < 0 or self._win_max - self._win_min < self.p.moving_range_g:
            return None
        self._acc_peaks.append(self._win_max)
        if np.isfinite(self._win_gyr):
            self._gyr_peaks.append(self._win_gyr)
        if len(self._acc_peaks) < self.p.moving_windows_count:
            return None
        self.done = True
        return self._verdict()

    def _verdict(self) -> QualityEvent | None:
        acc_typ = float(np.median(self._acc_peaks))
        gyr_typ = float(np.median(self._gyr_peaks)) if self._gyr_peaks else None
        is_foot = self.placement == "foot"
        if gyr_typ is not None:
            wrong = gyr_typ < self.p.foot_min_gyr_dps if is_foot else gyr_typ > self.p.trunk_max_gyr_dps
            evidence = f"angular rate peaks of {gyr_typ:.0f} deg/s"
        else:
            wrong = acc_typ < self.p.foot_min_acc_g if is_foot else acc_typ > self.p.trunk_max_acc_g
            evidence = f"acceleration peaks of {acc_typ:.1f} g"
        if not wrong:
            return None
        looks = "a trunk (waist, sacrum or chest) sensor" if is_foot else "a foot or ankle sensor"
        return QualityEvent(
            time_s=self._last_t,
            code="placement_mismatch",
            message=f"placement {self.placement!r} looks wrong: {evidence} are typical of {looks}",
        )
