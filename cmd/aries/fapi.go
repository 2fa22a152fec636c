package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/store"
)

// fapiFlags are the financial-grade settings of `clients create` and
// `clients update` (docs/fapi.md): on update each changes only when given.
func fapiFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "auth-method", Usage: "token_endpoint_auth_method: client_secret_basic, client_secret_post, private_key_jwt or none (public clients)"},
		&cli.StringFlag{Name: "jwks", Usage: `FILE holding the client's public keys as a JWK Set ({"keys":[...]}), for private_key_jwt; "-" reads standard input`},
		&cli.StringFlag{Name: "profile", Usage: `"fapi2" for the FAPI 2.0 Security Profile (private_key_jwt, PAR, PKCE, DPoP); "none" clears it on update`},
		&cli.BoolFlag{Name: "require-par", Usage: "authorization requests must be pushed first (RFC 9126; --require-par=false to clear)"},
		&cli.StringFlag{Name: "refresh-rotation", Usage: "refresh-token policy: rotate (default) or none (confidential, DPoP-bound clients only)"},
		&cli.IntFlag{Name: "refresh-grace", Usage: "seconds (0-60) during which a just-rotated refresh token, presented again, returns the same new one"},
	}
}

// fapiSpec sets on s the financial-grade settings the command line gives,
// leaving the others as they are (the stored client's on update).
func fapiSpec(cmd *cli.Command, s *registry.Spec) error {
	if cmd.IsSet("auth-method") {
		s.AuthMethod = cmd.String("auth-method")
	}
	if cmd.IsSet("jwks") {
		jwks, err := readJWKS(cmd, cmd.String("jwks"))
		if err != nil {
			return err
		}
		s.JWKS = jwks
	}
	if cmd.IsSet("profile") {
		s.Profile = cmd.String("profile")
		if s.Profile == "none" {
			s.Profile = ""
		}
	}
	if cmd.IsSet("require-par") {
		s.RequirePAR = cmd.Bool("require-par")
	}
	if cmd.IsSet("refresh-rotation") {
		s.RefreshRotation = cmd.String("refresh-rotation")
	}
	if cmd.IsSet("refresh-grace") {
		s.RefreshGrace = cmd.Int("refresh-grace")
	}
	return nil
}

// readJWKS reads the JWK Set file named by --jwks ("-": standard input; ""
// clears the keys on update). The registry validates what it holds.
func readJWKS(cmd *cli.Command, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	var r io.Reader = cmd.Root().Reader
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", fmt.Errorf("--jwks: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, registry.MaxJWKSBytes+1))
	if err != nil {
		return "", fmt.Errorf("--jwks: %w", err)
	}
	if len(b) > registry.MaxJWKSBytes {
		return "", fmt.Errorf("--jwks: the JWKS may be at most %d bytes", registry.MaxJWKSBytes)
	}
	return strings.TrimSpace(string(b)), nil
}

// describeFAPI prints the financial-grade settings for `clients show`,
// under the names `clients show --json` uses.
func describeFAPI(tw io.Writer, c store.Client) {
	v := registry.View(c, "")
	fmt.Fprintf(tw, "token_endpoint_auth_method\t%s\n", v.TokenEndpointAuthMethod)
	jwks := "none"
	if keys, err := registry.ClientKeys(c.JWKS); c.JWKS != "" && err == nil {
		kids := make([]string, 0, len(keys))
		for _, k := range keys {
			kid := k.KeyID
			if kid == "" {
				kid = "(no kid)"
			}
			kids = append(kids, kid)
		}
		jwks = fmt.Sprintf("%d key(s): %s", len(keys), strings.Join(kids, " "))
	}
	fmt.Fprintf(tw, "jwks\t%s\n", jwks)
	profile := v.Profile
	if profile == "" {
		profile = "none"
	}
	fmt.Fprintf(tw, "profile\t%s\n", profile)
	fmt.Fprintf(tw, "require_pushed_authorization_requests\t%t\n", v.RequirePushedAuthorizationRequests)
	fmt.Fprintf(tw, "refresh_token_rotation\t%s\n", v.RefreshTokenRotation)
	fmt.Fprintf(tw, "refresh_token_grace_seconds\t%d\n", v.RefreshTokenGraceSeconds)
	if registry.NeedsSecret(c) {
		fmt.Fprintf(tw, "note\tthe client has no secret yet: aries clients rotate-secret %s\n", c.ID)
	}
}
