"""Login and quota counters in the database, shared by every replica."""

from __future__ import annotations

from sqlalchemy import Connection, and_, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from authority.storage.sql_base import SqlBase, Undo
from authority.storage.tables import login_failures as failures


class ThrottleSql(SqlBase):
    def reserve(
        self, limits: dict[str, int], now: int, window: int, sliding: bool = True
    ) -> dict[str, int] | None:
        """Add one to every key of ``limits`` and return the new counts, all in one
        transaction or none: none when a key already holds its limit or is locked.

        Each key is one conditional upsert, which holds its row until the commit, so racing
        reservations of one key queue and each sees the count the one before left. The keys
        are taken in sorted order, so two transactions never wait for each other in a ring.
        """

        def work(conn: Connection) -> dict[str, int]:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            counts: dict[str, int] = {}
            for key in sorted(limits):
                stale = failures.c.updated_at <= now - window
                stmt = dialect.insert(failures).values(
                    key=key, failures=1, locked_until=0, updated_at=now
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=[failures.c.key],
                    set_={
                        "failures": case((stale, 1), else_=failures.c.failures + 1),
                        "locked_until": case((stale, 0), else_=failures.c.locked_until),
                        "updated_at": now
                        if sliding
                        else case((stale, now), else_=failures.c.updated_at),
                    },
                    where=or_(
                        stale,
                        and_(failures.c.failures < limits[key], failures.c.locked_until <= now),
                    ),
                ).returning(failures.c.failures)
                row = conn.execute(stmt).first()
                if row is None:
                    raise Undo()  # full or locked: nothing counted, not even the other keys
                counts[key] = int(row.failures)
            return counts

        try:
            return self._write(work)
        except Undo:
            return None

    def lock_until(self, key: str, until: int) -> None:
        stmt = update(failures).where(failures.c.key == key).values(locked_until=until)
        self._write(lambda conn: conn.execute(stmt))

    def locked_until(self, keys: list[str]) -> int:
        """The latest lock among ``keys`` (0 when none is locked)."""
        rows = self._all(select(failures.c.locked_until).where(failures.c.key.in_(keys)))
        return max((r.locked_until for r in rows), default=0)

    def failure_count(self, key: str) -> int:
        """What ``key`` counts now, however old (for the operator and tests)."""
        row = self._first(select(failures.c.failures).where(failures.c.key == key))
        return int(row.failures) if row else 0

    def forget(self, clear: list[str], release: list[str]) -> None:
        """Drop the counts of ``clear``, and one count of each key of ``release``."""

        def work(conn: Connection) -> None:
            if clear:
                conn.execute(delete(failures).where(failures.c.key.in_(clear)))
            if release:
                conn.execute(
                    update(failures)
                    .where(failures.c.key.in_(release), failures.c.failures > 0)
                    .values(failures=failures.c.failures - 1)
                )

        self._write(work)

    def purge_failures(self, before: int, now: int) -> int:
        stmt = delete(failures).where(failures.c.updated_at < before, failures.c.locked_until < now)
        return int(self._write(lambda conn: conn.execute(stmt).rowcount))
