"""Arbitrary Unicode for fuzzing: everything hypothesis draws, plus what breaks programs most
(lone surrogates, C0/C1 controls, ANSI escapes, bidi overrides, zero-width characters,
separators, a BOM) and very long unbroken lines."""

from __future__ import annotations

from hypothesis import strategies as st

NASTY_CHARS = ("\ud800", "\udfff", "\udc80", "\x00", "\x1b", "\x9b", "\x7f", "\r",
               "\u202e", "\u202d", "\u2066", "\u2069", "\u200b", "\u200f", "\ufeff",
               "\u2028", "\u2029", "\ufffd", "\U0001f600", "\u0301", "\n", "\t", " ")
NASTY = (*NASTY_CHARS, "\x1b[2J", "\x1b]0;title\x07", "poem ", "a@b.org ", "+1 555 0100 ")

chars = st.one_of(st.characters(), st.sampled_from(NASTY_CHARS))
short_text = st.one_of(st.text(alphabet=chars, max_size=120),
                       st.lists(st.sampled_from(NASTY), max_size=30).map("".join))
long_line = st.builds(lambda unit, n: (unit * n)[:30_000],
                      st.text(alphabet=chars, min_size=1, max_size=3),
                      st.integers(min_value=500, max_value=12_000))
text = st.one_of(short_text, short_text, long_line)
