"""The time parser contract, as tests: see :class:`gitblobts.core.timestamps.TimeParser`."""

from __future__ import annotations

from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitblobts.core.errors import TimeError
from gitblobts.core.timestamps import MAX_NS, MIN_NS, TimeParser, format_iso
from gitblobts.testing._shared import NAME, examples

NOW_NS = 1_795_000_000_123_456_789
"""The present the tests parse relative to: 2026-11-18."""


class TimeParserContract:
    """Tests every time parser must pass. Set ``parser_class``; set ``parses_iso = False``
    if it does not read the RFC 3339 text of :func:`~gitblobts.core.timestamps.format_iso`
    (the other parsers do)."""

    parser_class: ClassVar[type[TimeParser]]
    parses_iso: ClassVar[bool] = True

    @pytest.fixture
    def parser(self) -> TimeParser:
        """A fresh instance of the parser under test."""
        return self.parser_class()

    def test_name_is_lowercase_letters_digits_dashes_and_underscores(self) -> None:
        assert isinstance(self.parser_class.name, str)
        assert NAME.fullmatch(self.parser_class.name)

    @examples(300)
    @given(text=st.text(max_size=300))
    def test_any_text_gives_an_int_none_or_a_time_error(self, text: str) -> None:
        # A parser may understand a text whose time lies outside the supported years; it
        # says so with gitblobts' own TimeError, never anything else.
        try:
            result = self.parser_class().parse(text, NOW_NS)
        except TimeError:
            return
        assert result is None or (isinstance(result, int) and not isinstance(result, bool))

    @examples(100)
    @given(text=st.text(max_size=300))
    def test_a_suggestion_for_any_text_is_a_phrase_or_none(self, text: str) -> None:
        # suggest() is asked only about text no parser understood; it must not fail on any.
        suggestion = self.parser_class().suggest(text)
        assert suggestion is None or (isinstance(suggestion, str) and suggestion.strip())

    @examples(50)
    @given(text=st.text(max_size=60))
    def test_the_same_text_and_present_give_the_same_result(self, text: str) -> None:
        parser = self.parser_class()

        def outcome() -> int | str | None:
            try:
                return parser.parse(text, NOW_NS)
            except TimeError as error:
                return str(error)

        assert outcome() == outcome()

    @examples(200)
    @given(ns=st.integers(MIN_NS, MAX_NS))
    def test_format_iso_text_parses_back_to_the_same_nanosecond(self, ns: int) -> None:
        if not self.parses_iso:
            pytest.skip("the parser declares parses_iso = False")
        assert self.parser_class().parse(format_iso(ns), NOW_NS) == ns

    def test_unrelated_text_gives_none(self, parser: TimeParser) -> None:
        assert parser.parse("\x00 not a time \x00", NOW_NS) is None
