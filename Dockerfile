# The stancewire worker image used by docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY pipeline ./pipeline
COPY agents ./agents
RUN pip install --no-cache-dir --no-deps .
ENV HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    STANCEWIRE_WEB_HOST=0.0.0.0 STANCEWIRE_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 6066
ENTRYPOINT ["stancewire"]
CMD ["worker"]
