"""FastAPI service exposing a tiny in-memory bookmarks API with validation."""
from datetime import datetime, timezone
from itertools import count

from fastapi import FastAPI, HTTPException, Query, status
from pydantic import BaseModel, Field, HttpUrl

app = FastAPI(title="Bookmarks")


class BookmarkIn(BaseModel):
    url: HttpUrl
    title: str = Field(min_length=1, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=10)


class Bookmark(BookmarkIn):
    id: int
    created_at: datetime


# Module-level storage keeps the example self-contained; a real service
# would inject a repository instead.
_store: dict[int, Bookmark] = {}
_ids = count(1)


@app.post("/bookmarks", response_model=Bookmark, status_code=status.HTTP_201_CREATED)
def create_bookmark(payload: BookmarkIn) -> Bookmark:
    # Normalise tags so "Python" and "python " are treated as the same tag.
    tags = sorted({t.strip().lower() for t in payload.tags if t.strip()})
    bookmark = Bookmark(id=next(_ids), created_at=datetime.now(timezone.utc),
                        url=payload.url, title=payload.title, tags=tags)
    _store[bookmark.id] = bookmark
    return bookmark


@app.get("/bookmarks", response_model=list[Bookmark])
def list_bookmarks(tag: str | None = None,
                   limit: int = Query(20, ge=1, le=100),
                   offset: int = Query(0, ge=0)) -> list[Bookmark]:
    items = sorted(_store.values(), key=lambda b: b.created_at, reverse=True)
    if tag:
        items = [b for b in items if tag.lower() in b.tags]
    return items[offset:offset + limit]


@app.get("/bookmarks/{bookmark_id}", response_model=Bookmark)
def get_bookmark(bookmark_id: int) -> Bookmark:
    bookmark = _store.get(bookmark_id)
    if bookmark is None:
        raise HTTPException(status_code=404, detail="bookmark not found")
    return bookmark


@app.delete("/bookmarks/{bookmark_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_bookmark(bookmark_id: int) -> None:
    if _store.pop(bookmark_id, None) is None:
        raise HTTPException(status_code=404, detail="bookmark not found")
