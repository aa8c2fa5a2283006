import logging

from common.request_id import request_id_var


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record so formatters (JSON or text) can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True
