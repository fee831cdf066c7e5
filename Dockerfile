# Build: docker build -t posit-connect-exporter .
# No build arguments: `make build` stamps the version from VERSION and the
# revision, branch and date from the .git directory in the build context
# (scripts/test.d/30-release.sh runs the same commands outside Docker).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN make build BUILD_USER=docker

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="posit_connect_exporter" \
      org.opencontainers.image.description="Prometheus exporter for Posit Connect licences, users, content and usage, and Posit Workbench named users" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/posit-connect-exporter/posit_connect_exporter"
COPY --from=build /src/posit_connect_exporter /bin/posit_connect_exporter
# distroless "nonroot" is uid 65532; never run as root.
USER 65532:65532
EXPOSE 10233
ENTRYPOINT ["/bin/posit_connect_exporter"]
