#!/usr/bin/env bash
# Runs every test of the repository, both modules, with the race detector.
# The fuzz targets run over their seed corpus as ordinary tests.
set -euo pipefail
cd "$(dirname "$0")"
go test -race -count=1 ./...
(cd sdk && go test -race -count=1 ./...)
