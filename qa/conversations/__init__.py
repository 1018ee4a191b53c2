"""Conversations: import from helpdesks, listing, reading."""
