"""A file export as a streamed HTTP response, memory flat under WSGI and ASGI alike."""

from __future__ import annotations

from collections.abc import Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import transaction
from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

from service_records.exports.selectors import Table
from service_records.exports.writers import csv_stream, xlsx_stream

CSV, XLSX = "csv", "xlsx"
FORMATS = (CSV, XLSX)
MEDIA_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _in_transaction(chunks: Iterator[bytes]) -> Iterator[bytes]:
    # Inside a transaction PostgreSQL's server-side cursor streams rows as they are fetched;
    # outside one Django must declare it WITH HOLD, which makes PostgreSQL materialise the whole
    # result before the first row. One transaction also gives the file one snapshot.
    with transaction.atomic():
        yield from chunks


async def _async_chunks(chunks: Iterator[bytes]):
    # Under ASGI Django would read a synchronous iterator to the end before sending a byte;
    # pull one chunk at a time on the request's sync thread instead (its database connection).
    pull = sync_to_async(next, thread_sensitive=True)
    try:
        while (chunk := await pull(chunks, None)) is not None:
            yield chunk
    finally:
        await sync_to_async(chunks.close, thread_sensitive=True)()


def table_response(request, table: Table, fmt: str) -> StreamingHttpResponse:
    """``table`` as a CSV or XLSX download, streamed while the rows are read."""
    if fmt == CSV:
        chunks = csv_stream(table.columns, table.rows)
    else:
        chunks = xlsx_stream(table.columns, table.rows, title=table.title)
    chunks = _in_transaction(chunks)
    raw = getattr(request, "_request", request)
    content = _async_chunks(chunks) if isinstance(raw, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type=MEDIA_TYPES[fmt])
    response["Content-Disposition"] = content_disposition_header(True, f"{table.filename}.{fmt}")
    # Personal data: never kept by a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response
