package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/scope"
)

// clientsUpdateCommand is `aries clients update ID` (docs/protocol.md#command-line):
// the settings of `create`, each optional; what is not given keeps its
// value. The type is not among them: turning a confidential client public
// (or back) would drop or make a secret behind the app's back, so that is
// a new client. The owner is not a setting of create either.
func clientsUpdateCommand(jsonFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "change a client's settings; only the settings given change",
		ArgsUsage: "CLIENT_ID",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "name"},
			&cli.BoolFlag{Name: "first-party", Usage: "may sign users in with POST /v1/oauth2/authorize (--first-party=false to clear)"},
			&cli.BoolFlag{Name: "resource-server", Usage: "may introspect tokens issued to other clients (--resource-server=false to clear)"},
			&cli.StringSliceFlag{Name: "redirect-uri", Usage: "replaces every redirect URI (repeatable)"},
			&cli.StringSliceFlag{Name: "scope", Usage: `replaces the scopes, e.g. "read trade"`},
			postLogoutFlag(),
			idTokenAlgFlag(),
			dpopBoundFlag(),
			jsonFlag,
		}, fapiFlags()...),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			id := cmd.Args().First()
			if id == "" || cmd.Args().Len() > 1 {
				return fmt.Errorf("usage: aries clients update CLIENT_ID [--name N] [--redirect-uri U ...] [--scope S] [--first-party[=false]] [--resource-server[=false]] [--post-logout-redirect-uri U ...] [--id-token-alg RS256|ES256] [--dpop-bound[=false]] [--auth-method M] [--jwks FILE|-] [--profile fapi2|none] [--require-par[=false]] [--refresh-rotation rotate|none] [--refresh-grace N]")
			}
			return withEnv(ctx, cmd, func(e *env) error { return clientsUpdate(ctx, cmd, e, id) })
		},
	}
}

func clientsUpdate(ctx context.Context, cmd *cli.Command, e *env, id string) error {
	c, err := e.client(ctx, id)
	if err != nil {
		return err
	}
	spec := registry.Spec{
		Name:           c.Name,
		FirstParty:     c.FirstParty,
		ResourceServer: c.ResourceServer,
		RedirectURIs:   c.RedirectURIs,
		Scopes:         scope.Join(c.Scopes),

		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		IDTokenAlg:             c.IDTokenSignedResponseAlg,
		DPoPBound:              c.DPoPBoundAccessTokens,

		// As stored, not as they take effect: a setting left to its
		// default (the fapi2 profile's rotation, a confidential client's
		// method) keeps following the default.
		AuthMethod:      c.TokenEndpointAuthMethod,
		JWKS:            c.JWKS,
		Profile:         c.Profile,
		RequirePAR:      c.RequirePAR,
		RefreshRotation: c.RefreshTokenRotation,
		RefreshGrace:    c.RefreshTokenGraceSeconds,
	}
	if err := fapiSpec(cmd, &spec); err != nil {
		return err
	}
	if cmd.IsSet("name") {
		spec.Name = cmd.String("name")
	}
	if cmd.IsSet("first-party") {
		spec.FirstParty = cmd.Bool("first-party")
	}
	if cmd.IsSet("resource-server") {
		spec.ResourceServer = cmd.Bool("resource-server")
	}
	if cmd.IsSet("redirect-uri") {
		spec.RedirectURIs = cmd.StringSlice("redirect-uri")
	}
	if cmd.IsSet("scope") {
		spec.Scopes = strings.Join(cmd.StringSlice("scope"), " ")
	}
	if cmd.IsSet("post-logout-redirect-uri") {
		spec.PostLogoutRedirectURIs = nonEmpty(cmd.StringSlice("post-logout-redirect-uri"))
	}
	if cmd.IsSet("id-token-alg") {
		spec.IDTokenAlg = cmd.String("id-token-alg")
	}
	if cmd.IsSet("dpop-bound") {
		spec.DPoPBound = cmd.Bool("dpop-bound")
	}
	if _, err := registry.Update(ctx, e.store, registry.Operator, c, spec, e.now()); err != nil {
		return err
	}
	// Printed as stored, so that the output is what `clients show` prints.
	updated, err := e.client(ctx, id)
	if err != nil {
		return err
	}
	return output(cmd, registry.View(updated, ""), describeClient(updated))
}
