# One image for every Feature Bank process (init job, API, stream processor); the command picks.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FEATUREBANK_REPO=/app/feature_repo \
    FEATUREBANK_DATA_DIR=/data

WORKDIR /app

# Dependencies first, so editing the code does not reinstall Feast and friends.
COPY pyproject.toml README.md ./
COPY featurebank ./featurebank
COPY server ./server
COPY streaming ./streaming
RUN pip install . \
 && useradd --create-home --uid 10001 featurebank \
 && mkdir -p /data \
 && chown featurebank /data

COPY feature_repo ./feature_repo

USER featurebank
VOLUME ["/data"]
EXPOSE 8000 9108
CMD ["featurebank", "serve", "--host", "0.0.0.0", "--port", "8000"]
