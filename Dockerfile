# Project image: the API, the streaming daemons, the Dagster code location, webserver and daemon.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DAGSTER_HOME=/opt/dagster/home DAGSTER_DISABLE_TELEMETRY=1 LITELLM_LOCAL_MODEL_COST_MAP=True

WORKDIR /opt/dagster/app

# CPU-only torch first, so the project's torch==2.13.0 pin does not pull a CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

COPY pyproject.toml README.md ./
COPY fitness_core ./fitness_core
COPY fitness_streaming ./fitness_streaming
COPY fitness_assets ./fitness_assets
COPY fitness_api ./fitness_api
COPY fitness_cli ./fitness_cli
RUN pip install . && mkdir -p /opt/fitness/artifacts "$DAGSTER_HOME"

COPY dagster.yaml "$DAGSTER_HOME"/dagster.yaml
COPY workspace.yaml ./workspace.yaml

EXPOSE 3000 4000 8000
CMD ["fitness", "--help"]
