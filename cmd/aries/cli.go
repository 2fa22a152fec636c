package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v3"

	"github.com/ariesexchange/aries/internal/lockout"
	"github.com/ariesexchange/aries/internal/mfa"
	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/store"
)

func newCommand(stdin io.Reader, stdout, stderr io.Writer) *cli.Command {
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "print JSON"}
	return &cli.Command{
		Name:      "aries",
		Usage:     "the Aries OAuth2 authorization platform",
		Reader:    stdin,
		Writer:    stdout,
		ErrWriter: stderr,
		Flags:     storeFlags(),
		// Errors are printed once, by run.
		ExitErrHandler: func(context.Context, *cli.Command, error) {},
		Commands: []*cli.Command{
			serveCommand(stdout, stderr),
			{
				Name:  "users",
				Usage: "manage users",
				Commands: []*cli.Command{{
					Name:  "create",
					Usage: "create a user",
					Flags: []cli.Flag{
						&cli.StringFlag{Name: "email", Required: true},
						&cli.StringFlag{Name: "password", Usage: "the password (visible in the process list: prefer --password-stdin)"},
						&cli.BoolFlag{Name: "password-stdin", Usage: "read the password from the first line of standard input"},
						&cli.BoolFlag{Name: "mfa", Usage: "enroll TOTP multi-factor authentication"},
						&cli.BoolFlag{Name: "admin", Usage: "allow the admin scope"},
						&cli.BoolFlag{Name: "email-verified", Usage: "you checked the user controls this email: ID tokens say email_verified true"},
						jsonFlag,
					},
					Action: func(ctx context.Context, cmd *cli.Command) error {
						return withEnv(ctx, cmd, func(e *env) error { return usersCreate(ctx, cmd, e) })
					},
				}, {
					Name:      "unlock",
					Usage:     "lift a user's second-factor lock and sign-in locks (after checking who is asking)",
					ArgsUsage: "ID",
					Flags:     []cli.Flag{jsonFlag},
					Action: func(ctx context.Context, cmd *cli.Command) error {
						return withEnv(ctx, cmd, func(e *env) error { return usersUnlock(ctx, cmd, e) })
					},
				}},
			},
			{
				Name:  "clients",
				Usage: "manage OAuth clients",
				Commands: []*cli.Command{
					{
						Name:  "create",
						Usage: "register a client; a confidential client's secret is printed only here",
						Flags: append([]cli.Flag{
							&cli.StringFlag{Name: "name", Required: true},
							&cli.BoolFlag{Name: "public", Usage: "a public client (SPA, mobile, CLI): no secret, PKCE required"},
							&cli.BoolFlag{Name: "first-party", Usage: "may sign users in with POST /v1/oauth2/authorize"},
							&cli.BoolFlag{Name: "resource-server", Usage: "may introspect tokens issued to other clients"},
							&cli.StringSliceFlag{Name: "redirect-uri", Usage: "a redirect URI, exactly as the app will send it (repeatable)"},
							&cli.StringSliceFlag{Name: "scope", Usage: `space-separated scopes the client may ask for, e.g. "read trade"`},
							postLogoutFlag(),
							idTokenAlgFlag(),
							dpopBoundFlag(),
							jsonFlag,
						}, fapiFlags()...),
						Action: func(ctx context.Context, cmd *cli.Command) error {
							return withEnv(ctx, cmd, func(e *env) error { return clientsCreate(ctx, cmd, e) })
						},
					},
					clientsUpdateCommand(jsonFlag),
					clientCommand("list", "list every client", jsonFlag, false, clientsList),
					clientCommand("show", "show one client", jsonFlag, true, clientsShow),
					clientCommand("rotate-secret", "give a confidential client a new secret; the old one stops working at once", jsonFlag, true, clientsRotateSecret),
					clientCommand("disable", "disable a client and revoke every token it holds", jsonFlag, true, clientsSetDisabled(true)),
					clientCommand("enable", "enable a disabled client", jsonFlag, true, clientsSetDisabled(false)),
					clientCommand("delete", "delete a client and every token it holds", jsonFlag, true, clientsDelete),
				},
			},
			{
				Name:  "keys",
				Usage: "manage token signing keys",
				Commands: []*cli.Command{{
					Name:  "rotate",
					Usage: "add new signing keys (ES256 for access tokens, RS256 for ID tokens); old public keys stay published until their tokens expire",
					Flags: []cli.Flag{jsonFlag},
					Action: func(ctx context.Context, cmd *cli.Command) error {
						return withEnv(ctx, cmd, func(e *env) error { return keysRotate(ctx, cmd, e) })
					},
				}},
			},
		},
	}
}

// clientCommand builds one of the client subcommands that take an id.
func clientCommand(name, usage string, jsonFlag cli.Flag, needsID bool, action func(context.Context, *cli.Command, *env, string) error) *cli.Command {
	c := &cli.Command{Name: name, Usage: usage, Flags: []cli.Flag{jsonFlag}}
	if needsID {
		c.ArgsUsage = "CLIENT_ID"
	}
	c.Action = func(ctx context.Context, cmd *cli.Command) error {
		id := cmd.Args().First()
		if needsID && (id == "" || cmd.Args().Len() > 1) {
			return fmt.Errorf("usage: aries clients %s CLIENT_ID", name)
		}
		return withEnv(ctx, cmd, func(e *env) error { return action(ctx, cmd, e, id) })
	}
	return c
}

// output prints v as JSON with --json, else the human text.
func output(cmd *cli.Command, v any, text string) error {
	if cmd.Bool("json") {
		enc := json.NewEncoder(cmd.Root().Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := io.WriteString(cmd.Root().Writer, text)
	return err
}

func usersCreate(ctx context.Context, cmd *cli.Command, e *env) error {
	password := cmd.String("password")
	if cmd.Bool("password-stdin") {
		if password != "" {
			return errors.New("give --password or --password-stdin, not both")
		}
		line, err := readLine(cmd.Root().Reader)
		if err != nil {
			return fmt.Errorf("reading the password from standard input: %w", err)
		}
		password = line
	}
	if password == "" {
		return errors.New("a password is required: --password-stdin (preferred) or --password")
	}
	var second *mfa.Service
	if cmd.Bool("mfa") {
		var err error
		if second, err = mfa.New(e.store, e.hasher, e.master.Keys().TOTPEncryption, e.now); err != nil {
			return err
		}
	}
	u, err := createUser(ctx, e, cmd.String("email"), password, cmd.Bool("admin"), cmd.Bool("email-verified"))
	if err != nil {
		return err
	}
	out := userJSON{ID: u.ID, Email: u.Email, MFA: false, Admin: u.Admin, EmailVerified: u.EmailVerified}
	text := fmt.Sprintf("created user %s (%s)\n", u.Email, u.ID)
	if second != nil {
		enr, codes, err := second.Enroll(ctx, u)
		if err != nil {
			return fmt.Errorf("user %s was created, but turning on two-step verification failed: %w", u.ID, err)
		}
		out.MFA, out.TOTPSecret, out.TOTPURI, out.RecoveryCodes = true, enr.Secret, enr.URI, codes
		text += "\nTwo-step verification is on. Give the user this key for an authenticator app:\n\n" +
			"totp_secret  " + enr.Secret + "\ntotp_uri     " + enr.URI + "\n\n" +
			"Recovery codes, each usable once in place of a code (shown only now):\n\n  " +
			strings.Join(codes, "\n  ") + "\n"
	}
	return output(cmd, out, text)
}

func usersUnlock(ctx context.Context, cmd *cli.Command, e *env) error {
	id := cmd.Args().First()
	if id == "" || cmd.Args().Len() > 1 {
		return errors.New("give one user id: aries users unlock ID")
	}
	u, err := e.store.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user with id %q", id)
	}
	if err != nil {
		return err
	}
	if err := lockout.UnlockUser(ctx, e.store, u.ID); err != nil {
		return err
	}
	return output(cmd, struct {
		ID       string `json:"id"`
		Email    string `json:"email"`
		Unlocked bool   `json:"unlocked"`
	}{u.ID, u.Email, true}, fmt.Sprintf("unlocked %s (%s): two-step verification and sign-in accept codes and passwords again\n", u.Email, u.ID))
}

// userJSON is the CLI's JSON view of a user
// (docs/protocol.md#cli-json-output). The TOTP secret and recovery codes
// appear only when the user is created with --mfa.
type userJSON struct {
	ID            string   `json:"id"`
	Email         string   `json:"email"`
	MFA           bool     `json:"mfa"`
	TOTPSecret    string   `json:"totp_secret,omitempty"`
	TOTPURI       string   `json:"totp_uri,omitempty"`
	RecoveryCodes []string `json:"recovery_codes,omitempty"`
	Admin         bool     `json:"admin"`
	EmailVerified bool     `json:"email_verified"`
}

func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for b.Len() < 4096 {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				break
			}
			b.WriteByte(buf[0])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	return strings.TrimSuffix(b.String(), "\r"), nil
}

// clientJSON is the CLI's JSON view of a client, shared with the admin API.
type clientJSON = registry.ClientView

func describeClient(c store.Client) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "client_id\t%s\n", c.ID)
	fmt.Fprintf(tw, "name\t%s\n", c.Name)
	fmt.Fprintf(tw, "type\t%s\n", c.Type)
	fmt.Fprintf(tw, "first_party\t%t\n", c.FirstParty)
	fmt.Fprintf(tw, "resource_server\t%t\n", c.ResourceServer)
	fmt.Fprintf(tw, "disabled\t%t\n", c.Disabled)
	fmt.Fprintf(tw, "redirect_uris\t%s\n", strings.Join(c.RedirectURIs, " "))
	fmt.Fprintf(tw, "scopes\t%s\n", strings.Join(c.Scopes, " "))
	describeOIDC(tw, c)
	fmt.Fprintf(tw, "dpop_bound_access_tokens\t%t\n", c.DPoPBoundAccessTokens)
	describeFAPI(tw, c)
	tw.Flush()
	return b.String()
}

func clientsCreate(ctx context.Context, cmd *cli.Command, e *env) error {
	spec := registry.Spec{
		Name:           cmd.String("name"),
		Public:         cmd.Bool("public"),
		FirstParty:     cmd.Bool("first-party"),
		ResourceServer: cmd.Bool("resource-server"),
		RedirectURIs:   cmd.StringSlice("redirect-uri"),
		Scopes:         strings.Join(cmd.StringSlice("scope"), " "),

		PostLogoutRedirectURIs: cmd.StringSlice("post-logout-redirect-uri"),
		IDTokenAlg:             cmd.String("id-token-alg"),
		DPoPBound:              cmd.Bool("dpop-bound"),
	}
	if err := fapiSpec(cmd, &spec); err != nil {
		return err
	}
	c, clientSecret, err := registry.Create(ctx, e.store, e.hasher, registry.Operator, spec, e.now())
	if err != nil {
		return err
	}
	text := describeClient(c)
	if clientSecret != "" {
		text += "client_secret  " + clientSecret + "\n\nThe secret is shown only now: store it in your secrets manager.\n"
	}
	return output(cmd, registry.View(c, clientSecret), text)
}

func clientsList(ctx context.Context, cmd *cli.Command, e *env, _ string) error {
	cs, err := e.store.Clients(ctx, "")
	if err != nil {
		return err
	}
	out := make([]clientJSON, 0, len(cs))
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tTYPE\tFIRST_PARTY\tDISABLED\tNAME")
	for _, c := range cs {
		out = append(out, registry.View(c, ""))
		fmt.Fprintf(tw, "%s\t%s\t%t\t%t\t%s\n", c.ID, c.Type, c.FirstParty, c.Disabled, c.Name)
	}
	tw.Flush()
	return output(cmd, out, b.String())
}

func clientsShow(ctx context.Context, cmd *cli.Command, e *env, id string) error {
	c, err := e.client(ctx, id)
	if err != nil {
		return err
	}
	return output(cmd, registry.View(c, ""), describeClient(c))
}

func clientsRotateSecret(ctx context.Context, cmd *cli.Command, e *env, id string) error {
	if _, err := e.client(ctx, id); err != nil {
		return err
	}
	clientSecret, err := registry.RotateSecret(ctx, e.store, e.hasher, id, e.now())
	if err != nil {
		return err
	}
	return output(cmd, map[string]string{"client_id": id, "client_secret": clientSecret},
		fmt.Sprintf("client_secret  %s\n\nThe old secret no longer works. The new one is shown only now.\n", clientSecret))
}

func clientsSetDisabled(disabled bool) func(context.Context, *cli.Command, *env, string) error {
	return func(ctx context.Context, cmd *cli.Command, e *env, id string) error {
		if _, err := e.client(ctx, id); err != nil {
			return err
		}
		if err := e.store.SetClientDisabled(ctx, id, disabled, e.now()); err != nil {
			return err
		}
		c, err := e.client(ctx, id)
		if err != nil {
			return err
		}
		verb := "enabled"
		if disabled {
			verb = "disabled; every token it held is revoked"
		}
		return output(cmd, registry.View(c, ""), fmt.Sprintf("client %s %s\n", id, verb))
	}
}

func clientsDelete(ctx context.Context, cmd *cli.Command, e *env, id string) error {
	if _, err := e.client(ctx, id); err != nil {
		return err
	}
	if err := e.store.DeleteClient(ctx, id); err != nil {
		return err
	}
	return output(cmd, map[string]any{"client_id": id, "deleted": true},
		fmt.Sprintf("client %s deleted; every token it held is revoked\n", id))
}
