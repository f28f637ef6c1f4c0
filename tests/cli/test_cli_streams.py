"""Blob contents through the command, never held whole: the inputs of ``add`` opened one at a
time and counted as the store reads them, blobs copied out in chunks, and the progress bar
that shows it, drawn on a stream that says it is a terminal."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from gitblobts.cli.errors import CommandError
from gitblobts.cli.output import OutputFolder
from gitblobts.cli.progress import Progress, human_bytes
from gitblobts.cli.streams import CHUNK, CountingReader, copy, input_size, opened_inputs


class Terminal(io.StringIO):
    """Standard error as a terminal: the bar is drawn on it."""

    def isatty(self) -> bool:
        return True


class FailingFile(io.BytesIO):
    """A file whose reads fail after ``good`` bytes, as a disk with a bad sector does."""

    def __init__(self, content: bytes, good: int) -> None:
        super().__init__(content)
        self._good = good

    def readinto(self, buffer: object) -> int:
        if self.tell() >= self._good:
            raise OSError(5, "Input/output error")
        view = memoryview(buffer)  # type: ignore[arg-type]
        return super().readinto(view[: self._good - self.tell()])


def last_drawn(terminal: Terminal) -> str:
    return terminal.getvalue().split("\r")[-1].strip()


# The counting reader


def test_a_counting_reader_counts_every_byte_read() -> None:
    counted: list[int] = []
    reader = CountingReader(io.BytesIO(b"x" * 10), "data.bin", counted.append)

    assert reader.read(4) == b"xxxx"
    assert reader.read() == b"x" * 6
    assert reader.read() == b""
    assert sum(counted) == 10


def test_a_counting_reader_read_to_its_end_counts_chunk_by_chunk() -> None:
    counted: list[int] = []
    content = os.urandom(2 * CHUNK + 5)
    reader = io.BufferedReader(CountingReader(io.BytesIO(content), "big.bin", counted.append))

    assert reader.read() == content
    assert counted == [CHUNK, CHUNK, 5]


def test_a_read_that_fails_names_the_input() -> None:
    reader = CountingReader(FailingFile(b"abcdef", 3), "data.bin", lambda count: None)

    assert reader.read(3) == b"abc"
    with pytest.raises(CommandError, match=r"^data\.bin: cannot read: Input/output error$"):
        reader.read(3)


def test_closing_a_counting_reader_leaves_its_file_open() -> None:
    file = io.BytesIO(b"x")

    CountingReader(file, "x", lambda count: None).close()

    assert not file.closed


# The inputs of add


def test_inputs_are_opened_one_at_a_time_and_closed_when_the_next_is_asked_for(
    tmp_path: Path,
) -> None:
    for name in ("a", "b"):
        (tmp_path / name).write_bytes(name.encode() * 3)
    done: list[str] = []
    inputs = opened_inputs(
        [str(tmp_path / "a"), str(tmp_path / "b")], on_done=lambda: done.append("x")
    )

    first = next(inputs)
    assert first.read() == b"aaa"
    (tmp_path / "b").write_bytes(b"changed before its turn")
    second = next(inputs)

    assert first.closed
    assert done == ["x"]
    assert second.read() == b"changed before its turn"
    with pytest.raises(StopIteration):
        next(inputs)
    assert second.closed
    assert done == ["x", "x"]


def test_closing_the_inputs_closes_the_file_being_read(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"abc")
    inputs = opened_inputs([str(tmp_path / "a"), str(tmp_path / "missing")])

    first = next(inputs)
    inputs.close()

    assert first.closed


def test_an_input_gone_before_its_turn_fails_naming_it(tmp_path: Path) -> None:
    inputs = opened_inputs([str(tmp_path / "gone")])

    with pytest.raises(CommandError, match=r"gone: cannot read: No such file or directory$"):
        next(inputs)


def test_the_size_of_an_input_is_known_only_for_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"12345")
    os.mkfifo(tmp_path / "pipe")

    assert input_size(str(tmp_path / "file")) == 5
    assert input_size(str(tmp_path / "pipe")) is None
    assert input_size("-") is None
    with pytest.raises(CommandError, match="is a folder"):
        input_size(str(tmp_path))
    with pytest.raises(CommandError, match="missing: No such file"):
        input_size(str(tmp_path / "missing"))


# Copying out


def test_copy_writes_everything_in_chunks_and_counts_them() -> None:
    content = os.urandom(CHUNK + 1)
    written: list[bytes] = []
    counted: list[int] = []

    copy(io.BytesIO(content), written.append, counted.append)

    assert b"".join(written) == content
    assert [len(chunk) for chunk in written] == counted == [CHUNK, 1]


def test_an_output_folder_writes_a_file_object_only_when_the_file_is_missing(
    tmp_path: Path,
) -> None:
    folder = OutputFolder(str(tmp_path / "out"))
    content = os.urandom(CHUNK + 7)
    opened: list[int] = []

    def source() -> io.BytesIO:
        opened.append(1)
        return io.BytesIO(content)

    counted: list[int] = []
    assert folder.write("blob", source, counted.append)
    assert not folder.write("blob", source)

    assert (tmp_path / "out" / "blob").read_bytes() == content
    assert opened == [1]
    assert sum(counted) == len(content)


def test_an_output_folder_leaves_nothing_when_the_copy_fails_midway(tmp_path: Path) -> None:
    folder = OutputFolder(str(tmp_path / "out"))

    class Damaged(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            if self.tell():
                raise ValueError("damaged")
            return super().read(size)

    with pytest.raises(ValueError, match="damaged"):
        folder.write("blob", lambda: Damaged(b"x" * (CHUNK + 1)))

    assert list((tmp_path / "out").iterdir()) == []


# The progress bar


def test_a_bar_of_bytes_shows_them_human_readably() -> None:
    terminal = Terminal()

    with Progress("adding", total=1 << 30, stream=terminal, unit="bytes") as progress:
        progress.add_bytes(412 << 20)
        assert last_drawn(terminal).endswith("40%  412.0 MiB/1.0 GiB")
        progress.add_bytes((1 << 30) - (412 << 20))

    assert last_drawn(terminal).endswith("100%  1.0 GiB/1.0 GiB")
    assert "adding [" + "#" * 10 in last_drawn(terminal)


def test_a_byte_counter_without_a_total_has_no_bar() -> None:
    terminal = Terminal()

    with Progress("adding", stream=terminal, unit="bytes") as progress:
        progress.add_bytes(3 * 1024 + 512)

    assert last_drawn(terminal) == "adding 3.5 KiB"


def test_a_bar_of_items_shows_the_bytes_counted_beside_them() -> None:
    terminal = Terminal()

    with Progress("getting", total=2, stream=terminal) as progress:
        progress.add_bytes(CHUNK)
        progress.advance()
        progress.add_bytes(CHUNK)
        progress.advance()

    assert last_drawn(terminal).endswith("100%  2/2  2.0 MiB")


def test_a_bar_of_items_without_bytes_shows_the_items_only() -> None:
    terminal = Terminal()

    with Progress("verifying", stream=terminal) as progress:
        progress.update(3, 4)

    assert last_drawn(terminal).endswith(" 75%  3/4")


def test_a_bar_of_bytes_leaves_the_items_out() -> None:
    terminal = Terminal()

    with Progress("adding", total=4, stream=terminal, unit="bytes") as progress:
        progress.add_bytes(2)
        progress.add_items()

    assert last_drawn(terminal).endswith(" 50%  2 B/4 B")


def test_no_bar_is_drawn_on_a_stream_that_is_not_a_terminal() -> None:
    stream = io.StringIO()

    with Progress("adding", total=10, stream=stream, unit="bytes") as progress:
        progress.add_bytes(10)

    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (412 << 20, "412.0 MiB"),
        (1 << 30, "1.0 GiB"),
        (5 << 40, "5.0 TiB"),
        (3 << 50, "3072.0 TiB"),
    ],
)
def test_human_bytes(count: int, text: str) -> None:
    assert human_bytes(count) == text
