# The token server (the authority-server distribution, the `authority` command): slim,
# non-root, configured only through AUTHORITY_* variables.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY authority ./authority
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --home-dir /var/lib/authority --create-home authority
RUN install -d -o authority -g authority -m 700 /var/lib/authority/keys
USER authority
WORKDIR /var/lib/authority
ENV AUTHORITY_KEYS_DIR=/var/lib/authority/keys
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
ENTRYPOINT ["authority"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
