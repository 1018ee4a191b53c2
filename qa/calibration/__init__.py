"""Calibration: agreement maths, blind sessions, grader QA, leniency-adjusted scores and agreement trends."""
