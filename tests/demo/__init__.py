"""Tests of the demo organisation loader and its review rules."""
