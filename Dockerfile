# syntax=docker/dockerfile:1
# Build stage: a wheel and a virtualenv from the lock file, with the same Python the runtime stage has.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY operator ./operator
RUN uv venv /opt/venv --python /usr/local/bin/python3 && \
    uv export --frozen --no-dev --no-emit-project --format requirements.txt > /tmp/requirements.txt && \
    uv pip install --python /opt/venv/bin/python --require-hashes -r /tmp/requirements.txt && \
    uv build --wheel --out-dir /tmp/dist && \
    uv pip install --python /opt/venv/bin/python --no-deps /tmp/dist/*.whl

# Runtime stage: the virtualenv only; no compilers, no uv, no pip cache; a numeric non-root user.
FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH=/opt/venv/bin:$PATH
COPY --from=build /opt/venv /opt/venv
USER 65532:65532
EXPOSE 8080 8081 8090
ENTRYPOINT ["/opt/venv/bin/signalcraft"]
CMD ["--help"]
