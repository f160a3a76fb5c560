# Preflight GitHub App: `docker build -t preflight . && docker run --env-file .env -p 3000:3000 preflight`
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY rules ./rules
COPY bot ./bot
COPY examples ./examples
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin preflight

USER preflight
ENV HOST=0.0.0.0 \
    PORT=3000 \
    LOG_FORMAT=json
EXPOSE 3000

# The slim image has no curl: ask /healthz with the Python that is there.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]

# SIGTERM: stop accepting, finish queued reviews (PREFLIGHT_SHUTDOWN_TIMEOUT, 25 s), exit.
# Give `docker stop` more than that: docker run --stop-timeout 30, or stop_grace_period: 30s.
STOPSIGNAL SIGTERM
CMD ["preflight", "serve"]
