"""Running-form analysis from body-worn IMUs: per-step gait metrics, live and offline."""

from gait.core.compiled import install_guard

install_guard()
