"""Our own tables (SQLAlchemy; SQLite by default): SMS pages waiting for the MORE keyword."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Column, String, Text, create_engine, delete, select
from sqlalchemy.orm import Session, declarative_base

Base = declarative_base()


class PendingPages(Base):
    """The rest of a long SMS answer, sent when the citizen asks for more."""

    __tablename__ = "pending_pages"
    channel = Column(String(16), primary_key=True)
    sender = Column(String(128), primary_key=True)
    pages = Column(Text, nullable=False)


class Store:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, future=True)
        Base.metadata.create_all(self.engine)

    @classmethod
    def sqlite(cls, path: Path) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{path}")

    def set_pages(self, channel: str, sender: str, pages: list[str]) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(PendingPages).where(
                PendingPages.channel == channel, PendingPages.sender == sender))
            if pages:
                session.add(PendingPages(channel=channel, sender=sender, pages=json.dumps(pages)))

    def pop_page(self, channel: str, sender: str) -> str | None:
        with Session(self.engine) as session, session.begin():
            row = session.execute(select(PendingPages).where(
                PendingPages.channel == channel, PendingPages.sender == sender)).scalar_one_or_none()
            if row is None:
                return None
            pages = json.loads(row.pages)
            if len(pages) > 1:
                row.pages = json.dumps(pages[1:])
            else:
                session.delete(row)
            return pages[0]
