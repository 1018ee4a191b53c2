"""Authentication (passwords, sessions, API tokens) and authorisation (roles, scoping)."""
