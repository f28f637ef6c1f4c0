"""Objects written as they come, as git writes them: a few small ones loose, more into one
pack streamed to disk. What is held meanwhile is the first few objects (until they prove
to be more than a few) and the pack's compact record of what it holds, never the objects
already packed: a batch of a million blobs, or the million trees of a commit, costs tens
of bytes an object."""

from __future__ import annotations

from gitblobts.gitfiles.objectids import ObjectIds
from gitblobts.gitfiles.objects import BytesLike, PackWriter, object_id, write_loose

LOOSE_LIMIT, LOOSE_BYTES = 16, 16 << 20
"""Batches of at most this many objects and bytes are written loose rather than packed."""


class ObjectSink:
    """Objects of one batch, written into ``objects_dir`` as :meth:`add` gets them: held
    until there are more than :data:`LOOSE_LIMIT` of them or :data:`LOOSE_BYTES` bytes,
    then into a pack. :meth:`finish` writes the held ones loose or completes the pack;
    nothing is readable before it. Use as a context manager: a block that raises aborts
    (an unfinished pack is removed; loose objects were never written)."""

    def __init__(self, objects_dir: str, *, durable: bool = False, keep_ids: bool = True) -> None:
        self._objects_dir = objects_dir
        self._durable = durable
        self._held: list[tuple[bytes, BytesLike]] = []
        self._held_bytes = 0
        self._pack: PackWriter | None = None
        self.ids = ObjectIds()
        """The id of every object added, in order (none unless ``keep_ids``)."""
        self._keep_ids = keep_ids

    def add(self, kind: bytes, data: BytesLike) -> str:
        """Write (or hold) an object; return its id."""
        if self._pack is not None:
            oid = self._pack.add(kind, data)
        else:
            self._held.append((kind, data))
            self._held_bytes += len(data)
            oid = object_id(kind, data)
            if len(self._held) > LOOSE_LIMIT or self._held_bytes > LOOSE_BYTES:
                self._pack = PackWriter(self._objects_dir, durable=self._durable)
                for held_kind, held_data in self._held:
                    self._pack.add(held_kind, held_data)
                self._held.clear()
        if self._keep_ids:
            self.ids.append_binary(bytes.fromhex(oid))
        return oid

    def finish(self) -> ObjectIds:
        """Write what is held loose, or complete the pack; return every object's id."""
        if self._pack is not None:
            self._pack.finish()
        for kind, data in self._held:
            write_loose(self._objects_dir, kind, data, durable=self._durable)
        self._held.clear()
        return self.ids

    def abort(self) -> None:
        """Remove the unfinished pack, if any; forget what is held."""
        if self._pack is not None:
            self._pack.abort()
        self._held.clear()

    def __enter__(self) -> ObjectSink:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None:
            self.abort()
