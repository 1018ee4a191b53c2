"""Playwright tests against a real uvicorn server."""
