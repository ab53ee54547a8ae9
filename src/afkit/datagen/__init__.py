"""Synthetic data: afkit's PHYSLITE-layout ROOT writer (the AGC dataset generator builds on it)."""
