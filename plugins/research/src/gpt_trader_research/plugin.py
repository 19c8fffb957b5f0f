"""Plugin hooks (being written)."""
