"""The sampling engine: picks conversations worth reviewing and assigns them fairly (pure, no web or DB)."""
