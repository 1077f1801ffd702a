"""Report bookkeeping (models added with migration 0003)."""
