# The bundled FTP server (cmd/ftpserver) as a small image: a static binary on an empty base,
# run as an unprivileged user, serving the volume /srv/ftp to the users of /etc/ftpkit/users.
#
#   docker build -t ftpkit .
#   docker run --rm -it ftpkit -hash-password             # type a password, get a hash
#   docker run -d --name ftp -p 2121:2121 -p 30000-30009:30000-30009 \
#       -v ftp-files:/srv/ftp -v "$PWD/ftpkit:/etc/ftpkit:ro" ftpkit
#   docker kill -s HUP ftp                                 # re-read the users file
#
# docs/deploying.md ("Running the bundled server") explains each choice.

ARG GO_VERSION=1.26

# Build stage. The whole repository is copied so that the server builds with the modules of
# the repository (and its go.work, when there is one), as `go build ./cmd/ftpserver` does from a
# checkout.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/ftpserver ./cmd/ftpserver
# The directories the server uses, owned by the user it runs as (the final stage has no shell
# to make them).
RUN mkdir -p /out/srv/ftp /out/etc/ftpkit

# Final stage: nothing but the binary, the CA certificates (for an S3 endpoint over HTTPS)
# and the two directories.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ftpserver /usr/local/bin/ftpserver
COPY --from=build --chown=65532:65532 /out/srv/ftp /srv/ftp
COPY --from=build /out/etc/ftpkit /etc/ftpkit
# Not root: an unprivileged port (2121) needs no capability.
USER 65532:65532
# The files served; a named volume or a bind mount owned by UID 65532 keeps them.
VOLUME ["/srv/ftp"]
# 2121: the control connection. 30000-30009: the passive (data) ports of -pasv-ports; publish
# them all, to the same port numbers.
EXPOSE 2121 30000-30009
ENTRYPOINT ["/usr/local/bin/ftpserver"]
CMD ["-listen", "0.0.0.0:2121", "-root", "/srv/ftp", "-pasv-ports", "30000-30009", "-users", "/etc/ftpkit/users"]
