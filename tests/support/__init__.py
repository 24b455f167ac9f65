"""Helpers shared by the test modules (on pytest's path through ``pythonpath``; never installed)."""
