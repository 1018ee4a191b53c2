"""The demo organisation: real support conversations, users for every role, a scorecard, rule-made reviews."""
