#!/usr/bin/env bash
# Runs every test of the repository, both modules, with the race detector.
# The fuzz targets run over their seed corpus as ordinary tests.
set -euo pipefail
cd "$(dirname "$0")"
# The PostgreSQL and Redis suites (the PostgreSQL store, the Redis limiter,
# the scale-out tests) run only when these name servers (.ci/run sets them);
# otherwise they are skipped, and go test -v says why.
for v in ARIES_TEST_POSTGRES_URL ARIES_TEST_REDIS_URL; do
  if [ -z "${!v:-}" ]; then
    echo "test.sh: $v is not set: the suites that need it are skipped" >&2
  fi
done
go test -race -count=1 ./...
# Tests that measure memory skip themselves under the race detector, whose
# shadow memory would swamp what they measure; they run here without it.
go test -count=1 -run 'TestAnonymousSignInsDoNotGrowTheHeap' ./internal/server/
(cd sdk && go test -race -count=1 ./...)
