"""Coaching: disputes, coaching sessions and goals, pins."""
