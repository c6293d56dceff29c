"""A worked regurgitate plugin (see docs/plugins.md): ``parrot:FILE``, a toy local model that
has memorized one text file; the ``openings`` attack; the ``text_stats`` detector and its
``text_stats`` finding kind."""
