"""``regurgitate trace``: a local web page that traces a model's answers (or any pasted text)
to the corpus, span by span, with their source documents.

:mod:`.engine` traces a text (``check``'s own code) and reads sources; :mod:`.marks` adds the
spans' ranking, near-verbatim passages, PII and membership signals; :mod:`.session` turns
answers into evidence packets and saved runs; :mod:`.api` holds the routes; :mod:`.server`
serves them; ``static/`` is the page (HTML, script, style), shipped in the package.
"""

from regurgitate.trace.engine import Answer, TraceEngine, TraceSettings

__all__ = ["Answer", "TraceEngine", "TraceSettings"]
