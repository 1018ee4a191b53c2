"""Sampling rules and runs turned into reviewers' assignments (the engine itself lives in `sampling/`)."""
