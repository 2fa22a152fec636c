//go:build race

package server

// raceEnabled: the race detector instruments every byte a test moves, so
// tests that measure memory or cost skip themselves under it; test.sh runs
// them once more without it.
const raceEnabled = true
