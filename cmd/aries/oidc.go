package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ariesexchange/aries/internal/keys"
	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/store"
)

// The OpenID Connect settings of `clients create|update` (docs/oidc.md).

func postLogoutFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "post-logout-redirect-uri",
		Usage: `where RP-initiated logout may send the browser back, exactly as the app sends it (repeatable; on update it replaces the list, "" clears it)`}
}

func idTokenAlgFlag() cli.Flag {
	return &cli.StringFlag{Name: "id-token-alg", Usage: "algorithm of the client's ID tokens: RS256 (the default) or ES256"}
}

// nonEmpty drops empty values, so `--post-logout-redirect-uri ""` clears
// the list.
func nonEmpty(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// describeOIDC adds the OpenID Connect settings to describeClient's table.
func describeOIDC(tw io.Writer, c store.Client) {
	v := registry.View(c, "")
	fmt.Fprintf(tw, "post_logout_redirect_uris\t%s\n", strings.Join(v.PostLogoutRedirectURIs, " "))
	fmt.Fprintf(tw, "id_token_signed_response_alg\t%s\n", v.IDTokenSignedResponseAlg)
}

// keysRotate is `aries keys rotate`: a new key for every algorithm, ES256
// (access tokens) and RS256 (ID tokens). The JSON keeps kid and alg, the
// new ES256 key as before ID tokens, and lists every new key under keys.
func keysRotate(ctx context.Context, cmd *cli.Command, e *env) error {
	rotated, err := keys.RotateAll(ctx, e.store, e.master.Keys().KeyEncryption, e.now())
	if err != nil {
		return err
	}
	type keyJSON struct {
		KID       string    `json:"kid"`
		Alg       string    `json:"alg"`
		CreatedAt time.Time `json:"created_at"`
	}
	out := struct {
		keyJSON
		Keys []keyJSON `json:"keys"`
	}{}
	var text strings.Builder
	for i, k := range rotated {
		kj := keyJSON{KID: k.ID, Alg: k.Algorithm, CreatedAt: k.CreatedAt.UTC()}
		if i == 0 {
			out.keyJSON = kj
		}
		out.Keys = append(out.Keys, kj)
		fmt.Fprintf(&text, "new signing key %s (%s)\n", k.ID, k.Algorithm)
	}
	text.WriteString("running servers pick them up within a minute\n")
	return output(cmd, out, text.String())
}
