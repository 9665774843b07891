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
WEEKLY_BRIEFING_INTRO = "Before this week's first session, a reminder."  # then the red-flag summary, spoken
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

# --- warm-up, heat and ice (F6) -----------------------------------------------------------------
WARM_UP_EVIDENCE = (
    "A 10-minute brisk walk before every session is part of the return-to-run guidance this plan "
    "follows (clinical practice, not tested in a trial)."
)
HEAT_EVIDENCE = (
    "Heat can ease back pain for a short time (small effect in acute/subacute back pain). It is not "
    "shown to prepare you for running."
)
ICE_EVIDENCE = (
    "Evidence for cold in back pain is insufficient; using cold after every session may blunt "
    "strength gains."
)
ICE_CLOTH = "Put a cloth between the pack and your skin, and take the pack off if the skin goes numb."
HEAT_STARTED = "Heat timer started: {minutes:g} minutes, until {ends}. It stops by itself."
ICE_STARTED = "Ice timer started: {minutes:g} minutes, until {ends}. It stops by itself."
NUMB_SKIN_REFUSAL = (
    "No heat or ice on skin that is numb or less sensitive: you may not feel it burning (NHS advice). "
    "The timer is not started."
)
TIMER_LOCKED = "Heat and ice are off while the programme is locked. Seek emergency care now."
TIMER_URGENT = (
    "Heat and ice are off until a clinician has seen you about the warning sign you reported "
    "(see a doctor within 1-2 days)."
)
TIMER_TOO_LONG = "At most {high:g} minutes of {kind} at a time ({minutes:g} asked). The timer is not started."
TIMER_TOO_SHORT = "{kind} timer: at least {low:g} minutes ({minutes:g} asked). The timer is not started."

# --- yoga and mobility log (F7) -----------------------------------------------------------------
YOGA_EVIDENCE = (
    "Helps function in chronic non-specific low back pain about as much as stretching or "
    "physiotherapy; not studied in leg pain that spreads from the back."
)
YOGA_DOSE = (
    "The dose that was studied: one class a week (60-75 minutes) plus practice at home on other "
    "days, for 12 weeks."
)
YOGA_RECORDED = "Yoga or mobility session recorded: {minutes:g} minutes ({setting})."
YOGA_RED = (
    "Pain above {threshold} after yoga, or new numbness or weakness in a leg: this counts as a red "
    "day in your pain record. Stop the poses that provoked it."
)
YOGA_REMINDER = "No yoga or mobility logged in the last 7 days. Logging is optional."
YOGA_DOSE_DONE = "The 12 weeks of the studied dose are over; carrying on is your choice."

# --- minimal shoes and barefoot (F8) ------------------------------------------------------------
SHOES_EVIDENCE = (
    "Evidence is weak: in one study, 10 of 19 runners who moved gradually to minimal shoes over 10 "
    "weeks showed new bone-marrow changes on MRI, and reviews find injury rates neither lower nor "
    "higher. This planner follows the most cautious published schedule."
)
SHOES_SURFACE_NOTE = (
    "Expert advice on surfaces conflicts: some say soft ground, others smooth hard ground. Pick the "
    "one you prefer."
)
SHOES_STARTED = (
    "Minimal-shoe transition started. Weeks 1-2: walking only in them (1-2 hours a day) and foot "
    "exercises; no running in them yet."
)
SHOES_WALK_WEEK = "Minimal-shoe week {week}: walking only in them, no running in them."
SHOES_RUN_WEEK = (
    "Minimal-shoe week {week}: at most {allowance:g} minutes of running in them this week "
    "({used:g} used), never on two days in a row; the rest in your usual shoes."
)
SHOES_RUN_RECORDED = "{minutes:g} minutes of running in {footwear} shoes recorded for {day}."
SHOES_WALK_RECORDED = "{minutes:g} minutes of walking in {footwear} shoes recorded for {day}."
SHOES_SETBACK = (
    "Foot pain above 2 on a minimal-shoe day: the plan goes back one week."
)
BONE_SPOT_MESSAGE = (
    "Pain when you press one spot on a bone of your foot: stop running in minimal shoes and have it "
    "checked by a doctor or physiotherapist. The programme is on hold (walking only) until a "
    "clinician review is recorded."
)
OFFRUN_REVIEW_MESSAGES: dict[str, str] = {"minimal_shoes": BONE_SPOT_MESSAGE}
SHOES_REFUSALS: dict[str, str] = {
    "not_started": "The minimal-shoe transition has not been started (gait programme shoes --start).",
    "red_flag": "Not while a warning sign is open: see a clinician first.",
    "hold": "Not while the programme is on hold or waiting for a clinician review.",
    "before_stage_7": "Only after stage 7 of the walk-run return (30 minutes of continuous running).",
    "not_14_quiet_days": "Only after 14 days at stage 7 or beyond with every session green or amber.",
    "red_in_14_days": "Not within 14 days of a red day.",
    "unknown_in_14_days": "Not within 14 days of a session without its next-morning check-in.",
    "trend_up": "Not while your morning pain is rising from week to week.",
    "retraining_focus": "Not together with a new form focus: one change at a time.",
    "soles_numb": "Not with numb soles: foot damage could go unnoticed.",
    "foot_bone_injury": "Not within 12 months of a bone stress injury in the foot.",
    "stopped": "Stopped after pain on pressing a bone: a clinician review first, then start again.",
    "walking_weeks": "Weeks 1-2 of the transition are for walking in minimal shoes only.",
    "over_allowance": "More than this week's minimal-shoe running allowance.",
    "consecutive_days": "Never run in minimal shoes on two days in a row.",
    "already_started": "The minimal-shoe transition is already under way.",
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
