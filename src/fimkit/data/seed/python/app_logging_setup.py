"""Application logging: JSON lines to stdout, readable text to a rotating file."""
import json
import logging
import logging.config
from datetime import datetime, timezone

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Render each record as one JSON object so log shippers can parse it."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # Anything passed via ``extra=`` becomes a top-level field.
        for key, value in vars(record).items():
            if key not in _RESERVED:
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(level: str = "INFO", logfile: str | None = "app.log") -> None:
    handlers: dict[str, dict] = {
        "stdout": {"class": "logging.StreamHandler", "formatter": "json",
                   "stream": "ext://sys.stdout"},
    }
    if logfile:
        handlers["file"] = {
            "class": "logging.handlers.RotatingFileHandler",
            "formatter": "text", "filename": logfile,
            "maxBytes": 5 * 1024 * 1024, "backupCount": 3, "encoding": "utf-8",
        }
    logging.config.dictConfig({
        "version": 1,
        # Keep loggers created at import time by libraries working.
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": JsonFormatter},
            "text": {"format": "%(asctime)s %(levelname)-8s %(name)s: %(message)s"},
        },
        "handlers": handlers,
        "root": {"level": level, "handlers": list(handlers)},
        # Third-party chatter is rarely useful at INFO.
        "loggers": {"urllib3": {"level": "WARNING"}},
    })


if __name__ == "__main__":
    configure_logging("DEBUG", logfile=None)
    log = logging.getLogger("billing")
    log.info("invoice sent", extra={"invoice_id": "inv_42", "amount_cents": 1999})
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("totals failed")
