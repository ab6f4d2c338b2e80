FROM python:3.11-slim AS base
ENV PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
WORKDIR /app
RUN pip install --no-cache-dir uv
COPY pyproject.toml uv.lock README.md ./
COPY memefeed memefeed
COPY bot bot
COPY ingestion ingestion
COPY orchestration orchestration
COPY dbt_project dbt_project
COPY deploy deploy
RUN uv sync --frozen --no-dev && .venv/bin/memefeed prepare
ENV PATH="/app/.venv/bin:$PATH"
CMD ["memefeed", "--help"]
