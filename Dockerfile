# The server image: slim, non-root. Completed with the gRPC server.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY client ./client
COPY server ./server
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 eventstore
USER eventstore
EXPOSE 50051
CMD ["logicblocks-event-store", "serve", "--listen", "0.0.0.0:50051"]
