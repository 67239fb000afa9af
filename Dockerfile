# Multi-stage build of every dlt binary on Debian bookworm.
#   docker build -t dlt:latest .
# The runtime image holds the five programs and their shared libraries only.

FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      librdkafka-dev libmicrohttpd-dev libcurl4-openssl-dev libcjson-dev libsqlite3-dev libyaml-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
 && cmake --build /build -j"$(nproc)" \
 && mkdir -p /out \
 && cp /build/src/broker/load-broker /build/src/targetd/target-server \
       /build/src/driver/load-driver /build/src/orchestrator/load-orchestrator \
       /build/src/client/load-client /out/ \
 && strip /out/*

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka1 libmicrohttpd12 libcurl4 libcjson1 libsqlite3-0 libyaml-0-2 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data dlt \
 && mkdir -p /data && chown dlt /data
COPY --from=build /out/ /usr/local/bin/
USER dlt
WORKDIR /data
# Every program prints its options with --help.
CMD ["load-orchestrator", "--help"]
