# syntax=docker/dockerfile:1
# Whisperrr server image. `docker compose up` (compose.yaml) builds and runs it; by hand:
#   docker build -t whisperrr . && docker run --stop-timeout 60 -p 8080:8080 -v whisperrr-models:/models whisperrr
# The build stage runs the same scripts as CI (.ci/run): scripts/install-system-packages.sh and
# scripts/build.sh, so a green CI run means these steps work.

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
# Instruction set whisper.cpp is compiled for. x86-64-v3 (AVX2, FMA, F16C) runs on x86 CPUs from
# about 2015 on (Intel Haswell, AMD Zen) and is several times faster than the baseline. For an
# image that only ever runs on the machine that builds it, `--build-arg WHISPER_CPU=native` also
# uses what that CPU has beyond it (e.g. AVX-512); on another CPU it may die with SIGILL.
ARG WHISPER_CPU=x86-64-v3
ENV WHISPER_CPU=${WHISPER_CPU} CI=true
COPY scripts/install-system-packages.sh scripts/
RUN scripts/install-system-packages.sh build
# Manifests first, so dependencies and the whisper.cpp build are cached until they change.
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY server/package.json server/
COPY client/package.json client/
COPY scripts/build.sh scripts/build-whisper.mjs scripts/
RUN scripts/build.sh deps
COPY . .
RUN scripts/build.sh app prune
# The model is fetched into the /models volume on first start. To ship it inside the image
# instead: --build-arg BAKE_MODEL=tiny-q8_0 (any name from server/src/model/catalog.ts); a fresh
# named volume mounted on /models starts with the image's copy.
ARG BAKE_MODEL=""
RUN mkdir -p /models && if [ -n "$BAKE_MODEL" ]; then MODEL="$BAKE_MODEL" MODEL_DIR=/models npm run fetch-model; fi

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
WORKDIR /app
COPY scripts/install-system-packages.sh scripts/
RUN scripts/install-system-packages.sh runtime && rm -rf /var/lib/apt/lists/* \
  && groupadd --system --gid 10001 whisperrr \
  && useradd --system --uid 10001 --gid whisperrr --home-dir /nonexistent --shell /usr/sbin/nologin whisperrr
# Code stays owned by root (read-only for the server); only the model volume is writable.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/shared shared
COPY --from=build /app/server server
COPY --from=build /app/client/package.json client/
COPY --from=build /app/client/build client/build
COPY --from=build /app/scripts scripts
COPY --from=build --chown=whisperrr:whisperrr /models /models
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 MODEL_DIR=/models SPOOL_DIR=/tmp/whisperrr FFMPEG_PATH=/usr/bin/ffmpeg
USER whisperrr
VOLUME /models
EXPOSE 8080
# main.ts drains on SIGTERM: no new jobs, running ones get SHUTDOWN_GRACE_SECONDS (30 by default)
# to finish. Give the container longer than that before SIGKILL: compose.yaml sets
# stop_grace_period: 60s; with docker run, --stop-timeout 60.
STOPSIGNAL SIGTERM
# start-period covers the first start's model download and the model load.
HEALTHCHECK --interval=10s --timeout=5s --start-period=300s --retries=3 CMD ["node", "scripts/healthcheck.mjs", "/readyz"]
# node itself is PID 1 (not npm), so SIGTERM reaches the server.
CMD ["node", "--import", "tsx", "server/src/main.ts"]
