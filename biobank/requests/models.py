"""Researcher requests (models added with migration 0002)."""
