# The server image: slim, non-root, the gRPC port exposed, healthy when the gRPC health
# service says SERVING. Events live in the /data volume (SQLite) unless
# EVENT_STORE_STORAGE points elsewhere (postgresql://...).
# tests/e2e/test_image_commands.py runs this file's install, start and health commands.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY client ./client
COPY server ./server
# The postgres extra: the image serves PostgreSQL as well as its default SQLite file.
RUN pip install --no-cache-dir .[postgres] \
    && useradd --create-home --uid 10001 eventstore \
    && mkdir /data \
    && chown eventstore /data

USER eventstore
ENV EVENT_STORE_LISTEN=0.0.0.0:50051 \
    EVENT_STORE_STORAGE=sqlite:////data/events.db
VOLUME ["/data"]
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["logicblocks-event-store", "health", "--target", "127.0.0.1:50051"]
CMD ["logicblocks-event-store", "serve"]
