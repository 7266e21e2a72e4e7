# syntax=docker/dockerfile:1
#
# slo-exporter container image: a static, non-root binary on distroless.
#
#   docker build \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse --short HEAD) \
#     --build-arg BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) \
#     -t slo-exporter:dev .
#
# deploy/helmtest/dockerfile_test.go checks the properties this file must keep.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
ARG BUILD_DATE=unknown
WORKDIR /src
# Dependencies first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath \
      -ldflags "-s -w \
        -X github.com/slo-exporter/slo-exporter/internal/version.Version=${VERSION} \
        -X github.com/slo-exporter/slo-exporter/internal/version.Revision=${REVISION} \
        -X github.com/slo-exporter/slo-exporter/internal/version.BuildDate=${BUILD_DATE}" \
      -o /out/slo-exporter ./cmd/slo-exporter

FROM gcr.io/distroless/static:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="slo-exporter" \
      org.opencontainers.image.description="Exports SLIs, error budgets and burn rates computed from Prometheus counters" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/slo-exporter/slo-exporter"
COPY --from=build /out/slo-exporter /slo-exporter
# 65532 is distroless's "nonroot" user; numeric so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 9099
ENTRYPOINT ["/slo-exporter"]
CMD ["serve", "--config.file=/etc/slo-exporter/config.yaml", "--web.listen-address=:9099", "--log.format=json"]
