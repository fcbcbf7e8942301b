# Build the manager binary.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /workspace
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
# Every package the manager imports; test/image builds from exactly these
# lines, so a missing one fails make test rather than the image build.
COPY main.go logfilter.go ./
COPY api/ api/
COPY controllers/ controllers/
COPY internal/ internal/
COPY protocol/ protocol/
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags="-s -w" -o manager .

# A distroless base with nothing but the binary, run as a non-root user.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/manager .
USER 65532:65532
ENTRYPOINT ["/manager"]
