"""The audit log: every change to scorecards, reviews, disputes, users and roles."""
