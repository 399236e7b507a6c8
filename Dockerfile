# One image for every Python service of compose.yaml: api, worker and beat.
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 communs

WORKDIR /app
COPY pyproject.toml README.md ./
COPY registry ./registry
COPY crawlers ./crawlers
COPY api ./api
COPY web ./web
COPY communs ./communs
COPY fakeforge ./fakeforge
RUN pip install --no-cache-dir .

USER communs
ENV COMMUNS_DATA_DIR=/var/lib/communs
VOLUME ["/var/lib/communs"]
EXPOSE 8000
CMD ["communs", "serve", "--host", "0.0.0.0", "--port", "8000"]
