# One image for web and worker. Python 3.11: durable_rules' C core does not build on 3.13.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends build-essential libssl-dev curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY sanctions_cli.py ./
COPY engine ./engine
COPY web ./web
COPY rules ./rules
COPY migrations ./migrations
COPY demo ./demo
RUN pip install --no-cache-dir .
ENV SANCTIONS_DATA_DIR=/data \
    SANCTIONS_RULES_DIR=/app/rules
VOLUME /data
EXPOSE 8000
