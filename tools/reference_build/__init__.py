"""How the three bundled reference sets are built, trained and verified (repository only)."""
