"""Retired code kept for reference only. Nothing imports this package and no event reaches it."""
