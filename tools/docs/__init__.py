"""Scripts that make the documentation's figures (not in the wheel)."""
