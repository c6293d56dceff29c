"""``regurgitate check``: how close a text is to the works of a corpus (:mod:`.closeness`)."""
