"""Every sentence the programme says to the runner, in one place.

A test reads this module and fails on a forbidden encouragement (keep going, push, almost there,
no pain no gain, pace or distance encouragement) and on a diagnostic name in a statement. The
software asks and tells what to do; it never names a condition the runner might have.
"""

from __future__ import annotations

# --- the red-flag screen (F1) -----------------------------------------------------------------
# Each question asks about something new or worse since the last recorded clinician review, so a
# runner whose stable symptoms were assessed is not locked for ever. Ids are stable (stored).

EMERGENCY_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("saddle_numbness",
     "Since your last review by a clinician: new numbness or tingling around your genitals, "
     "bottom (anus) or inner thighs?"),
    ("bladder",
     "New trouble starting to pee, not being able to pee, or not being able to control peeing "
     "(bladder)?"),
    ("bowel",
     "New loss of bowel control (poo), or not feeling the need to go?"),
    ("both_legs",
     "Leg pain, tingling or numbness now in both legs (new, or spread from one leg to both legs)?"),
    ("both_legs_weak",
     "Weakness or numbness in both legs that is severe or getting worse?"),
    ("sexual_function",
     "New problems with sex (erection, ejaculation) or loss of feeling in your genitals?"),
)

URGENT_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("foot_drop",
     "Since your last review by a clinician: a foot that now drags or slaps (foot drop), or a leg "
     "getting weaker over days?"),
    ("fever",
     "A fever, or feeling generally unwell, together with your back pain?"),
    ("cancer_history",
     "Have you ever had cancer, and has this back pain not yet been checked by a clinician who "
     "knows that?"),
    ("weight_loss",
     "Weight loss you cannot explain?"),
    ("night_pain",
     "Pain that is worse at night or at rest and does not ease when you change position?"),
    ("trauma",
     "Back pain that started after a significant fall or accident?"),
    ("age",
     "Is this back pain new since your last clinician review, and are you under 20 or over 55?"),
    ("immune",
     "Do you take steroid tablets long term, or has a doctor told you your immune system is "
     "weakened?"),
)

# One line per emergency sign: shown on every programme page and check-in, and first in every export.
RED_FLAG_TITLE = "Seek emergency care now (emergency department, or call your emergency number) if you notice:"
RED_FLAG_LINES: tuple[str, ...] = (
    "numbness or tingling around your genitals, bottom or inner thighs",
    "new trouble peeing, or not being able to control your bladder",
    "new loss of bowel control",
    "leg pain, tingling or numbness in both legs",
    "weakness or numbness in both legs that is severe or getting worse",
    "new problems with sex or loss of feeling in your genitals",
)
DISCLAIMER = (
    "This programme is not medical advice and does not diagnose anything. It records what you tell "
    "it and applies fixed, cautious rules. If you are worried about your symptoms, see a doctor."
)

# --- states -------------------------------------------------------------------------------------
EMERGENCY_MESSAGE = (
    "Seek emergency care now: go to an emergency department or call your emergency number. "
    "Do not run. The programme stays locked until a clinician has reviewed you and you answer "
    "the questions again."
)
URGENT_MESSAGE = (
    "See a doctor within 1-2 days (24-48 hours). Until then, walking only. The programme stays "
    "paused until a clinician review is recorded and you answer the questions again."
)
REVIEW_MESSAGE = (
    "Your pain has been rising from week to week. See your doctor or physiotherapist. The "
    "programme is on hold (walking only) until a clinician review is recorded."
)
NOT_IMPROVED_MESSAGE = (
    "Your pain has not eased over six weeks of check-ins. See your doctor or physiotherapist. The "
    "programme is on hold (walking only) until a clinician review is recorded."
)
HOLD_MESSAGE = (
    "Two sessions in 14 days were followed by too much pain. The programme is on hold (walking "
    "only). See your doctor or physiotherapist; record their review to go on."
)
READY_MESSAGE = "Follow today's plan. Stop and walk if your pain rises."
SCREEN_DUE_MESSAGE = "Please answer the safety questions before today's run."
NUMBNESS_MESSAGE = (
    "New numbness or weakness in a leg: please answer the safety questions now, and see a doctor "
    "about it."
)
CLEAR_SCREEN_MESSAGE = "No warning signs reported. Thank you for answering."
CLEARANCE_RECORDED = "Clinician review recorded. Now answer the safety questions again."

# --- pain (F2) ----------------------------------------------------------------------------------
STOP_PHRASE = "Stop running now and walk. Running with this much pain is not part of the plan."
PRE_RUN_GATE_MESSAGE = (
    "Your pain before the run is 6 or more. No running today: walk gently or rest, as you prefer."
)
PAIN_PROMPT = "Pain check: say or tap a number from 0 to 10 for your leg, then your back."
ZONE_MESSAGES: dict[str, str] = {
    "green": "Green: the session and the next morning were comfortable.",
    "amber": "Amber: some pain. The plan repeats this stage rather than stepping up.",
    "red": "Red: too much pain, or it did not settle by the next morning. The plan steps back one stage.",
    "unknown": "Unknown: no next-morning check-in. The plan does not step up without it.",
}

# --- walk-run (F3) ------------------------------------------------------------------------------
RUN_NOW = "Run now. Easy effort."
WALK_NOW = "Walk now."
INTERVAL_COUNT = "{index} of {count}"
WARM_UP_WALK = "Brisk walk for 10 minutes first."
COOL_DOWN_WALK = "Walk for 5 minutes to finish."
REST_DAY_MESSAGE = "Rest day: no running today. Easy walking is fine."
SESSION_DONE = "Session recorded. Please check in tomorrow morning."
KIND_WORDS: dict[str, str] = {
    "rest": "rest",
    "walk": "brisk walk, 30 minutes",
    "walk-run": "walk-run",
    "run": "easy continuous run",
}

# --- retraining, one focus at a time (F4) and the form-pain review (F5) -------------------------
# Cue wording names something outside the body where it can (external focus, G14): (below the
# band, above the band) for each focus metric.
FOCUS_CUES_BELOW: dict[str, str] = {
    "cadence": "Quick, light steps to the beat.",
    "landing": "Land quietly, as if the ground were thin ice.",
    "lean": "Let the path ahead draw you gently forward.",
}
FOCUS_CUES_ABOVE: dict[str, str] = {
    "cadence": "Let the beat settle: easy, relaxed steps.",
    "landing": "Land quietly, as if the ground were thin ice.",
    "lean": "Run tall: head up towards the sky.",
}
FOCUS_NAMES: dict[str, str] = {
    "cadence": "quicker, lighter steps (cadence)",
    "landing": "a softer landing",
    "lean": "trunk lean within your own band",
}
FOCUS_CHECK_CUE = "Form check: {focus}."
PROBE_START = "Probe: five minutes without cues. Run the way you practised."
PROBE_END = "Probe done. Thank you."
FOCUS_BOUNCE_NOTE = "Bounce is shown in the review, not cued: it usually falls as cadence rises."
FOCUS_LANDING_WARNING = (
    "A softer landing can move load to the calf and Achilles: the check-ins ask about them while "
    "this focus is active."
)
FOCUS_LEAN_NOTE = "No evidence for a best lean in back pain: the band is around your own usual lean."
LANDING_CHECKIN_QUESTIONS: tuple[str, ...] = (
    "Calf pain today, 0 to 10?",
    "Achilles (back of the heel) pain today, 0 to 10?",
)
FOCUS_STALLED = (
    "The probes did not hold the change twice. This focus stays in maintenance and no new focus "
    "unlocks; a review with a coach or physiotherapist can help."
)
FOCUS_REPEAT = "The probe did not hold the change: sessions 5 to 8 repeat once."
FOCUS_PASSED = "The 7-day probe held the change. The next focus can start after 14 days without a red session."
ASSOCIATION_CAPTION = "An association in your own data, not proof of cause."
ASSOCIATION_NOT_ENOUGH = "Not enough data yet: the view needs at least 6 sessions over 21 days."
