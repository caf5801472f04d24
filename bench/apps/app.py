"""The one FastAPI app every server in bench/fn_runtime.py serves, unchanged."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI(title="bench")


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "hello"}


@app.post("/items", status_code=201)
async def create_item(item: Item) -> Item:
    return item
