"""Is the sensor where the user says it is? A foot swings hard (peaks of 6 g and more, pitch
rates of several hundred deg/s); a trunk sensor rarely exceeds 5 g or 250 deg/s. After about
20 s of movement this check emits one `QualityEvent` ("placement_mismatch") if the signal
contradicts the placement; the run goes on regardless."""

from __future__ import annotations

import numpy as np

from gait.core.config import GRAVITY_MPS2
from gait.core.records import QualityEvent

WINDOW_S = 20.0
MOVING_STD_G = 0.25  # frames quieter than this (std of |acc|) are not running
TRUNK_MAX_ACC_G = 7.0
FOOT_MIN_ACC_G = 3.0
TRUNK_MAX_GYR_DPS = 300.0
FOOT_MIN_GYR_DPS = 250.0


class PlacementCheck:
    def __init__(self, placement: str):
        self.placement = placement
        self.reset()

    def reset(self) -> None:
        self._acc_peaks: list[float] = []
        self._gyr_peaks: list[float] = []
        self._moving_s = 0.0
        self.done = False

    def update(self, time_s: np.ndarray, acc_mps2: np.ndarray, gyr_dps: np.ndarray | None) -> QualityEvent | None:
        if self.done or time_s.shape[0] < 2:
            return None
        norm_g = np.linalg.norm(acc_mps2, axis=1) / GRAVITY_MPS2
        if float(np.std(norm_g)) < MOVING_STD_G:
            return None
        self._moving_s += float(time_s[-1] - time_s[0])
        self._acc_peaks.append(float(norm_g.max()))
        if gyr_dps is not None:
            self._gyr_peaks.append(float(np.abs(gyr_dps).max()))
        if self._moving_s < WINDOW_S:
            return None
        self.done = True
        acc95 = float(np.percentile(self._acc_peaks, 95))
        gyr95 = float(np.percentile(self._gyr_peaks, 95)) if self._gyr_peaks else None
        is_foot = self.placement == "foot"
        if gyr95 is not None:
            wrong = gyr95 < FOOT_MIN_GYR_DPS if is_foot else gyr95 > TRUNK_MAX_GYR_DPS
            evidence = f"angular rate peaks {gyr95:.0f} deg/s"
        else:
            wrong = acc95 < FOOT_MIN_ACC_G if is_foot else acc95 > TRUNK_MAX_ACC_G
            evidence = f"acceleration peaks {acc95:.1f} g"
        if not wrong:
            return None
        looks = "a trunk (waist, sacrum or chest) sensor" if is_foot else "a foot or ankle sensor"
        return QualityEvent(
            time_s=float(time_s[-1]),
            code="placement_mismatch",
            message=f"placement {self.placement!r} looks wrong: {evidence} are typical of {looks}",
        )
