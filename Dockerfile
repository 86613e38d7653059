# Production image: slim Python, the locked dependencies, a non-root user, migrations before the server.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENVIRONMENT=production \
    WEB_CONCURRENCY=2 \
    PORT=8000

WORKDIR /app

# Dependencies first, from the lock file, so code changes do not reinstall them.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock

COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY api ./api
# Editable, so the package runs from /app beside alembic/ and alembic.ini (migrations are found there).
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 10001 esafety

USER 10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/health\", timeout=4)"]

# Migrations run first; a failed migration stops the container instead of serving an old schema.
CMD ["sh", "-c", "esafety migrate && exec esafety serve --host 0.0.0.0 --port \"$PORT\" --workers \"$WEB_CONCURRENCY\""]
