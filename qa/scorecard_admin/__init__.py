"""Scorecards in the database: versions, criteria, upload and listing (rules live in `scorecards/`)."""
