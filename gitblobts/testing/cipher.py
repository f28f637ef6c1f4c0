"""The cipher contract, as tests: see :mod:`gitblobts.core.cipher`."""

from __future__ import annotations

import base64
import os
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitblobts.core.cipher import Cipher, DecryptionFailed
from gitblobts.testing._shared import NAME, examples

KEY_BYTES = 32
CONTEXT = b"20261124T061500.123456789Z_k5vq2xw7m3a4b6c7d2e3f4g5h6"
"""A blob identity, as core passes it."""
MIB = 1 << 20
ODD_UPDATE = 65_537
"""An update size that fits no power-of-two segment."""


def _spellings(key: bytes) -> list[str]:
    """The ways a key could leak into text."""
    return [
        repr(key),
        key.hex(),
        base64.urlsafe_b64encode(key).decode(),
        base64.b64encode(key).decode(),
    ]


class CipherContract:
    """Tests every cipher must pass. Set ``cipher_class``, and declare what it does not
    promise: ``binds_context = False`` if a file decrypts under another context;
    ``deterministic = True`` if equal plaintexts encrypt equally;
    ``tamper_tolerant_tail_bytes = N`` if flipping bits of the last ``N`` bytes may go
    unnoticed (as with the padding bits of base64 text).

    Every cipher's encryptor and decryptor must round-trip with ``encrypt`` and ``decrypt``.
    A cipher whose class sets ``authenticates_segments = True`` is also tested to stream
    (plaintext before the file ends) and to refuse, having returned at most a prefix of the
    plaintext, a file cut short (also where a segment may end), with bytes after its end, or
    with blocks of it swapped."""

    cipher_class: ClassVar[type[Cipher]]
    binds_context: ClassVar[bool] = True
    deterministic: ClassVar[bool] = False
    tamper_tolerant_tail_bytes: ClassVar[int] = 0

    @pytest.fixture
    def key(self) -> bytes:
        """Fresh random key bytes."""
        return os.urandom(KEY_BYTES)

    @pytest.fixture
    def cipher(self, key: bytes) -> Cipher:
        """The cipher under test, with ``key``."""
        return self.cipher_class(key)

    def test_name_is_lowercase_letters_digits_dashes_and_underscores(self) -> None:
        assert isinstance(self.cipher_class.name, str)
        assert NAME.fullmatch(self.cipher_class.name)

    @examples(50)
    @given(data=st.binary(max_size=4096), context=st.binary(max_size=64))
    def test_decrypt_inverts_encrypt(self, data: bytes, context: bytes) -> None:
        cipher = self.cipher_class(os.urandom(KEY_BYTES))
        assert cipher.decrypt(cipher.encrypt(data, context), context) == data

    @pytest.mark.parametrize("size", [0, 1 << 20])
    def test_empty_and_mebibyte_plaintexts_round_trip(self, cipher: Cipher, size: int) -> None:
        data = os.urandom(size)
        assert cipher.decrypt(cipher.encrypt(data, CONTEXT), CONTEXT) == data

    @pytest.mark.parametrize("sizes", [[], [0], [1, 0, 4096], [1 << 20, 1 << 20, 7]])
    def test_pieces_encrypt_like_their_join(self, cipher: Cipher, sizes: list[int]) -> None:
        pieces = [os.urandom(size) for size in sizes]
        sealed = cipher.encrypt_pieces(iter(pieces), CONTEXT)
        assert cipher.decrypt(bytes(sealed), CONTEXT) == b"".join(pieces)

    def test_another_instance_with_the_same_key_decrypts(self, key: bytes) -> None:
        sealed = self.cipher_class(key).encrypt(b"secret", CONTEXT)
        assert self.cipher_class(key).decrypt(sealed, CONTEXT) == b"secret"

    def test_a_wrong_key_raises_decryption_failed(self, cipher: Cipher) -> None:
        sealed = cipher.encrypt(b"secret", CONTEXT)
        with pytest.raises(DecryptionFailed):
            self.cipher_class(os.urandom(KEY_BYTES)).decrypt(sealed, CONTEXT)

    def test_a_wrong_context_raises_decryption_failed(self, cipher: Cipher) -> None:
        if not self.binds_context:
            pytest.skip("the cipher declares binds_context = False")
        sealed = cipher.encrypt(b"secret", CONTEXT)
        with pytest.raises(DecryptionFailed):
            cipher.decrypt(sealed, CONTEXT.replace(b"k5", b"k6"))

    @examples(100)
    @given(data=st.binary(max_size=256), position=st.floats(0, 1, exclude_max=True))
    def test_flipping_a_bit_raises_decryption_failed(self, data: bytes, position: float) -> None:
        cipher = self.cipher_class(os.urandom(KEY_BYTES))
        sealed = bytearray(cipher.encrypt(data, CONTEXT))
        checked = len(sealed) - self.tamper_tolerant_tail_bytes
        bit = int(checked * 8 * position)
        sealed[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(DecryptionFailed):
            cipher.decrypt(bytes(sealed), CONTEXT)

    @examples(50)
    @given(data=st.binary(max_size=256), cut=st.floats(0, 1, exclude_max=True))
    def test_truncation_raises_decryption_failed(self, data: bytes, cut: float) -> None:
        cipher = self.cipher_class(os.urandom(KEY_BYTES))
        sealed = cipher.encrypt(data, CONTEXT)
        with pytest.raises(DecryptionFailed):
            cipher.decrypt(sealed[: int(len(sealed) * cut)], CONTEXT)

    @examples(100)
    @given(data=st.binary(max_size=256))
    def test_arbitrary_bytes_raise_decryption_failed(self, data: bytes) -> None:
        with pytest.raises(DecryptionFailed):
            self.cipher_class(os.urandom(KEY_BYTES)).decrypt(data, CONTEXT)

    def test_two_encryptions_of_the_same_plaintext_differ(self, cipher: Cipher) -> None:
        if self.deterministic:
            pytest.skip("the cipher declares deterministic = True")
        assert cipher.encrypt(b"same", CONTEXT) != cipher.encrypt(b"same", CONTEXT)

    def test_the_key_is_not_in_the_repr(self, cipher: Cipher, key: bytes) -> None:
        text = repr(cipher) + str(cipher)
        assert not any(spelling in text for spelling in _spellings(key))

    def test_the_key_is_not_in_error_messages(self, cipher: Cipher, key: bytes) -> None:
        sealed = self.cipher_class(os.urandom(KEY_BYTES)).encrypt(b"secret", CONTEXT)
        with pytest.raises(DecryptionFailed) as raised:
            cipher.decrypt(sealed, CONTEXT)
        text = str(raised.value) + repr(raised.value)
        assert not any(spelling in text for spelling in _spellings(key))

    # Streaming: encryptor and decryptor

    @pytest.mark.parametrize("size", [0, 1, 4096, 3 * MIB + 5])
    def test_encryptor_output_decrypts_with_decrypt_and_decryptor(
        self, cipher: Cipher, size: int
    ) -> None:
        data = os.urandom(size)
        sealed = _encrypt_in_updates(cipher, data, ODD_UPDATE)
        assert cipher.decrypt(sealed, CONTEXT) == data
        assert _decrypt_in_updates(cipher, sealed, ODD_UPDATE + 2) == data

    @pytest.mark.parametrize("size", [0, 1, 4096, 3 * MIB + 5])
    def test_decryptor_reads_what_encrypt_writes(self, cipher: Cipher, size: int) -> None:
        data = os.urandom(size)
        assert _decrypt_in_updates(cipher, cipher.encrypt(data, CONTEXT), ODD_UPDATE) == data

    def test_decryptor_refuses_a_wrong_context(self, cipher: Cipher) -> None:
        if not self.binds_context:
            pytest.skip("the cipher declares binds_context = False")
        sealed = cipher.encrypt(b"secret", CONTEXT)
        with pytest.raises(DecryptionFailed):
            _decrypt_in_updates(cipher, sealed, 7, context=CONTEXT.replace(b"k5", b"k6"))

    def test_decryptor_returns_plaintext_before_the_file_ends(self, cipher: Cipher) -> None:
        if not self.cipher_class.authenticates_segments:
            pytest.skip("the cipher declares authenticates_segments = False")
        data = os.urandom(3 * MIB)
        sealed = cipher.encrypt(data, CONTEXT)
        decryptor = cipher.decryptor(CONTEXT)
        early = decryptor.update(sealed[: len(sealed) // 2])
        assert early
        assert data.startswith(early)

    @pytest.mark.parametrize("fraction", [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999])
    def test_decryptor_refuses_a_file_cut_short_returning_only_a_prefix(
        self, cipher: Cipher, fraction: float
    ) -> None:
        if not self.cipher_class.authenticates_segments:
            pytest.skip("the cipher declares authenticates_segments = False")
        data = os.urandom(3 * MIB + 5)
        sealed = cipher.encrypt(data, CONTEXT)
        for cut in {int(len(sealed) * fraction), *_boundaries(len(sealed), fraction)}:
            _assert_refused_after_a_prefix(cipher, sealed[:cut], data)

    @pytest.mark.parametrize("extra", [b"\0", b"\0" * 16, b"x" * 4096])
    def test_decryptor_refuses_bytes_after_the_end(self, cipher: Cipher, extra: bytes) -> None:
        if not self.cipher_class.authenticates_segments:
            pytest.skip("the cipher declares authenticates_segments = False")
        for size in (0, 100, MIB, 2 * MIB):
            data = os.urandom(size)
            sealed = cipher.encrypt(data, CONTEXT)
            _assert_refused_after_a_prefix(cipher, sealed + extra, data)
            _assert_refused_after_a_prefix(cipher, sealed + sealed[-len(extra) :], data)

    @pytest.mark.parametrize("block", [4096, 1 << 16, MIB, MIB + 16, MIB + 32])
    def test_decryptor_refuses_blocks_swapped_returning_only_a_prefix(
        self, cipher: Cipher, block: int
    ) -> None:
        if not self.cipher_class.authenticates_segments:
            pytest.skip("the cipher declares authenticates_segments = False")
        data = os.urandom(4 * MIB)
        sealed = cipher.encrypt(data, CONTEXT)
        for start in range(0, len(sealed) - 2 * block, block * 2 if block > MIB // 2 else MIB):
            swapped = (
                sealed[:start]
                + sealed[start + block : start + 2 * block]
                + sealed[start : start + block]
                + sealed[start + 2 * block :]
            )
            _assert_refused_after_a_prefix(cipher, swapped, data)


def _encrypt_in_updates(cipher: Cipher, data: bytes, step: int) -> bytes:
    encryptor = cipher.encryptor(CONTEXT)
    out = [encryptor.update(data[start : start + step]) for start in range(0, len(data), step)]
    out.append(encryptor.finish())
    assert all(isinstance(piece, bytes) for piece in out)
    return b"".join(out)


def _decrypt_in_updates(
    cipher: Cipher,
    sealed: bytes,
    step: int,
    context: bytes = CONTEXT,
    out: list[bytes] | None = None,
) -> bytes:
    """``sealed`` decrypted by a decryptor fed ``step`` bytes at a time; what it returned
    is also appended to ``out``, so that a caller sees it even when decryption fails."""
    out = [] if out is None else out
    decryptor = cipher.decryptor(context)
    for start in range(0, len(sealed), step):
        out.append(decryptor.update(sealed[start : start + step]))
    out.append(decryptor.finish())
    return b"".join(out)


def _boundaries(size: int, fraction: float) -> set[int]:
    """Cuts near ``fraction`` of ``size`` at multiples of common segment sizes (a power of
    two, plus a 16- or 32-byte tag, after a header of up to 64 bytes)."""
    near = int(size * fraction)
    cuts = set()
    for segment in (MIB, MIB + 16, MIB + 32):
        for header in (0, 24, 29, 32, 40):
            cut = header + near // segment * segment
            if 0 < cut < size:
                cuts.add(cut)
    return cuts


def _assert_refused_after_a_prefix(cipher: Cipher, sealed: bytes, data: bytes) -> None:
    """Decrypting ``sealed`` raises :class:`DecryptionFailed`, having returned at most a
    prefix of ``data``."""
    returned: list[bytes] = []
    with pytest.raises(DecryptionFailed):
        _decrypt_in_updates(cipher, sealed, ODD_UPDATE, out=returned)
    assert data.startswith(b"".join(returned))
