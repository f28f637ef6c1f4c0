"""The codec contract, as tests: see :mod:`gitblobts.core.codec`."""

from __future__ import annotations

import os
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitblobts.core.codec import Codec, DecodedTooLarge
from gitblobts.testing._shared import NAME, examples

MIB = 1 << 20
_LIMIT = 64 * MIB


class CodecContract:
    """Tests every codec must pass. Set ``codec_class``; set ``detects_truncation = False`` if
    a cut-short encoding can be valid input (as for a codec that stores bytes unchanged).

    Encoders and decoders must round-trip with ``encode`` and ``decode`` whatever the sizes of
    the updates, and a decoder must enforce ``max_size``. A codec that overrides
    :meth:`~gitblobts.core.codec.Codec.decoder` is also tested to yield pieces of at most
    ``decoded_piece_limit`` bytes, even from a small input that decodes to much more."""

    codec_class: ClassVar[type[Codec]]
    detects_truncation: ClassVar[bool] = True
    decoded_piece_limit: ClassVar[int] = 4 * MIB

    @pytest.fixture
    def codec(self) -> Codec:
        """A fresh instance of the codec under test."""
        return self.codec_class()

    def test_name_is_lowercase_letters_digits_dashes_and_underscores(self) -> None:
        assert isinstance(self.codec_class.name, str)
        assert NAME.fullmatch(self.codec_class.name)

    def test_extension_is_empty_or_lowercase_letters_digits_dashes_and_underscores(
        self,
    ) -> None:
        extension = self.codec_class.extension
        assert isinstance(extension, str)
        assert extension == "" or NAME.fullmatch(extension)

    @examples(50)
    @given(data=st.binary(max_size=4096))
    def test_decode_inverts_encode(self, data: bytes) -> None:
        codec = self.codec_class()
        assert codec.decode(codec.encode(data), max_size=_LIMIT) == data

    @pytest.mark.parametrize("size", [0, 1, 3 * MIB + 1])
    def test_pieces_joined_decode_like_encode(self, codec: Codec, size: int) -> None:
        data = os.urandom(size // 2) + b"gitblobts " * (size // 20)
        pieces = list(codec.encode_pieces(data))
        assert all(isinstance(piece, bytes) for piece in pieces)
        assert codec.decode(b"".join(pieces), max_size=_LIMIT) == data

    def test_the_empty_blob_round_trips(self, codec: Codec) -> None:
        assert codec.decode(codec.encode(b""), max_size=0) == b""

    def test_a_mebibyte_of_random_and_repetitive_bytes_round_trips(self, codec: Codec) -> None:
        data = os.urandom(MIB // 2) + b"gitblobts " * (MIB // 20)
        assert codec.decode(codec.encode(data), max_size=_LIMIT) == data

    @examples(100)
    @given(data=st.binary(max_size=512))
    def test_decoding_arbitrary_bytes_returns_bytes_or_raises_value_error(
        self, data: bytes
    ) -> None:
        try:
            decoded = self.codec_class().decode(data, max_size=MIB)
        except ValueError:  # DecodedTooLarge is one
            return
        assert isinstance(decoded, bytes)

    @examples(50)
    @given(data=st.binary(min_size=1, max_size=2048), cut=st.floats(0, 1, exclude_max=True))
    def test_decoding_a_truncated_encoding_raises_value_error(
        self, data: bytes, cut: float
    ) -> None:
        if not self.detects_truncation:
            pytest.skip("the codec declares detects_truncation = False")
        codec = self.codec_class()
        encoded = codec.encode(data)
        with pytest.raises(ValueError):  # noqa: PT011 - the contract's exception
            codec.decode(encoded[: int(len(encoded) * cut)], max_size=_LIMIT)

    def test_decoding_more_than_max_size_raises_decoded_too_large(self, codec: Codec) -> None:
        encoded = codec.encode(bytes(10_000_000))
        with pytest.raises(DecodedTooLarge):
            codec.decode(encoded, max_size=MIB)

    def test_decoding_exactly_max_size_is_allowed(self, codec: Codec) -> None:
        data = os.urandom(1000) + bytes(MIB - 1000)
        assert codec.decode(codec.encode(data), max_size=len(data)) == data

    def test_decoding_one_byte_over_max_size_raises_decoded_too_large(self, codec: Codec) -> None:
        data = os.urandom(1000) + bytes(MIB - 1000)
        with pytest.raises(DecodedTooLarge):
            codec.decode(codec.encode(data), max_size=len(data) - 1)

    # Streaming: encoder and decoder

    @pytest.mark.parametrize("size", [0, 1, 4096, 3 * MIB + 1])
    def test_encoder_output_decodes_with_decode_and_decoder(self, codec: Codec, size: int) -> None:
        data = _sample(size)
        encoded = _encode_in_updates(codec, data, ODD_UPDATE)
        assert codec.decode(encoded, max_size=_LIMIT) == data
        assert b"".join(_decode_in_updates(codec, encoded, ODD_UPDATE + 2)) == data

    @pytest.mark.parametrize("size", [0, 1, 4096, 3 * MIB + 1])
    def test_decoder_reads_what_encode_writes(self, codec: Codec, size: int) -> None:
        data = _sample(size)
        assert b"".join(_decode_in_updates(codec, codec.encode(data), ODD_UPDATE)) == data

    @examples(30)
    @given(data=st.binary(max_size=4096), step=st.integers(1, 512))
    def test_decoder_reads_encodings_fed_in_any_pieces(self, data: bytes, step: int) -> None:
        codec = self.codec_class()
        assert b"".join(_decode_in_updates(codec, codec.encode(data), step)) == data

    def test_decoder_yields_bounded_pieces_from_a_small_input(self, codec: Codec) -> None:
        if type(codec).decoder is Codec.decoder:
            pytest.skip("the codec keeps the default decoder, which buffers whole blobs")
        encoded = codec.encode(bytes(20 * MIB))
        pieces = _decode_in_updates(codec, encoded, max(len(encoded), 1))
        assert max(len(piece) for piece in pieces) <= self.decoded_piece_limit
        assert sum(len(piece) for piece in pieces) == 20 * MIB

    def test_decoder_refuses_more_than_max_size(self, codec: Codec) -> None:
        encoded = codec.encode(bytes(10_000_000))
        with pytest.raises(DecodedTooLarge):
            _decode_in_updates(codec, encoded, ODD_UPDATE, max_size=MIB)

    def test_decoder_accepts_exactly_max_size(self, codec: Codec) -> None:
        data = os.urandom(1000) + bytes(MIB - 1000)
        assert b"".join(_decode_in_updates(codec, codec.encode(data), 999, len(data))) == data
        with pytest.raises(DecodedTooLarge):
            _decode_in_updates(codec, codec.encode(data), 999, max_size=len(data) - 1)

    @examples(30)
    @given(data=st.binary(min_size=1, max_size=2048), cut=st.floats(0, 1, exclude_max=True))
    def test_decoder_refuses_a_truncated_encoding(self, data: bytes, cut: float) -> None:
        if not self.detects_truncation:
            pytest.skip("the codec declares detects_truncation = False")
        codec = self.codec_class()
        encoded = codec.encode(data)
        with pytest.raises(ValueError):  # noqa: PT011 - the contract's exception
            _decode_in_updates(codec, encoded[: int(len(encoded) * cut)], 97)


ODD_UPDATE = 65_537
"""An update size that fits no power-of-two block."""


def _sample(size: int) -> bytes:
    """Random bytes, then repetitive ones: what compresses in parts."""
    half = size // 2
    return os.urandom(half) + (b"gitblobts " * (size // 20 + 1))[: size - half]


def _encode_in_updates(codec: Codec, data: bytes, step: int) -> bytes:
    encoder = codec.encoder()
    out = [encoder.update(data[start : start + step]) for start in range(0, len(data), step)]
    out.append(encoder.finish())
    assert all(isinstance(piece, bytes) for piece in out)
    return b"".join(out)


def _decode_in_updates(
    codec: Codec, encoded: bytes, step: int, max_size: int = _LIMIT
) -> list[bytes]:
    """The pieces a decoder yields for ``encoded`` fed ``step`` bytes at a time."""
    decoder = codec.decoder(max_size=max_size)
    pieces: list[bytes] = []
    for start in range(0, len(encoded), step):
        pieces.extend(decoder.update(encoded[start : start + step]))
    pieces.extend(decoder.finish())
    assert all(isinstance(piece, bytes) for piece in pieces)
    return pieces
