"""Tests of logins, sessions, CSRF, users and API tokens."""
