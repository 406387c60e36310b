"""Runs, steps, edge states and run events (see runtime issue)."""
