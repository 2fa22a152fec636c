package main

import "github.com/urfave/cli/v3"

// dpopBoundFlag is --dpop-bound of `clients create` and `clients update`:
// dpop_bound_access_tokens (RFC 9449 section 5.2, docs/dpop.md), printed by
// `clients show --json` under that name.
func dpopBoundFlag() cli.Flag {
	return &cli.BoolFlag{Name: "dpop-bound", Usage: "the client gets DPoP-bound tokens only: a token request without a DPoP proof is refused (--dpop-bound=false to clear)"}
}
