"""regurgitate's version: the one place it is written (``pyproject.toml`` reads it from here;
reports and run databases record it). ``regurgitate.__version__`` re-exports it."""

__version__ = "0.3.0"
