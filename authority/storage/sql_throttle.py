"""Login-failure counters in the database, shared by every replica."""

from __future__ import annotations

from sqlalchemy import Connection, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from authority.storage.sql_base import SqlBase
from authority.storage.tables import login_failures as failures


class ThrottleSql(SqlBase):
    def count_failure(self, key: str, now: int, window: int) -> int:
        """Add one failure to ``key`` and return the count; failures older than ``window``
        seconds no longer count."""

        def work(conn: Connection) -> int:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(failures).values(
                key=key, failures=1, locked_until=0, updated_at=now
            )
            stale = failures.c.updated_at < now - window
            stmt = stmt.on_conflict_do_update(
                index_elements=[failures.c.key],
                set_={
                    "failures": case((stale, 1), else_=failures.c.failures + 1),
                    "locked_until": case((stale, 0), else_=failures.c.locked_until),
                    "updated_at": now,
                },
            ).returning(failures.c.failures)
            return int(conn.execute(stmt).scalar_one())

        return self._write(work)

    def lock_until(self, key: str, until: int) -> None:
        stmt = update(failures).where(failures.c.key == key).values(locked_until=until)
        self._write(lambda conn: conn.execute(stmt))

    def locked_until(self, keys: list[str]) -> int:
        """The latest lock among ``keys`` (0 when none is locked)."""
        rows = self._all(select(failures.c.locked_until).where(failures.c.key.in_(keys)))
        return max((r.locked_until for r in rows), default=0)

    def clear_failures(self, key: str) -> None:
        # Every successful login comes here; most have nothing counted, and a read is much
        # cheaper than a write transaction (on SQLite it would take the write lock).
        if self._first(select(failures.c.key).where(failures.c.key == key)) is None:
            return
        self._write(lambda conn: conn.execute(delete(failures).where(failures.c.key == key)))

    def purge_failures(self, before: int, now: int) -> int:
        stmt = delete(failures).where(failures.c.updated_at < before, failures.c.locked_until < now)
        return int(self._write(lambda conn: conn.execute(stmt).rowcount))
