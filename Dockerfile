# Build: docker build --build-arg VERSION=$(cat VERSION) --build-arg REVISION=$(git rev-parse HEAD) -t posit-connect-exporter .
FROM golang:1.26-bookworm AS build
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG BRANCH=main
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=${BRANCH} \
        -X github.com/prometheus/common/version.BuildUser=docker \
        -X github.com/prometheus/common/version.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)" \
      -o /out/posit_connect_exporter .

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="posit_connect_exporter" \
      org.opencontainers.image.description="Prometheus exporter for Posit Connect licences, users, content and usage, and Posit Workbench named users" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/posit-connect-exporter/posit_connect_exporter"
COPY --from=build /out/posit_connect_exporter /bin/posit_connect_exporter
# distroless "nonroot" is uid 65532; never run as root.
USER 65532:65532
EXPOSE 10233
ENTRYPOINT ["/bin/posit_connect_exporter"]
